// `cinefactor train` and `cinefactor evaluate` started by mpirun/srun: every rank loads its share of the
// ratings and the ranks work together (dist/); rank 0 speaks for the job (writes the model file once every
// rank has finished, prints the results).
#pragma once

#include <string>

#include "cinefactor/evaluation.hpp"
#include "train_flags.hpp"

namespace cinefactor::cli {

void train_distributed(const TrainFlags& flags, const std::string& out, bool json, bool no_user_factors);

// `options` as the single-process command builds them (its ranking device and threads come from `flags`).
void evaluate_distributed(const TrainFlags& flags, const EvaluationOptions& options, bool json);

}  // namespace cinefactor::cli
