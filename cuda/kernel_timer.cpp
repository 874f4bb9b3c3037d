// KernelTimer (see kernel_timer.hpp).
#include "kernel_timer.hpp"

#include <utility>

namespace cinefactor::engine::cuda {

KernelTimer::KernelTimer(std::string name) {
  stats.name = std::move(name);
}

KernelTimer::~KernelTimer() {
  if (begin_) static_cast<void>(cudaEventDestroy(begin_));
  if (end_) static_cast<void>(cudaEventDestroy(end_));
}

void KernelTimer::start(cudaStream_t stream, bool enabled) {
  recording_ = enabled;
  if (!enabled) return;
  if (!begin_) {
    CINEFACTOR_CUDA_CHECK(cudaEventCreate(&begin_));
    CINEFACTOR_CUDA_CHECK(cudaEventCreate(&end_));
  }
  CINEFACTOR_CUDA_CHECK(cudaEventRecord(begin_, stream));
}

void KernelTimer::stop(cudaStream_t stream, double bytes) {
  if (!recording_) return;
  CINEFACTOR_CUDA_CHECK(cudaEventRecord(end_, stream));
  stats.bytes += bytes;
  pending_ = true;
  recording_ = false;
}

void KernelTimer::collect() {
  if (!pending_) return;
  float ms = 0.0f;
  CINEFACTOR_CUDA_CHECK(cudaEventSynchronize(end_));
  CINEFACTOR_CUDA_CHECK(cudaEventElapsedTime(&ms, begin_, end_));
  constexpr double kSecondsPerMs = 1e-3;
  stats.seconds += ms * kSecondsPerMs;
  stats.launches += 1;
  pending_ = false;
}

}  // namespace cinefactor::engine::cuda
