// train() for a distributed job: the algorithms of factorization.hpp on a Partition, and the model file
// of one process assembled on rank 0 (movie factors and biases, the users' factors gathered in the
// single-process order, ids, counts, catalog, hyperparameters, fingerprint).
#pragma once

#include "cinefactor/model.hpp"
#include "cinefactor/train.hpp"
#include "dist/communicator.hpp"
#include "dist/partition.hpp"
#include "engine/iteration.hpp"

namespace cinefactor::dist {

// Which algorithms a distributed job can train (the others are refused with a message naming these).
bool distributed_algorithm(Algorithm algorithm) noexcept;

// Throws InvalidArgument when `o.device` asks a distributed job for what it cannot do: CUDA ranks in a build
// without them, or for another algorithm than NMF with the zero objective.
void check_device(const TrainOptions& o);

struct DistributedTrainOptions {
  TrainOptions train;
  // Gather the users' factors and biases into the model (the single-process model file). Without, the
  // model keeps the movie side only (user_factors 0 rows, as the format allows): it still folds in
  // visitors and recommends, and rank 0 never holds m x k floats.
  bool gather_users = true;
};

// What every rank holds after training: `model` has the movie side (factors, biases, offset, singular
// values, movie ids and counts, hyperparameters) and no users; the factors and biases of this rank's users
// (Partition::local_users order) are apart.
struct DistributedFit {
  Model model;
  DenseMatrix user_factors;
  std::vector<float> user_bias;  // empty unless the algorithm has user biases
  engine::IterationLog log;
  Traffic device_traffic;  // CUDA ranks: what went through NCCL
};

// Every rank calls it with the same options. Throws InvalidArgument, the same on every rank, for options
// it refuses.
DistributedFit fit_distributed(Communicator& comm, const Partition& part, const TrainOptions& options);

// The model of this rank's users (their ids, factors, biases and counts) and every movie: what the rank
// predicts and ranks with.
Model local_model(const Partition& part, DistributedFit fit);

// fit_distributed(), then the model file's model on rank 0. Every rank calls it with the same options.
// Returns the model with its catalog on rank 0 and an empty Model elsewhere; report (on every rank) has the
// iterations, the loss history (identical on every rank) and this rank's seconds. Throws InvalidArgument, the
// same on every rank, for options it refuses.
Model train_distributed(Communicator& comm, const Partition& part, const DistributedTrainOptions& options,
                        TrainReport* report = nullptr, Traffic* device_traffic = nullptr);

}  // namespace cinefactor::dist
