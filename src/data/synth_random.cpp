// Building the alias tables of the synthetic generator (Vose's method); the draws are inline in
// data/synth_random.hpp.
#include "data/synth_random.hpp"

#include <numeric>

#include "cinefactor/error.hpp"

namespace cinefactor::synth {

AliasTable::AliasTable(const std::vector<double>& weights) {
  const std::size_t n = weights.size();
  entries_.assign(n, {});
  const double total = std::accumulate(weights.begin(), weights.end(), 0.0);
  if (n == 0 || !(total > 0.0)) throw InvalidArgument("synthetic data: empty sampling distribution");
  std::vector<double> scaled(n);
  std::vector<std::int32_t> small, large;
  for (std::size_t i = 0; i < n; ++i) {
    scaled[i] = weights[i] * static_cast<double>(n) / total;
    (scaled[i] < 1.0 ? small : large).push_back(static_cast<std::int32_t>(i));
  }
  while (!small.empty() && !large.empty()) {
    const auto s = small.back();
    small.pop_back();
    const auto l = large.back();
    entries_[static_cast<std::size_t>(s)] = {static_cast<float>(scaled[static_cast<std::size_t>(s)]), l};
    scaled[static_cast<std::size_t>(l)] -= 1.0 - scaled[static_cast<std::size_t>(s)];
    if (scaled[static_cast<std::size_t>(l)] < 1.0) {
      large.pop_back();
      small.push_back(l);
    }
  }
  for (auto i : large) entries_[static_cast<std::size_t>(i)] = {1.0f, i};
  for (auto i : small) entries_[static_cast<std::size_t>(i)] = {1.0f, i};
}

void AliasTable::relabel(const std::vector<std::int32_t>& values) {
  relabelled_.resize(entries_.size());
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    relabelled_[i] = {entries_[i].prob, values[i], values[static_cast<std::size_t>(entries_[i].alias)]};
  }
}

}  // namespace cinefactor::synth
