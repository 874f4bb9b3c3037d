// Which compute devices this build and this machine offer. Safe to call on a machine without a
// GPU or driver: the CUDA runtime is only asked for the device count first.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cinefactor {

struct CudaDevice {
  int index = 0;
  std::string name;
  int compute_major = 0;
  int compute_minor = 0;
  std::int64_t total_memory = 0;  // bytes
  std::int64_t free_memory = 0;   // bytes
  int multiprocessors = 0;
};

struct CudaProbe {
  bool compiled = false;            // built with the CUDA backend
  int driver_version = 0;           // as cudaDriverGetVersion reports it; 0 when no driver
  int runtime_version = 0;
  std::vector<CudaDevice> devices;  // empty when none is usable
  std::string reason;               // why there is no usable device, when devices is empty
};

CudaProbe probe_cuda();

}  // namespace cinefactor
