// Deterministic random numbers for the engine (NMF's random init, the SVD's Gaussian test matrix): the
// same values on every platform, thread count and backend.
#pragma once

#include <cstdint>

namespace cinefactor::engine {

// An independent 64-bit seed for stream `stream` of `seed` (splitmix64 finalizer): per-row random
// streams that do not depend on the thread count.
std::uint64_t stream_seed(std::uint64_t seed, std::uint64_t stream) noexcept;

// Deterministic standard normal samples from a seed (splitmix64 + Box-Muller), platform independent.
class NormalGenerator {
 public:
  explicit NormalGenerator(std::uint64_t seed) : state_(seed) {}
  double next();

 private:
  std::uint64_t next_bits();
  std::uint64_t state_;
  double spare_ = 0.0;
  bool has_spare_ = false;
};

}  // namespace cinefactor::engine
