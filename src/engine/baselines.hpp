// The baseline models: host arithmetic (closed form or a few O(nnz) sweeps) that needs no backend.
#pragma once

#include <cstdint>
#include <vector>

#include "cinefactor/model.hpp"
#include "cinefactor/rating_matrix.hpp"
#include "engine/iteration.hpp"

namespace cinefactor::engine {

Model train_mean(const RatingMatrix& ratings);
Model train_popularity(const RatingMatrix& ratings);
// Regularized user + movie biases by alternating exact minimization of
//   sum (r - mu - b_u - b_j)^2 + l2 (sum b_u^2 + sum b_j^2).
Model train_bias(const RatingMatrix& ratings, float l2, const IterationControl& control, IterationLog* log);

// The steps of train_bias, also those of the distributed bias baseline (src/dist/).
// What one side's update adds to the loss.
struct BiasSweep {
  double sse = 0.0;        // squared error after the update
  double bias_norm = 0.0;  // sum of the squared new biases
};
// The residuals r_e - mu - other[col_e] of row r of x: their sum and sum of squares.
void bias_residual_sums(const SparseMatrix& x, std::int32_t r, double mu, const std::vector<float>& other,
                        double& sum, double& sum_sq);
// The exact minimizer over one bias given its residual sums over `count` ratings, b = sum / (count + l2);
// adds its terms to `sweep`.
float bias_update(double sum, double sum_sq, double count, float l2, BiasSweep& sweep);

}  // namespace cinefactor::engine
