// evaluate() for a distributed job: every rank splits its own users' ratings (the split one process makes
// of the whole file with the same seed), the ranks train each fold together (fit_distributed), every rank
// ranks its own test users, and the metrics are summed over the ranks (eval/evaluation_protocol.hpp).
#pragma once

#include "cinefactor/evaluation.hpp"
#include "cinefactor/train.hpp"
#include "dist/communicator.hpp"
#include "dist/partition.hpp"

namespace cinefactor::dist {

// Every rank calls it with the same options and gets the same result: the single-process result of the
// same options, up to the order of floating-point sums (and the models' own differences, see
// factorization.hpp). Each rank ranks on its CPU, or with train.device cuda (CUDA ranks, NMF zero) on its
// GPU. Throws InvalidArgument, the same on every
// rank, for options it refuses.
EvaluationResult evaluate_distributed(Communicator& comm, const Partition& part, const TrainOptions& train,
                                      const EvaluationOptions& options);

}  // namespace cinefactor::dist
