#include "core/hash64.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <vector>

namespace cinefactor::detail {
namespace {

constexpr std::uint64_t kPrime1 = 0x9E3779B185EBCA87ull;
constexpr std::uint64_t kPrime2 = 0xC2B2AE3D27D4EB4Full;
constexpr std::uint64_t kPrime3 = 0x165667B19E3779F9ull;
constexpr std::uint64_t kPrime4 = 0x85EBCA77C2B2AE63ull;
constexpr std::uint64_t kPrime5 = 0x27D4EB2F165667C5ull;
constexpr std::size_t kStripe = 32;
// Block size of the parallel form: large enough that per-block overhead vanishes, small enough to
// balance across cores. Part of the checksum's definition: changing it changes every checksum.
constexpr std::size_t kParallelBlock = std::size_t{1} << 20;

inline std::uint64_t load64(const unsigned char* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline std::uint64_t round(std::uint64_t acc, std::uint64_t input) noexcept {
  acc += input * kPrime2;
  acc = std::rotl(acc, 31);
  return acc * kPrime1;
}

inline std::uint64_t merge(std::uint64_t acc, std::uint64_t lane) noexcept {
  acc ^= round(0, lane);
  return acc * kPrime1 + kPrime4;
}

inline std::uint64_t avalanche(std::uint64_t h) noexcept {
  h ^= h >> 33;
  h *= kPrime2;
  h ^= h >> 29;
  h *= kPrime3;
  h ^= h >> 32;
  return h;
}

}  // namespace

std::uint64_t hash64(const void* data, std::size_t bytes, std::uint64_t seed) noexcept {
  const auto* p = static_cast<const unsigned char*>(data);
  const auto* end = p + bytes;
  std::uint64_t h;
  if (bytes >= kStripe) {
    std::uint64_t v1 = seed + kPrime1 + kPrime2;
    std::uint64_t v2 = seed + kPrime2;
    std::uint64_t v3 = seed;
    std::uint64_t v4 = seed - kPrime1;
    const auto* limit = end - kStripe;
    do {
      v1 = round(v1, load64(p));
      v2 = round(v2, load64(p + 8));
      v3 = round(v3, load64(p + 16));
      v4 = round(v4, load64(p + 24));
      p += kStripe;
    } while (p <= limit);
    h = std::rotl(v1, 1) + std::rotl(v2, 7) + std::rotl(v3, 12) + std::rotl(v4, 18);
    h = merge(h, v1);
    h = merge(h, v2);
    h = merge(h, v3);
    h = merge(h, v4);
  } else {
    h = seed + kPrime5;
  }
  h += static_cast<std::uint64_t>(bytes);
  while (p + 8 <= end) {
    h ^= round(0, load64(p));
    h = std::rotl(h, 27) * kPrime1 + kPrime4;
    p += 8;
  }
  while (p < end) {
    h ^= static_cast<std::uint64_t>(*p) * kPrime5;
    h = std::rotl(h, 11) * kPrime1;
    ++p;
  }
  return avalanche(h);
}

std::uint64_t hash64_parallel(const void* data, std::size_t bytes, std::uint64_t seed) noexcept {
  if (bytes <= kParallelBlock) return hash64(data, bytes, seed);
  const auto* p = static_cast<const unsigned char*>(data);
  const auto blocks = static_cast<std::int64_t>((bytes + kParallelBlock - 1) / kParallelBlock);
  std::vector<std::uint64_t> block_hash(static_cast<std::size_t>(blocks));
#pragma omp parallel for schedule(static)
  for (std::int64_t b = 0; b < blocks; ++b) {
    const auto offset = static_cast<std::size_t>(b) * kParallelBlock;
    const auto n = std::min(kParallelBlock, bytes - offset);
    block_hash[static_cast<std::size_t>(b)] = hash64(p + offset, n, seed);
  }
  return hash64(block_hash.data(), block_hash.size() * sizeof(std::uint64_t),
                seed ^ static_cast<std::uint64_t>(bytes));
}

std::uint64_t hash64_combine(std::uint64_t hash, std::uint64_t value) noexcept {
  return avalanche(hash ^ (round(0, value) + kPrime4 + std::rotl(hash, 17)));
}

}  // namespace cinefactor::detail
