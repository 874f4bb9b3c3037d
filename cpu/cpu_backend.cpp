// Construction of the CPU backend; its algorithms live in nmf.cpp, svd.cpp and ranking.cpp.
#include "cpu_backend.hpp"

namespace cinefactor::engine {

cpu::CpuBackend::CpuBackend(int threads) : threads_(threads) {}

std::unique_ptr<Backend> make_cpu_backend(int threads) {
  return std::make_unique<cpu::CpuBackend>(threads);
}

}  // namespace cinefactor::engine
