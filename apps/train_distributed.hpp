// `cinefactor train` started by mpirun/srun: every rank loads its share of the ratings, the ranks train
// together, rank 0 writes the model file once every rank has finished (dist/).
#pragma once

#include <string>

#include "train_flags.hpp"

namespace cinefactor::cli {

void train_distributed(const TrainFlags& flags, const std::string& out, bool json, bool no_user_factors);

}  // namespace cinefactor::cli
