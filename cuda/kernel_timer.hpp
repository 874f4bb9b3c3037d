// cudaEvent timings of one kernel's launches, for the benchmarks (see engine/cuda_profile.hpp).
#pragma once

#include <string>

#include "cuda_check.hpp"
#include "engine/cuda_profile.hpp"

namespace cinefactor::engine::cuda {

// Accumulated cudaEvent timings of one kernel (see CudaKernelProfile).
class KernelTimer {
 public:
  explicit KernelTimer(std::string name);
  ~KernelTimer();
  KernelTimer(const KernelTimer&) = delete;
  KernelTimer& operator=(const KernelTimer&) = delete;
  void start(cudaStream_t stream, bool enabled);
  void stop(cudaStream_t stream, double bytes);
  // After the stream has been synchronized: folds the pending launch into the totals.
  void collect();
  CudaKernelStats stats;

 private:
  cudaEvent_t begin_ = nullptr;
  cudaEvent_t end_ = nullptr;
  bool pending_ = false;
  bool recording_ = false;
};

}  // namespace cinefactor::engine::cuda
