// Implicit-feedback ALS on the CPU (Hu, Koren, Volinsky 2008), solved row by row with warm-started
// conjugate gradient (Takacs, Pilaszy, Tikk 2011), as implicit's `cg` solver does. Each half-iteration
// walks one CSR view: a row's system is (G + l2 I + sum_e (c - 1) y_e y_e^T) x = sum_e c y_e over the row's
// positive entries e, with G = Y^T Y over every row of the other side. Rows are independent, so the
// result does not depend on the thread count; the loss parts are summed per block in block order.
#include <omp.h>

#include <algorithm>
#include <vector>

#include "cpu_backend.hpp"
#include "engine/als_objective.hpp"

namespace cinefactor::engine::cpu {
namespace {

// Row weight for load balancing: a row's k x k products cost about as much as k sparse entries.
constexpr std::int64_t kRowWeightPerFactor = 1;
// CG stops early once the squared residual norm falls below this (implicit's threshold).
constexpr float kCgResidualFloor = 1e-10f;

float dot(const float* __restrict a, const float* __restrict b, std::int64_t k) {
  float s = 0.0f;
#pragma omp simd reduction(+ : s)
  for (std::int64_t f = 0; f < k; ++f) s += a[f] * b[f];
  return s;
}

void axpy(float a, const float* __restrict x, float* __restrict y, std::int64_t k) {
#pragma omp simd
  for (std::int64_t f = 0; f < k; ++f) y[f] += a * x[f];
}

// One thread's CG vectors.
struct CgScratch {
  explicit CgScratch(std::int64_t k)
      : r(static_cast<std::size_t>(k)), p(static_cast<std::size_t>(k)), ap(static_cast<std::size_t>(k)) {}
  std::vector<float> r;
  std::vector<float> p;
  std::vector<float> ap;
};

struct AlsSide {
  const SparseMatrix* x;
  const RowBlocks* blocks;
  const DenseMatrix* other;
  DenseMatrix* self;
  const float* regularized_gram;  // G + l2 I, k x k row-major
  float confidence;
  float threshold;
  int cg_steps;
  bool want_positives;  // also sum the positive-entry loss terms with the updated rows
};

// Updates every row of side.self; returns the sum over positive entries of c (1 - s)^2 - s^2 with the
// updated rows when asked (0 otherwise).
double als_side(const AlsSide& side, int threads) {
  const SparseMatrix& x = *side.x;
  const RowBlocks& blocks = *side.blocks;
  const std::int64_t k = side.self->cols;
  const float* __restrict od = side.other->data.data();
  float* __restrict sd = side.self->data.data();
  const float c1 = side.confidence - 1.0f;
  std::vector<double> partial(static_cast<std::size_t>(blocks.count()), 0.0);
#pragma omp parallel num_threads(threads)
  {
    CgScratch scratch(k);
    float* __restrict r = scratch.r.data();
    float* __restrict p = scratch.p.data();
    float* __restrict ap = scratch.ap.data();
#pragma omp for schedule(dynamic, 1)
    for (int blk = 0; blk < blocks.count(); ++blk) {
      double block_positives = 0.0;
      for (std::int32_t row = blocks.begin(blk); row < blocks.end(blk); ++row) {
        float* __restrict s = sd + static_cast<std::int64_t>(row) * k;
        const std::int64_t begin = x.row_begin(row);
        const std::int64_t end = x.row_end(row);
        const auto for_each_positive = [&](auto&& visit) {
          for (std::int64_t e = begin; e < end; ++e) {
            if (x.values[static_cast<std::size_t>(e)] >= side.threshold)
              visit(od + static_cast<std::int64_t>(x.indices[static_cast<std::size_t>(e)]) * k);
          }
        };
        bool any = false;
        for_each_positive([&](const float*) { any = true; });
        if (!any) {
          std::fill(s, s + k, 0.0f);  // (G + l2 I) x = 0 has the unique solution 0
          continue;
        }
        // r = b - A x with b = sum c y and A = G + l2 I + sum (c - 1) y y^T.
        row_times_square(s, side.regularized_gram, k, r);
        for (std::int64_t f = 0; f < k; ++f) r[f] = -r[f];
        for_each_positive([&](const float* y) { axpy(side.confidence - c1 * dot(y, s, k), y, r, k); });
        std::copy(r, r + k, p);
        float rs_old = dot(r, r, k);
        for (int step = 0; step < side.cg_steps && rs_old >= kCgResidualFloor; ++step) {
          row_times_square(p, side.regularized_gram, k, ap);
          for_each_positive([&](const float* y) { axpy(c1 * dot(y, p, k), y, ap, k); });
          const float step_length = rs_old / dot(p, ap, k);
          axpy(step_length, p, s, k);
          axpy(-step_length, ap, r, k);
          const float rs_new = dot(r, r, k);
          if (rs_new < kCgResidualFloor) break;
          const float beta = rs_new / rs_old;
#pragma omp simd
          for (std::int64_t f = 0; f < k; ++f) p[f] = r[f] + beta * p[f];
          rs_old = rs_new;
        }
        if (side.want_positives) {
          for_each_positive(
              [&](const float* y) { block_positives += als_positive_term(side.confidence, dot(y, s, k)); });
        }
      }
      partial[static_cast<std::size_t>(blk)] = block_positives;
    }
  }
  double total = 0.0;
  for (const double v : partial) total += v;
  return total;
}

Eigen::MatrixXf regularized(const MatrixD& gram_matrix, float l2) {
  Eigen::MatrixXf out = gram_matrix.cast<float>();
  out.diagonal().array() += l2;
  return out;
}

}  // namespace

IterationLog CpuBackend::implicit_als(const RatingMatrix& ratings, const AlsSettings& settings,
                                      AlsFactors& factors, const IterationControl& control) {
  check_als_factors(ratings, settings, factors);
  const int threads = threads_for(ratings.nnz());
  const auto& xu = ratings.by_user();
  const auto& xm = ratings.by_movie();
  const std::int64_t k = factors.users.cols;
  const RowBlocks user_blocks = make_row_blocks(xu, k * kRowWeightPerFactor);
  const RowBlocks movie_blocks = make_row_blocks(xm, k * kRowWeightPerFactor);
  const float confidence = als_confidence(settings.alpha);

  MatrixD movie_gram = gram(factors.movies, movie_blocks, threads);
  IterationTracker tracker(control);
  while (true) {
    const Eigen::MatrixXf a_users = regularized(movie_gram, settings.l2);
    als_side({&xu, &user_blocks, &factors.movies, &factors.users, a_users.data(), confidence,
              settings.positive_threshold, settings.cg_steps, false},
             threads);
    const MatrixD user_gram = gram(factors.users, user_blocks, threads);
    const Eigen::MatrixXf a_movies = regularized(user_gram, settings.l2);
    const double positives = als_side({&xm, &movie_blocks, &factors.users, &factors.movies, a_movies.data(),
                                       confidence, settings.positive_threshold, settings.cg_steps, true},
                                      threads);
    movie_gram = gram(factors.movies, movie_blocks, threads);
    const double loss = implicit_als_loss(positives, user_gram.cwiseProduct(movie_gram).sum(),
                                          user_gram.trace(), movie_gram.trace(), settings.l2);
    if (tracker.record(loss)) break;
  }
  if (!all_finite(factors.users, threads) || !all_finite(factors.movies, threads))
    tracker.diverged("a factor is not finite");
  return tracker.take();
}

}  // namespace cinefactor::engine::cpu
