// Construction of the CUDA backend and its kernel profile; the algorithms live in nmf.cpp, svd.cpp and
// ranking.cpp.
#include "cuda_backend.hpp"

#include <memory>

namespace cinefactor::engine {
namespace cuda {

CudaBackend::CudaBackend(int device)
    : ctx_(device),
      zero_users_("nmf_zero_update (users)"),
      zero_movies_("nmf_zero_update (movies)"),
      masked_users_("nmf_masked_side (users)"),
      masked_movies_("nmf_masked_side (movies)") {}

std::string CudaBackend::device_description() const {
  return "cuda:" + std::to_string(ctx_.device()) + " (" + ctx_.properties().name + ")";
}

double CudaBackend::peak_bandwidth_bytes_per_second() const {
  int clock_khz = 0;
  int bus_bits = 0;
  CINEFACTOR_CUDA_CHECK(cudaDeviceGetAttribute(&clock_khz, cudaDevAttrMemoryClockRate, ctx_.device()));
  CINEFACTOR_CUDA_CHECK(cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, ctx_.device()));
  constexpr double kDoubleDataRate = 2.0;
  constexpr double kBitsPerByte = 8.0;
  constexpr double kHzPerKhz = 1000.0;
  return kDoubleDataRate * clock_khz * kHzPerKhz * (bus_bits / kBitsPerByte);
}

void CudaBackend::require_memory(const CudaWorkload& w, const std::string& what) {
  require_cuda_memory(estimate_cuda_memory(w), ctx_.free_memory(), what + " on " + device_description());
}

void CudaBackend::collect_timers() {
  for (KernelTimer* t : {&zero_users_, &zero_movies_, &masked_users_, &masked_movies_}) t->collect();
}

}  // namespace cuda

std::unique_ptr<Backend> make_cuda_backend(int device) {
  return std::make_unique<cuda::CudaBackend>(device);
}

}  // namespace cinefactor::engine
