// The benchmarks' window into the CUDA backend: per-kernel timings of its own fused kernels.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cinefactor::engine {

// Per-kernel timing of the CUDA backend's own fused kernels (cudaEvent pairs around each launch),
// for the benchmarks: bytes are the kernel's logical traffic (every array element it reads or writes
// counted once per access, gathered factor rows included), so bytes / seconds is its effective bandwidth.
struct CudaKernelStats {
  std::string name;
  std::int64_t launches = 0;
  double seconds = 0.0;
  double bytes = 0.0;
};

// Implemented by the CUDA backend next to Backend (reach it with dynamic_cast).
class CudaKernelProfile {
 public:
  virtual ~CudaKernelProfile() = default;
  // Off by default: the events add a little host work per launch.
  virtual void set_kernel_timing(bool on) = 0;
  virtual std::vector<CudaKernelStats> kernel_stats() const = 0;
  virtual void reset_kernel_stats() = 0;
  // 2 x memory clock x bus width (double data rate), from cudaDeviceProp.
  virtual double peak_bandwidth_bytes_per_second() const = 0;
};

}  // namespace cinefactor::engine
