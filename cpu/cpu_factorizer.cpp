// Construction of the CPU backend; its algorithms live in nmf.cpp and svd.cpp.
#include "cpu_engine.hpp"

namespace cinefactor::engine {

cpu::CpuFactorizer::CpuFactorizer(int threads) : threads_(resolve_threads(threads)) {}

std::unique_ptr<Factorizer> make_cpu_factorizer(int threads) { return std::make_unique<cpu::CpuFactorizer>(threads); }

}  // namespace cinefactor::engine
