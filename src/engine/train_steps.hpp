// The steps of train() that the distributed trainer (src/dist/) takes too, so that both check the same
// options with the same messages and set up the same iterations.
#pragma once

#include <cstdint>
#include <span>

#include "cinefactor/progress.hpp"
#include "cinefactor/train.hpp"
#include "engine/backend.hpp"
#include "engine/iteration.hpp"

namespace cinefactor::engine {

// Throws InvalidArgument for options that cannot train a users x movies matrix of `ratings` ratings.
void validate_train_options(const TrainOptions& o, std::int32_t users, std::int32_t movies,
                            std::int64_t ratings);

// The iteration budget and tolerance of `o`, the caller's callback wrapped with a progress bar.
IterationControl iteration_control(const TrainOptions& o, Progress& progress);

SvdSettings svd_settings(const TrainOptions& o, bool center);

// scikit-learn's NMF scale: the mean of the zero-filled users x movies matrix whose `ratings` ratings
// have mean `mean`.
double zero_filled_mean(double mean, std::int64_t ratings, std::int32_t users, std::int32_t movies);

// The SVD's user factors U Sigma (prediction = offset + <U Sigma, V>): column c of u times sigma[c].
void scale_columns(DenseMatrix& u, std::span<const float> sigma);

}  // namespace cinefactor::engine
