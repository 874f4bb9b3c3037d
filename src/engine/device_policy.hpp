// The one device policy: which backend a command runs on, decided once per command for everything it
// runs (every training and every ranking of an evaluation alike), with the GPU probed once.
//   cpu   the CPU backend.
//   cuda  the first CUDA device; Error("--device cuda: no usable CUDA device: <why>") when the build has
//         no CUDA backend, no device is present, or a job of the workload does not fit on it.
//   auto  cuda when it would succeed, otherwise the CPU; one log line says which and why.
// The baselines (mean, bias, popularity) are host arithmetic: a workload of them never asks for a
// device, never fails for the lack of one, and runs on the CPU whatever was requested.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cinefactor/device.hpp"
#include "cinefactor/model.hpp"
#include "cinefactor/rating_matrix.hpp"
#include "cinefactor/train.hpp"
#include "engine/backend.hpp"
#include "engine/cuda_planning.hpp"

namespace cinefactor::engine {

// What one command will run, so that the policy can tell whether it fits on a device.
struct DeviceWorkload {
  bool host_only = false;                      // baselines: no device wanted
  std::vector<CudaWorkload> factorizations;    // each checked against the device's limits and free memory
  std::optional<CudaRankingWorkload> ranking;  // the device's multiprocessors are filled in by the policy
};

// Training `options.algorithm` on `ratings` (nndsvda: the SVD it starts from and the NMF).
DeviceWorkload training_workload(const RatingMatrix& ratings, const TrainOptions& options);
// Ranking lists of length k for every user of `train` with `model`'s factors.
CudaRankingWorkload ranking_workload(const Model& model, const RatingMatrix& train, int k);
// The same shape before a model exists (an evaluation: ranking with a model of rank `rank` trained on
// `train`).
CudaRankingWorkload ranking_workload(std::int32_t rank, const RatingMatrix& train, int k);

// The backend for `device` (threads: the CPU backend's thread count, 0 = automatic).
std::shared_ptr<Backend> select_backend(Device device, int threads, const DeviceWorkload& workload);
std::shared_ptr<Backend> select_backend(Device device, int threads, const CudaRankingWorkload& ranking);

// The first CUDA device the probe finds, or why there is none (this build has no CUDA backend, or the
// probe's reason).
std::string first_cuda_device(CudaDevice* device);

}  // namespace cinefactor::engine
