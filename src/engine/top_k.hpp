// The host's top-k selection: the k best of a row of scores, skipping excluded movies. The CPU backend
// ranks with it, and eval's top_k() is this function with its arguments checked.
// Order: descending score, lower movie index first on ties, NaN last.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace cinefactor::engine {

struct ScoredMovie {
  float score;
  std::int32_t movie;
};

// Fills `out` (cleared first) with the best `k` candidates of scores[0, n) minus `excluded` (ascending
// movie indices), best first. `heap` is scratch space kept between calls.
void select_top_k(const float* scores, std::int32_t n, std::span<const std::int32_t> excluded, int k,
                  std::vector<ScoredMovie>& heap, std::vector<std::int32_t>& out);

}  // namespace cinefactor::engine
