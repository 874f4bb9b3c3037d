// Randomized truncated SVD over a 1D partition by users (see factorization.hpp): the steps of the CPU
// backend's truncated_svd (cpu/svd.cpp) with the user-side blocks distributed and the movie-side products
// summed over the ranks.
#include <Eigen/Dense>
#include <limits>

#include "cinefactor/error.hpp"
#include "cpu/cpu_backend.hpp"
#include "dist/factorization.hpp"
#include "dist/replicated.hpp"
#include "engine/random.hpp"

namespace cinefactor::dist {
namespace {

using engine::cpu::MatrixD;
using engine::cpu::RowBlocks;

void sum_gram(Communicator& comm, MatrixD& g) {
  comm.sum(std::span<double>(g.data(), static_cast<std::size_t>(g.size())));
}

// Orthonormal columns for the rows of an m x l matrix held by the ranks (`y`: this rank's rows), in
// `passes` CholeskyQR passes with the Gram matrix summed over the ranks. A pass whose Gram matrix is too
// ill-conditioned is replaced by a shifted CholeskyQR pass (Fukaya, Kannan, Nakatsukasa, Yamamoto,
// Yanagisawa 2020: G + s I, s = 11 (m l + l (l + 1)) u ||Y||_F^2) followed by two plain ones, which is
// as stable as Householder QR and needs only the same k x k sums.
void orthonormalize_distributed(Communicator& comm, DenseMatrix& y, const RowBlocks& blocks, int threads,
                                std::int64_t global_rows, int passes) {
  const auto l = static_cast<double>(y.cols);
  const auto plain_pass = [&] {
    MatrixD g = engine::cpu::gram(y, blocks, threads);
    sum_gram(comm, g);
    MatrixD r;
    if (!engine::cpu::cholesky_factor(g, r)) return false;
    engine::cpu::multiply_by_inverse_upper(y, blocks, threads, r);
    return true;
  };
  const auto shifted_pass = [&] {
    MatrixD g = engine::cpu::gram(y, blocks, threads);
    sum_gram(comm, g);
    const double unit_roundoff = std::numeric_limits<float>::epsilon() / 2.0;
    const double shift =
        11.0 * (static_cast<double>(global_rows) * l + l * (l + 1.0)) * unit_roundoff * g.trace();
    g.diagonal().array() += shift;
    Eigen::LLT<MatrixD> llt(g);
    if (llt.info() != Eigen::Success) throw Error("SVD: the sketch of the range lost its rank (not finite?)");
    engine::cpu::multiply_by_inverse_upper(y, blocks, threads, llt.matrixU());
  };
  for (int p = 0; p < passes; ++p) {
    if (plain_pass()) continue;
    shifted_pass();
    for (int extra = 0; extra < 2; ++extra) {
      if (!plain_pass()) shifted_pass();
    }
    return;
  }
}

// scikit-learn's svd_flip (u-based) over every rank's rows: the entry of largest magnitude in each column of
// U (the first such user in the single-process order on ties) is made positive.
void flip_signs(Communicator& comm, const Partition& part, engine::SvdResult& svd) {
  struct Candidate {
    float magnitude;
    std::int32_t user;  // index into Partition::user_ids
    float value;
  };
  const auto k = svd.u.cols;
  std::vector<Candidate> mine(static_cast<std::size_t>(k), Candidate{-1.0f, -1, 0.0f});
  for (std::int64_t c = 0; c < k; ++c) {
    auto& best = mine[static_cast<std::size_t>(c)];
    for (std::int64_t i = 0; i < svd.u.rows; ++i) {
      const float v = svd.u(i, c);
      if (std::abs(v) > best.magnitude)
        best = {std::abs(v), part.local_users[static_cast<std::size_t>(i)], v};
    }
  }
  const auto all = comm.all_gather_records<Candidate>(mine);
  for (std::int64_t c = 0; c < k; ++c) {
    Candidate best{-1.0f, -1, 0.0f};
    for (int r = 0; r < comm.size(); ++r) {
      const auto& cand = all[static_cast<std::size_t>(r * k + c)];
      if (cand.user < 0) continue;
      if (cand.magnitude > best.magnitude || (cand.magnitude == best.magnitude && cand.user < best.user))
        best = cand;
    }
    if (best.value < 0.0f) {
      for (std::int64_t i = 0; i < svd.u.rows; ++i) svd.u(i, c) = -svd.u(i, c);
      for (std::int64_t j = 0; j < svd.v.rows; ++j) svd.v(j, c) = -svd.v(j, c);
    }
  }
}

}  // namespace

engine::SvdResult distributed_svd(Communicator& comm, const Partition& part,
                                  const engine::SvdSettings& settings, int threads) {
  const auto& ratings = part.data.ratings;
  const std::int64_t m = part.n_users();
  const std::int64_t n = part.n_movies();
  const std::int64_t smaller = std::min(m, n);
  if (settings.rank < 1 || settings.rank > smaller) {
    throw InvalidArgument("SVD rank must be between 1 and min(users, movies) = " + std::to_string(smaller) +
                          ", got " + std::to_string(settings.rank));
  }
  if (settings.oversamples < 0 || settings.power_iterations < 0)
    throw InvalidArgument("SVD oversamples and power iterations must be >= 0");
  const std::int64_t l = std::min<std::int64_t>(settings.rank + settings.oversamples, smaller);
  const float shift = settings.center ? static_cast<float>(part.global_mean) : 0.0f;
  const auto& xu = ratings.by_user();
  const auto& xm = ratings.by_movie();
  const RowBlocks user_blocks = engine::cpu::make_row_blocks(xu, l / 2);
  const RowBlocks movie_blocks = engine::cpu::make_row_blocks(xm, l / 2);

  // The Gaussian test matrix of one process: the same streams, on every rank.
  DenseMatrix omega(n, l);
#pragma omp parallel for schedule(static) num_threads(threads)
  for (std::int64_t j = 0; j < n; ++j) {
    engine::NormalGenerator gen(engine::stream_seed(settings.seed, static_cast<std::uint64_t>(j)));
    for (auto& x : omega.row(j)) x = static_cast<float>(gen.next());
  }
  DenseMatrix y(ratings.n_users(), l);
  engine::cpu::spmm(xu, user_blocks, shift, omega, y, threads);
  omega = DenseMatrix();
  orthonormalize_distributed(comm, y, user_blocks, threads, m, settings.power_iterations > 0 ? 1 : 2);
  DenseMatrix z(n, l);
  for (int i = 0; i < settings.power_iterations; ++i) {
    engine::cpu::spmm(xm, movie_blocks, shift, y, z, threads);
    sum_replicated(comm, z);
    engine::cpu::orthonormalize(z, movie_blocks, threads, nullptr, 1);
    engine::cpu::spmm(xu, user_blocks, shift, z, y, threads);
    orthonormalize_distributed(comm, y, user_blocks, threads, m, i + 1 < settings.power_iterations ? 1 : 2);
  }
  // B = Q^T A; B^T = A^T Q = Q2 R (replicated), so only the l x l matrix R^T needs an SVD.
  engine::cpu::spmm(xm, movie_blocks, shift, y, z, threads);
  sum_replicated(comm, z);
  MatrixD r;
  engine::cpu::orthonormalize(z, movie_blocks, threads, &r);
  Eigen::JacobiSVD<MatrixD> small(r.transpose(), Eigen::ComputeFullU | Eigen::ComputeFullV);
  const auto k = settings.rank;
  const Eigen::MatrixXd ur = small.matrixU().leftCols(k);
  const Eigen::MatrixXd vr = small.matrixV().leftCols(k);

  engine::SvdResult out;
  out.offset = shift;
  out.u = DenseMatrix(ratings.n_users(), k);
  out.v = DenseMatrix(n, k);
  engine::cpu::multiply(y, ur.cast<float>(), out.u, user_blocks, threads);
  engine::cpu::multiply(z, vr.cast<float>(), out.v, movie_blocks, threads);
  out.sigma.resize(static_cast<std::size_t>(k));
  for (int c = 0; c < k; ++c)
    out.sigma[static_cast<std::size_t>(c)] = static_cast<float>(small.singularValues()(c));
  flip_signs(comm, part, out);
  if (!engine::cpu::all_finite(out.u, threads) || !engine::cpu::all_finite(out.v, threads))
    throw Error("SVD diverged: the factors are not finite");
  return out;
}

}  // namespace cinefactor::dist
