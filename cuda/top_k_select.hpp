// The ranking order and the bounded best-first candidate list of the GPU top-k (cuda/ranking_kernels.cu),
// written once for the device and the host: the kernel runs it in every thread, and the tests run the
// same functions on the host against the CPU ranking (tests/test_metrics.cpp). Plain C++ that nvcc and
// the host compiler both read; no project headers.
//
// The order is the one of ranking_metrics (include/cinefactor/metrics.hpp): higher score first, equal
// scores by lower movie index, NaN as -infinity (so after every real score, by index).
#pragma once

#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define CINEFACTOR_HOST_DEVICE __host__ __device__
#else
#define CINEFACTOR_HOST_DEVICE
#endif

namespace cinefactor::engine {

struct RankedCandidate {
  float score;
  std::int32_t movie;
};

// No candidate: ranks after every real one (a real movie index is below INT32_MAX).
inline constexpr std::int32_t kNoCandidate = 2147483647;

CINEFACTOR_HOST_DEVICE inline RankedCandidate no_candidate() {
  return {-INFINITY, kNoCandidate};
}

// A score as ranked: NaN becomes -infinity.
CINEFACTOR_HOST_DEVICE inline float ranking_score(float s) {
  return s != s ? -INFINITY : s;
}

// Whether a ranks before b (scores already through ranking_score).
CINEFACTOR_HOST_DEVICE inline bool ranks_before(const RankedCandidate& a, const RankedCandidate& b) {
  return a.score > b.score || (a.score == b.score && a.movie < b.movie);
}

// Inserts c into list[0, *length), kept best first and at most `capacity` long; c is dropped when the
// list is full and c does not rank before its last entry.
CINEFACTOR_HOST_DEVICE inline void insert_candidate(RankedCandidate* list, int* length, int capacity,
                                                    RankedCandidate c) {
  int at = *length;
  if (at == capacity) {
    if (!ranks_before(c, list[capacity - 1])) return;
    at = capacity - 1;
  } else {
    *length = at + 1;
  }
  while (at > 0 && ranks_before(c, list[at - 1])) {
    list[at] = list[at - 1];
    --at;
  }
  list[at] = c;
}

}  // namespace cinefactor::engine
