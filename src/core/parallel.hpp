// The thread count of the library's OpenMP regions.
#pragma once

#include <omp.h>

#include <algorithm>

namespace cinefactor {

// The thread count an OpenMP region uses for `threads` (0 = all cores).
inline int resolve_threads(int threads) noexcept {
  return threads > 0 ? threads : std::max(1, omp_get_max_threads());
}

}  // namespace cinefactor
