// The factorizations of the engine, distributed over the ranks of a 1D partition by users (partition.hpp):
// each rank holds its users' ratings and their factors; the movie factors are replicated. One iteration
// computes exactly what the single-process CPU backend computes, with the sums over users split
// between the ranks (PLANC / MPI-FAUN's scheme, Kannan, Ballard & Park 2016):
//   * a user-side update needs only local data (its ratings, the replicated movie factors and their
//     Gram matrix);
//   * a movie-side update needs X^T W, a sum over every rank's users: each rank computes its n x k
//     partial product, a reduce-scatter sums each block of movie rows on the rank that updates them, and
//     an all-gather replicates the updated movie factors (2 n k words per rank and iteration in all);
//   * the k x k Gram matrices and the loss terms are summed over the ranks (O(k^2) words).
// The masked objective sums numerator and denominator (2 n k words) and, for the bias refit and the loss,
// the per-movie residual sums (2 n doubles), then gathers the movie factors and biases (n k + n words).
// The randomized SVD sums the n x l products A^T Q the same way and orthonormalizes the distributed
// m x l blocks by CholeskyQR across the ranks (the Gram matrix summed; a shifted CholeskyQR when it is
// ill-conditioned), the small SVD replicated.
#pragma once

#include <vector>

#include "dist/communicator.hpp"
#include "dist/partition.hpp"
#include "engine/backend.hpp"
#include "engine/iteration.hpp"

namespace cinefactor::dist {

// Randomized truncated SVD of the distributed matrix (centered on the global mean when asked): u holds
// this rank's users (Partition::local_users order), v, sigma and offset are the whole result.
engine::SvdResult distributed_svd(Communicator& comm, const Partition& part,
                                  const engine::SvdSettings& settings, int threads);

// NMF, zero-filled objective (scikit-learn's MU), from `factors`: w holds this rank's users, ht every movie.
engine::IterationLog distributed_nmf_zero(Communicator& comm, const Partition& part,
                                          engine::NmfFactors& factors,
                                          const engine::IterationControl& control, int threads);

// NMF, observed-entries objective with L2 and optional biases, from `state` (user rows and user biases
// local, movie rows and biases whole).
engine::IterationLog distributed_nmf_masked(Communicator& comm, const Partition& part,
                                            const engine::MaskedNmfSettings& settings,
                                            engine::MaskedNmfState& state,
                                            const engine::IterationControl& control, int threads);

// The bias baseline (engine/baselines.hpp): user biases for this rank's users, movie biases whole; the
// global mean is Partition::global_mean. Per iteration 2 n doubles reduce-scattered and n floats gathered.
engine::IterationLog distributed_bias(Communicator& comm, const Partition& part, float l2,
                                      std::vector<float>& user_bias, std::vector<float>& movie_bias,
                                      const engine::IterationControl& control);

}  // namespace cinefactor::dist
