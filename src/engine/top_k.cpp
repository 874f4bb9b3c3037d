// select_top_k (see top_k.hpp).
#include "engine/top_k.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace cinefactor::engine {
namespace {

// a ranks before b: higher score, or the same score and a lower movie index.
inline bool ranks_before(const ScoredMovie& a, const ScoredMovie& b) {
  return a.score > b.score || (a.score == b.score && a.movie < b.movie);
}

}  // namespace

// Scanning in ascending movie order lets a candidate whose score only ties the current worst be rejected
// by one comparison: its index is higher, so it ranks after.
void select_top_k(const float* scores, std::int32_t n, std::span<const std::int32_t> excluded, int k,
                  std::vector<ScoredMovie>& heap, std::vector<std::int32_t>& out) {
  heap.clear();
  out.clear();
  if (k <= 0) return;
  const auto capacity = static_cast<std::size_t>(k);
  float threshold = -std::numeric_limits<float>::infinity();
  auto scan = [&](std::int32_t begin, std::int32_t end) {
    std::int32_t j = begin;
    for (; j < end && heap.size() < capacity; ++j) {
      const float s = std::isnan(scores[j]) ? -std::numeric_limits<float>::infinity() : scores[j];
      heap.push_back({s, j});
      std::push_heap(heap.begin(), heap.end(), ranks_before);  // front = the worst kept
      if (heap.size() == capacity) threshold = heap.front().score;
    }
    for (; j < end; ++j) {
      const float s = scores[j];
      if (!(s > threshold)) continue;  // also rejects NaN
      std::pop_heap(heap.begin(), heap.end(), ranks_before);
      heap.back() = {s, j};
      std::push_heap(heap.begin(), heap.end(), ranks_before);
      threshold = heap.front().score;
    }
  };
  std::int32_t start = 0;
  for (const auto x : excluded) {
    if (x < start || x >= n) continue;
    scan(start, x);
    start = x + 1;
  }
  scan(start, n);
  std::sort(heap.begin(), heap.end(), ranks_before);
  out.reserve(heap.size());
  for (const auto& e : heap) out.push_back(e.movie);
}

}  // namespace cinefactor::engine
