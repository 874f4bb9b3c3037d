// Which compute devices this build and this machine offer. Safe to call on a machine without a
// GPU or driver: the CUDA runtime is only asked for the device count first.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cinefactor {

namespace engine {
class Backend;  // src/engine/backend.hpp: the CPU and CUDA backends' interface (not part of the public API)
}  // namespace engine

// Where the engine runs (`--device`): automatic takes the first CUDA device when the build has CUDA and
// the job fits, otherwise the CPU, and says which in one log line; cuda fails when it cannot.
enum class Device { automatic, cpu, cuda };
std::string_view device_name(Device device) noexcept;  // "auto", "cpu", "cuda"
std::optional<Device> parse_device(std::string_view name) noexcept;
std::vector<std::string> device_names();

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
  bool compiled = false;   // built with the CUDA backend
  int driver_version = 0;  // as cudaDriverGetVersion reports it; 0 when no driver
  int runtime_version = 0;
  std::vector<CudaDevice> devices;  // empty when none is usable
  std::string reason;               // why there is no usable device, when devices is empty
};

CudaProbe probe_cuda();

}  // namespace cinefactor
