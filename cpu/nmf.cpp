// NMF by multiplicative updates on the CPU, both objectives. Every pass walks one CSR view row by
// row and updates that row's factors in place: no users x movies matrix, no residual matrix.
#include <omp.h>

#include <cmath>
#include <string>

#include "cinefactor/error.hpp"
#include "cpu_backend.hpp"
#include "engine/nmf_objective.hpp"

namespace cinefactor::engine::cpu {
namespace {

// Row weight for load balancing, in sparse entries per row per factor: a row's k x k dense product
// (zero objective) or its bookkeeping (masked) costs about as much as k / 2 sparse entries.
constexpr std::int64_t kRowWeightDivisor = 2;

double squared_norm(const SparseMatrix& x) {
  double s = 0.0;
  for (const float v : x.values) s += static_cast<double>(v) * v;
  return s;
}

// One thread's numerator and denominator of a row's multiplicative update (k entries each).
struct MuRow {
  explicit MuRow(std::int64_t k) : num(static_cast<std::size_t>(k)), den(static_cast<std::size_t>(k)) {}
  std::vector<float> num;
  std::vector<float> den;
};

}  // namespace

void masked_row_sums(const SparseMatrix& x, std::int32_t r, const float* __restrict s,
                     const float* __restrict od, std::int64_t k, float row_base, const float* ob,
                     float* __restrict num, float* __restrict den) {
  std::fill(num, num + k, 0.0f);
  std::fill(den, den + k, 0.0f);
  for (std::int64_t e = x.row_begin(r); e < x.row_end(r); ++e) {
    if (e + kPrefetchDistance < x.row_end(r)) {
      prefetch_row(
          od + static_cast<std::int64_t>(x.indices[static_cast<std::size_t>(e + kPrefetchDistance)]) * k, k);
    }
    const float v = x.values[static_cast<std::size_t>(e)];
    const std::int32_t c = x.indices[static_cast<std::size_t>(e)];
    const float* __restrict o = od + static_cast<std::int64_t>(c) * k;
    float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
    for (std::int64_t f = 0; f < k; ++f) dot += s[f] * o[f];
    // The factors fit the target y = r - offset - biases, which can be negative: its positive part
    // goes to the numerator and its negative part to the denominator, so both stay non-negative
    // (a bias-shifted prediction in the denominator can reach zero and blow a factor up).
    const float y = v - row_base - (ob ? ob[c] : 0.0f);
    const float y_pos = y > 0.0f ? y : 0.0f;
    const float d = dot + (y < 0.0f ? -y : 0.0f);
#pragma omp simd
    for (std::int64_t f = 0; f < k; ++f) {
      num[f] += y_pos * o[f];
      den[f] += d * o[f];
    }
  }
}

void masked_row_residuals(const SparseMatrix& x, std::int32_t r, const float* __restrict s,
                          const float* __restrict od, std::int64_t k, float offset, const float* ob,
                          double& sum, double& sum_sq) {
  for (std::int64_t e = x.row_begin(r); e < x.row_end(r); ++e) {
    const std::int32_t c = x.indices[static_cast<std::size_t>(e)];
    const float* __restrict o = od + static_cast<std::int64_t>(c) * k;
    float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
    for (std::int64_t f = 0; f < k; ++f) dot += s[f] * o[f];
    const double resid = static_cast<double>(x.values[static_cast<std::size_t>(e)]) - dot -
                         (ob ? static_cast<double>(offset) + ob[c] : 0.0);
    sum += resid;
    sum_sq += resid * resid;
  }
}

// One multiplicative update of `self` (the rows of x) given `other` (the columns of x), as scikit-learn's
// _multiplicative_update_w: self *= (X other) / (self (other^T other)), a zero denominator -> EPSILON.
ZeroSide mu_zero_side(const SparseMatrix& x, const RowBlocks& blocks, const DenseMatrix& other,
                      const Eigen::MatrixXf& other_gram, DenseMatrix& self, int threads,
                      const float* numerators, std::int32_t first_row) {
  const std::int64_t k = self.cols;
  const float* __restrict od = other.data.data();
  float* __restrict sd = self.data.data();
  const float* __restrict g = other_gram.data();  // symmetric, so storage order does not matter
  std::vector<MatrixD> grams(static_cast<std::size_t>(blocks.count()));
  std::vector<double> cross(static_cast<std::size_t>(blocks.count()), 0.0);
#pragma omp parallel num_threads(threads)
  {
    MuRow row(k);
    float* __restrict num = row.num.data();
    float* __restrict den = row.den.data();
#pragma omp for schedule(dynamic, 1)
    for (int blk = 0; blk < blocks.count(); ++blk) {
      double block_cross = 0.0;
      for (std::int32_t r = blocks.begin(blk); r < blocks.end(blk); ++r) {
        float* __restrict s = sd + static_cast<std::int64_t>(r) * k;
        const float* __restrict n = num;
        if (numerators) {
          n = numerators + static_cast<std::int64_t>(r - first_row) * k;
        } else {
          const auto begin = static_cast<std::size_t>(x.row_begin(r));
          sparse_row_times_dense(x.indices.data() + begin, x.values.data() + begin, x.row_nnz(r), 0.0f, od, k,
                                 num);
        }
        row_times_square(s, g, k, den);  // den = s G
        float row_cross = 0.0f;
#pragma omp simd reduction(+ : row_cross)
        for (std::int64_t f = 0; f < k; ++f) {
          const float d = den[f] == 0.0f ? kMuEpsilon : den[f];
          s[f] *= n[f] / d;
          row_cross += n[f] * s[f];
        }
        block_cross += row_cross;
      }
      const auto rows = as_eigen(self).middleRows(blocks.begin(blk), blocks.end(blk) - blocks.begin(blk));
      const Eigen::MatrixXf bg = rows.transpose() * rows;
      grams[static_cast<std::size_t>(blk)] = bg.cast<double>();
      cross[static_cast<std::size_t>(blk)] = block_cross;
    }
  }
  ZeroSide out;
  out.self_gram = MatrixD::Zero(k, k);
  for (int blk = 0; blk < blocks.count(); ++blk) {
    out.self_gram += grams[static_cast<std::size_t>(blk)];
    out.cross += cross[static_cast<std::size_t>(blk)];
  }
  return out;
}

// One multiplicative update of every row of `self` from the observed entries only (Luo et al. 2014,
// Surprise's NMF), with the target y_e = r_e - offset - b_row - b_col split into positive and negative parts:
//   num = sum_e max(y_e, 0) * other_e,  den = sum_e (<self, other_e> + max(-y_e, 0)) * other_e + l2 * n_row *
//   self + eps, self *= num / den.
// Without biases y = r >= 0 and this is Surprise's update; in every case its fixed points satisfy the
// stationarity condition of the regularized squared error on the observed entries. Then, with biases, the
// row's bias is refit in closed form given the new factors; the second walk over the row's entries also
// yields the squared errors.
MaskedSide mu_masked_side(const MaskedSideInput& in, int threads) {
  const SparseMatrix& x = *in.x;
  const RowBlocks& blocks = *in.blocks;
  const std::int64_t k = in.self->cols;
  const float* __restrict od = in.other->data.data();
  float* __restrict sd = in.self->data.data();
  const float* ob = in.biases ? in.other_bias->data() : nullptr;
  float* sb = in.biases ? in.self_bias->data() : nullptr;
  const bool second_walk = in.biases || in.want_sse;
  std::vector<MaskedSide> partial(static_cast<std::size_t>(blocks.count()));
#pragma omp parallel num_threads(threads)
  {
    MuRow row(k);
    float* __restrict num = row.num.data();
    float* __restrict den = row.den.data();
#pragma omp for schedule(dynamic, 1)
    for (int blk = 0; blk < blocks.count(); ++blk) {
      MaskedSide acc;
      for (std::int32_t r = blocks.begin(blk); r < blocks.end(blk); ++r) {
        float* __restrict s = sd + static_cast<std::int64_t>(r) * k;
        const float row_base = in.biases ? in.offset + sb[r] : 0.0f;
        masked_row_sums(x, r, s, od, k, row_base, ob, num, den);
        const auto n = static_cast<float>(x.row_nnz(r));
        const float reg = in.l2 * n;
        float norm = 0.0f;
#pragma omp simd reduction(+ : norm)
        for (std::int64_t f = 0; f < k; ++f) {
          s[f] *= num[f] / (den[f] + reg * s[f] + kMuEpsilon);
          norm += s[f] * s[f];
        }
        acc.weighted_norm += static_cast<double>(n) * norm;
        if (!second_walk) continue;
        double sum = 0.0;
        double sum_sq = 0.0;
        masked_row_residuals(x, r, s, od, k, in.biases ? in.offset : 0.0f, ob, sum, sum_sq);
        double b = 0.0;
        if (in.biases) {
          const double denom = static_cast<double>(n) + in.l2_bias;
          b = denom > 0.0 ? sum / denom : 0.0;
          sb[r] = static_cast<float>(b);
          acc.bias_norm += b * b;
        }
        // sum (resid - b)^2 without a third walk.
        acc.sse += sum_sq - 2.0 * b * sum + static_cast<double>(n) * b * b;
      }
      partial[static_cast<std::size_t>(blk)] = acc;
    }
  }
  MaskedSide out;
  for (const auto& p : partial) {
    out.sse += p.sse;
    out.weighted_norm += p.weighted_norm;
    out.bias_norm += p.bias_norm;
  }
  return out;
}

IterationLog CpuBackend::nmf_zero(const RatingMatrix& ratings, NmfFactors& factors,
                                  const IterationControl& control) {
  int threads = threads_for(ratings.nnz());
  check_nmf_factors(ratings, factors);
  const auto& xu = ratings.by_user();
  const auto& xm = ratings.by_movie();
  const std::int64_t k = factors.w.cols;
  const RowBlocks user_blocks = make_row_blocks(xu, k / kRowWeightDivisor);
  const RowBlocks movie_blocks = make_row_blocks(xm, k / kRowWeightDivisor);
  const double norm_x = squared_norm(xu);

  MatrixD hht = gram(factors.ht, movie_blocks, threads);
  IterationTracker tracker(control);
  while (true) {
    threads = threads_for(ratings.nnz());  // follows the load (core/parallel.hpp)
    const Eigen::MatrixXf hht_f = hht.cast<float>();
    const ZeroSide w_side = mu_zero_side(xu, user_blocks, factors.ht, hht_f, factors.w, threads);
    const Eigen::MatrixXf wtw_f = w_side.self_gram.cast<float>();
    const ZeroSide h_side = mu_zero_side(xm, movie_blocks, factors.w, wtw_f, factors.ht, threads);
    hht = h_side.self_gram;
    // As scikit-learn's _beta_divergence does for sparse X: tr(W^T X H^T) and tr((W^T W)(H H^T)).
    if (tracker.record(zero_nmf_loss(norm_x, h_side.cross, w_side.self_gram.cwiseProduct(hht).sum()))) break;
  }
  if (!all_finite(factors.w, threads) || !all_finite(factors.ht, threads))
    tracker.diverged("a factor is not finite");
  return tracker.take();
}

IterationLog CpuBackend::nmf_masked(const RatingMatrix& ratings, const MaskedNmfSettings& settings,
                                    MaskedNmfState& state, const IterationControl& control) {
  int threads = threads_for(ratings.nnz());
  check_nmf_factors(ratings, state.factors);
  if (!(settings.l2_user >= 0.0f) || !(settings.l2_movie >= 0.0f) || !(settings.l2_bias >= 0.0f)) {
    throw InvalidArgument("NMF L2 weights must be >= 0");
  }
  if (settings.biases) {
    state.user_bias.resize(static_cast<std::size_t>(ratings.n_users()), 0.0f);
    state.movie_bias.resize(static_cast<std::size_t>(ratings.n_movies()), 0.0f);
  } else {
    state.user_bias.clear();
    state.movie_bias.clear();
  }
  const auto& xu = ratings.by_user();
  const auto& xm = ratings.by_movie();
  const std::int64_t k = state.factors.w.cols;
  const RowBlocks user_blocks = make_row_blocks(xu, k / kRowWeightDivisor);
  const RowBlocks movie_blocks = make_row_blocks(xm, k / kRowWeightDivisor);

  MaskedSideInput user_side{&xu,
                            &user_blocks,
                            &state.factors.ht,
                            &state.factors.w,
                            &state.movie_bias,
                            &state.user_bias,
                            state.global_offset,
                            settings.l2_user,
                            settings.l2_bias,
                            settings.biases,
                            false};
  MaskedSideInput movie_side{&xm,
                             &movie_blocks,
                             &state.factors.w,
                             &state.factors.ht,
                             &state.user_bias,
                             &state.movie_bias,
                             state.global_offset,
                             settings.l2_movie,
                             settings.l2_bias,
                             settings.biases,
                             true};
  IterationTracker tracker(control);
  while (true) {
    threads = threads_for(ratings.nnz());  // follows the load (core/parallel.hpp)
    const MaskedSide u = mu_masked_side(user_side, threads);
    const MaskedSide m = mu_masked_side(movie_side, threads);
    const MaskedLossTerms terms{m.sse, u.weighted_norm, m.weighted_norm, u.bias_norm + m.bias_norm};
    if (tracker.record(masked_nmf_loss(terms, settings.l2_user, settings.l2_movie, settings.l2_bias))) break;
  }
  if (!all_finite(state.factors.w, threads) || !all_finite(state.factors.ht, threads)) {
    tracker.diverged("a factor is not finite");
  }
  return tracker.take();
}

}  // namespace cinefactor::engine::cpu
