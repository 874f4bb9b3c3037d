// A fast 64-bit checksum for binary files (the dataset cache): a multiply-rotate hash in the style of
// XXH64 over 4 independent lanes, and a block-parallel form whose value does not depend on the number
// of threads. Detects corruption; not a cryptographic hash. Internal to the library.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cinefactor::detail {

std::uint64_t hash64(const void* data, std::size_t bytes, std::uint64_t seed = 0) noexcept;

// Hashes fixed-size blocks in parallel (OpenMP) and then the list of block hashes.
std::uint64_t hash64_parallel(const void* data, std::size_t bytes, std::uint64_t seed = 0) noexcept;

// Folds `value` into a running hash.
std::uint64_t hash64_combine(std::uint64_t hash, std::uint64_t value) noexcept;

}  // namespace cinefactor::detail
