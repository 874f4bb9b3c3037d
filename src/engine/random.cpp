// stream_seed and NormalGenerator (see random.hpp).
#include "engine/random.hpp"

#include <cmath>
#include <numbers>

namespace cinefactor::engine {

std::uint64_t stream_seed(std::uint64_t seed, std::uint64_t stream) noexcept {
  std::uint64_t z = seed + 0x9E3779B97F4A7C15ull * (stream + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::uint64_t NormalGenerator::next_bits() {
  state_ += 0x9E3779B97F4A7C15ull;
  std::uint64_t z = state_;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

double NormalGenerator::next() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  constexpr double kTwoTo53 = 9007199254740992.0;
  const double u1 = (static_cast<double>(next_bits() >> 11) + 1.0) / kTwoTo53;  // (0, 1]
  const double u2 = static_cast<double>(next_bits() >> 11) / kTwoTo53;          // [0, 1)
  const double radius = std::sqrt(-2.0 * std::log(u1));
  const double angle = 2.0 * std::numbers::pi * u2;
  spare_ = radius * std::sin(angle);
  has_spare_ = true;
  return radius * std::cos(angle);
}

}  // namespace cinefactor::engine
