// The evaluation protocol of evaluation.hpp for a process that holds some users' rows of the whole matrix
// (a distributed job, dist/) or all of them (evaluate()). Every process of `group` calls it with the same
// options: each splits its own rows (the single-process split of the whole matrix, split_masks.hpp),
// `trainer` fits the fold (collectively, when distributed) and returns the model of the local users (with
// every movie), each ranks its own test users, and the metric sums are added up over the group
// (metric_sums.hpp): every process returns the single-process result.
#pragma once

#include "cinefactor/evaluation.hpp"
#include "eval/process_group.hpp"
#include "eval/split_masks.hpp"

namespace cinefactor::eval {

EvaluationResult evaluate_rows(const RatingMatrix& local, const RowPlacement& placement,
                               const Trainer& trainer, const EvaluationOptions& options, ProcessGroup& group);

}  // namespace cinefactor::eval
