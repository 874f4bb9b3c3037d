// The split masks of evaluation.hpp for a process that holds some of the users' rows (a distributed job)
// or all of them. Every mask is aligned with the local ratings' by_user() values and equals the slice of
// the mask one process computes for the whole matrix with the same seed: the random split and the k-fold
// assignment replay the sampling stream over the whole matrix's positions (O(total ratings) time, no
// memory beyond the local mask), the per-user kinds need only the user's own row, and the global time cut
// is a radix selection over the counts of every process.
#pragma once

#include <cstdint>
#include <vector>

#include "cinefactor/evaluation.hpp"
#include "eval/process_group.hpp"

namespace cinefactor::eval {

// Where the local rows sit in the whole matrix: rows in user order, ratings in (user, movie) order.
struct RowPlacement {
  std::int64_t total_ratings = 0;            // of the whole matrix
  std::vector<std::int64_t> first_position;  // per local row: the position of its first rating
};

// The placement of a matrix that is the whole matrix.
RowPlacement whole_matrix_placement(const RatingMatrix& ratings);

// 1 for held-out ratings. Throws InvalidArgument as holdout_split() does.
std::vector<std::uint8_t> holdout_mask(const RatingMatrix& local, const RowPlacement& placement,
                                       const SplitOptions& options, ProcessGroup& group);

// The fold of every local rating (see kfold_assignment in evaluation.hpp).
std::vector<std::uint8_t> kfold_mask(const RatingMatrix& local, const RowPlacement& placement, int folds,
                                     std::uint64_t seed);

}  // namespace cinefactor::eval
