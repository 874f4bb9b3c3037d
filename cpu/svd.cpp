// Randomized truncated SVD (Halko, Martinsson & Tropp 2011, algorithms 4.4 and 5.1) on the CPU:
// a Gaussian sketch of the range, q power iterations re-orthonormalized after every product, then the
// exact SVD of the small projected matrix. The sparse matrix is only ever multiplied, never densified.
//
// Centering (SvdSettings::center) subtracts the global mean mu from the observed ratings only:
// the factorized matrix is X_c with X_c[u, j] = r_uj - mu where rated and 0 where not, so the model
// predicts mu + <u_sigma, v> and an unrated pair counts as "average", not as a zero rating. The shift
// is applied inside the sparse products; X_c keeps the sparsity of X.
#include <omp.h>

#include <cmath>
#include <string>

#include "cinefactor/error.hpp"
#include "cpu_backend.hpp"
#include "engine/random.hpp"

namespace cinefactor::engine::cpu {

SvdResult CpuBackend::truncated_svd(const RatingMatrix& ratings, const SvdSettings& settings) {
  const int threads = threads_for(ratings.nnz());
  const std::int64_t m = ratings.n_users();
  const std::int64_t n = ratings.n_movies();
  const std::int64_t smaller = std::min(m, n);
  check_svd_settings(ratings, settings);
  const std::int64_t l = std::min<std::int64_t>(settings.rank + settings.oversamples, smaller);
  const float shift = settings.center ? static_cast<float>(ratings.global_mean()) : 0.0f;
  const auto& xu = ratings.by_user();
  const auto& xm = ratings.by_movie();
  const RowBlocks user_blocks = make_row_blocks(xu, l / 2);
  const RowBlocks movie_blocks = make_row_blocks(xm, l / 2);

  DenseMatrix omega(n, l);
#pragma omp parallel for schedule(static) num_threads(threads)
  for (std::int64_t j = 0; j < n; ++j) {
    NormalGenerator gen(stream_seed(settings.seed, static_cast<std::uint64_t>(j)));
    for (auto& x : omega.row(j)) x = static_cast<float>(gen.next());
  }
  DenseMatrix y(m, l);
  spmm(xu, user_blocks, shift, omega, y, threads);
  omega = DenseMatrix();
  orthonormalize(y, user_blocks, threads, nullptr, settings.power_iterations > 0 ? 1 : 2);
  DenseMatrix z(n, l);
  for (int i = 0; i < settings.power_iterations; ++i) {
    // Between power iterations only the span matters: one CholeskyQR pass keeps it well conditioned.
    spmm(xm, movie_blocks, shift, y, z, threads);
    orthonormalize(z, movie_blocks, threads, nullptr, 1);
    spmm(xu, user_blocks, shift, z, y, threads);
    orthonormalize(y, user_blocks, threads, nullptr, i + 1 < settings.power_iterations ? 1 : 2);
  }
  // B = Q^T A (l x n); B^T = A^T Q = Q2 R, so B = R^T Q2^T and only the l x l matrix R^T needs an SVD.
  spmm(xm, movie_blocks, shift, y, z, threads);
  MatrixD r;
  orthonormalize(z, movie_blocks, threads, &r);
  Eigen::JacobiSVD<MatrixD> small(r.transpose(), Eigen::ComputeFullU | Eigen::ComputeFullV);
  const auto k = settings.rank;
  Eigen::MatrixXd ur = small.matrixU().leftCols(k);
  Eigen::MatrixXd vr = small.matrixV().leftCols(k);

  SvdResult out;
  out.offset = shift;
  out.u = DenseMatrix(m, k);
  out.v = DenseMatrix(n, k);
  multiply(y, ur.cast<float>(), out.u, user_blocks, threads);
  multiply(z, vr.cast<float>(), out.v, movie_blocks, threads);
  out.sigma.resize(static_cast<std::size_t>(k));
  for (int c = 0; c < k; ++c)
    out.sigma[static_cast<std::size_t>(c)] = static_cast<float>(small.singularValues()(c));

  // Signs as scikit-learn's svd_flip (u-based): the largest |entry| of each column of U is positive.
  auto um = as_eigen(out.u);
  auto vm = as_eigen(out.v);
  for (int c = 0; c < k; ++c) {
    Eigen::Index at = 0;
    um.col(c).cwiseAbs().maxCoeff(&at);
    if (um(at, c) < 0.0f) {
      um.col(c) *= -1.0f;
      vm.col(c) *= -1.0f;
    }
  }
  if (!all_finite(out.u, threads) || !all_finite(out.v, threads)) {
    throw Error("SVD diverged: the factors are not finite");
  }
  return out;
}

}  // namespace cinefactor::engine::cpu
