// What train() records in a model besides the factors, shared with the distributed trainer (src/dist/),
// which must write the same model file: the hyperparameters of the options and the fingerprint of the
// training ratings, composed from one fingerprint per user row so that ranks holding different users can
// compute it together.
#pragma once

#include <cstdint>
#include <span>

#include "cinefactor/model.hpp"
#include "cinefactor/rating_matrix.hpp"
#include "cinefactor/train.hpp"

namespace cinefactor {

// The hyperparameters a model trained with `o` records (iterations: how many ran; 0 for closed forms).
Hyperparameters training_hyperparameters(const TrainOptions& o, int iterations);

// fingerprint(ratings) == combine_fingerprint(user ids, movie ids, row_fingerprint of every user row in
// order).
std::uint64_t row_fingerprint(const SparseMatrix& csr, std::int32_t row);
std::uint64_t combine_fingerprint(std::span<const std::int64_t> user_ids,
                                  std::span<const std::int64_t> movie_ids,
                                  std::span<const std::uint64_t> row_fingerprints);

}  // namespace cinefactor
