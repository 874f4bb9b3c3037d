// Baseline models: global mean, regularized biases, popularity. Each is a few O(nnz) sweeps.
#include "engine/baselines.hpp"

#include <cmath>
#include <string>

#include "cinefactor/error.hpp"

namespace cinefactor::engine {
namespace {

Model empty_factor_model(const RatingMatrix& ratings, Algorithm algorithm) {
  Model model;
  model.algorithm = algorithm;
  model.user_factors = DenseMatrix(ratings.n_users(), 0);
  model.movie_factors = DenseMatrix(ratings.n_movies(), 0);
  return model;
}

// One exact minimization over the biases of one side given the other side's:
//   b_row = sum_e (r_e - mu - b_col) / (n_row + l2).
BiasSweep bias_sweep(const SparseMatrix& x, double mu, float l2, const std::vector<float>& other,
                     std::vector<float>& self) {
  BiasSweep out;
  for (std::int32_t r = 0; r < x.rows; ++r) {
    double sum = 0.0;
    double sum_sq = 0.0;
    bias_residual_sums(x, r, mu, other, sum, sum_sq);
    self[static_cast<std::size_t>(r)] = bias_update(sum, sum_sq, static_cast<double>(x.row_nnz(r)), l2, out);
  }
  return out;
}

}  // namespace

void bias_residual_sums(const SparseMatrix& x, std::int32_t r, double mu, const std::vector<float>& other,
                        double& sum, double& sum_sq) {
  for (std::int64_t e = x.row_begin(r); e < x.row_end(r); ++e) {
    const double resid = x.values[static_cast<std::size_t>(e)] - mu -
                         other[static_cast<std::size_t>(x.indices[static_cast<std::size_t>(e)])];
    sum += resid;
    sum_sq += resid * resid;
  }
}

float bias_update(double sum, double sum_sq, double count, float l2, BiasSweep& sweep) {
  const double denom = count + l2;
  const double b = denom > 0.0 ? sum / denom : 0.0;
  sweep.sse += sum_sq - 2.0 * b * sum + count * b * b;
  sweep.bias_norm += b * b;
  return static_cast<float>(b);
}

Model train_mean(const RatingMatrix& ratings) {
  Model model = empty_factor_model(ratings, Algorithm::mean);
  model.global_offset = static_cast<float>(ratings.global_mean());
  return model;
}

Model train_popularity(const RatingMatrix& ratings) {
  Model model = empty_factor_model(ratings, Algorithm::popularity);
  model.movie_bias.resize(static_cast<std::size_t>(ratings.n_movies()));
  for (std::int32_t j = 0; j < ratings.n_movies(); ++j) {
    model.movie_bias[static_cast<std::size_t>(j)] = static_cast<float>(ratings.movie_count(j));
  }
  return model;
}

Model train_bias(const RatingMatrix& ratings, float l2, const IterationControl& control, IterationLog* log) {
  if (!(l2 >= 0.0f)) throw InvalidArgument("l2_bias must be >= 0");
  Model model = empty_factor_model(ratings, Algorithm::bias);
  const double mu = ratings.global_mean();
  model.global_offset = static_cast<float>(mu);
  model.user_bias.assign(static_cast<std::size_t>(ratings.n_users()), 0.0f);
  model.movie_bias.assign(static_cast<std::size_t>(ratings.n_movies()), 0.0f);
  IterationTracker tracker(control);
  while (true) {
    const BiasSweep users = bias_sweep(ratings.by_user(), mu, l2, model.movie_bias, model.user_bias);
    const BiasSweep movies = bias_sweep(ratings.by_movie(), mu, l2, model.user_bias, model.movie_bias);
    if (tracker.record(movies.sse + l2 * (users.bias_norm + movies.bias_norm))) break;
  }
  if (log) *log = tracker.take();
  return model;
}

}  // namespace cinefactor::engine
