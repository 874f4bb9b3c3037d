// The baseline models: host arithmetic (closed form or a few O(nnz) sweeps) that needs no backend.
#pragma once

#include "cinefactor/model.hpp"
#include "cinefactor/rating_matrix.hpp"
#include "engine/iteration.hpp"

namespace cinefactor::engine {

Model train_mean(const RatingMatrix& ratings);
Model train_popularity(const RatingMatrix& ratings);
// Regularized user + movie biases by alternating exact minimization of
//   sum (r - mu - b_u - b_j)^2 + l2 (sum b_u^2 + sum b_j^2).
Model train_bias(const RatingMatrix& ratings, float l2, const IterationControl& control, IterationLog* log);

}  // namespace cinefactor::engine
