// The backends the typed suites run on (test_backends.cpp, test_als.cpp): each kind makes its backend or
// says why it cannot (the CUDA kind on a machine without a usable device: the suites GTEST_SKIP with that
// reason). Backends and BackendNames are the gtest type list and its names.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <type_traits>

#include "cinefactor/device.hpp"
#include "engine/backend.hpp"

namespace cinefactor::test {

struct OnCpu {
  static constexpr Device kDevice = Device::cpu;
  static std::string unavailable() { return {}; }
  static std::unique_ptr<engine::Backend> make() { return engine::make_cpu_backend(0); }
};

struct OnCuda {
  static constexpr Device kDevice = Device::cuda;
  static std::string unavailable() {
    const CudaProbe probe = probe_cuda();
    return probe.devices.empty() ? "no usable CUDA device: " + probe.reason : std::string();
  }
  static std::unique_ptr<engine::Backend> make() {
    return engine::make_cuda_backend(probe_cuda().devices.front().index);
  }
};

using Backends = ::testing::Types<OnCpu, OnCuda>;

class BackendNames {
 public:
  template <typename T>
  static std::string GetName(int) {
    return std::is_same_v<T, OnCpu> ? "cpu" : "cuda";
  }
};

}  // namespace cinefactor::test
