// CUDA ranks (built with CINEFACTOR_WITH_NCCL only): each rank of a job on one GPU of its node, the node's
// GPUs dealt out by the rank's place on the node (at most one rank per GPU, as NCCL requires).
#pragma once

#include <memory>

#include "dist/communicator.hpp"
#include "dist/partition.hpp"
#include "engine/backend.hpp"
#include "engine/iteration.hpp"

namespace cinefactor::dist {

// This rank's CUDA backend. Every rank calls it; when any rank cannot have a device (none usable, more
// ranks than GPUs on its node), every rank throws the same SharedFailure naming that rank and why.
std::unique_ptr<engine::Backend> cuda_rank_backend(Communicator& comm);

// NMF, zero-filled objective, from `factors` (w: this rank's users, ht: every movie) on this rank's GPU:
// the CUDA backend's iteration on the rank's users, its sums over users (X^T W: n k floats, W^T W: k^2
// doubles, per iteration; ||X||^2 once) all-reduced by NCCL on the device. `device_traffic` receives NCCL's
// calls and bytes.
engine::IterationLog cuda_nmf_zero(Communicator& comm, const Partition& part, engine::NmfFactors& factors,
                                   const engine::IterationControl& control, Traffic& device_traffic);

}  // namespace cinefactor::dist
