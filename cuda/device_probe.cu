// probe_cuda(): asks the CUDA runtime for its devices without ever failing hard. On a machine
// without a driver cudaGetDeviceCount returns an error code, which becomes the reason.
#include <cuda_runtime.h>

#include <string>

#include "cinefactor/device.hpp"

namespace cinefactor {

CudaProbe probe_cuda() {
  CudaProbe probe;
  probe.compiled = true;
  cudaRuntimeGetVersion(&probe.runtime_version);
  if (cudaDriverGetVersion(&probe.driver_version) != cudaSuccess) {
    probe.driver_version = 0;
    cudaGetLastError();
  }
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    probe.reason = std::string(cudaGetErrorName(status)) + ": " + cudaGetErrorString(status);
    cudaGetLastError();  // clear the sticky-free error so later probes start clean
    return probe;
  }
  if (count == 0) {
    probe.reason = "the CUDA driver reports no device";
    return probe;
  }
  // Reading free memory makes each device current in turn (creating its context); the caller's current
  // device is restored afterwards.
  int current = 0;
  const bool had_current = cudaGetDevice(&current) == cudaSuccess;
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) {
      cudaGetLastError();
      continue;
    }
    CudaDevice dev;
    dev.index = i;
    dev.name = prop.name;
    dev.compute_major = prop.major;
    dev.compute_minor = prop.minor;
    dev.total_memory = static_cast<std::int64_t>(prop.totalGlobalMem);
    dev.multiprocessors = prop.multiProcessorCount;
    size_t free_bytes = 0;
    size_t total_bytes = 0;
    if (cudaSetDevice(i) == cudaSuccess && cudaMemGetInfo(&free_bytes, &total_bytes) == cudaSuccess) {
      dev.free_memory = static_cast<std::int64_t>(free_bytes);
    } else {
      cudaGetLastError();
    }
    probe.devices.push_back(std::move(dev));
  }
  if (had_current) cudaSetDevice(current);
  if (probe.devices.empty()) probe.reason = "no device could be queried";
  return probe;
}

}  // namespace cinefactor
