// Randomness of the synthetic generator: counter-based generators keyed by (seed, stream, entity),
// so that every user's and movie's draws are independent of the thread count and of the order in
// which entities are processed, and Vose's alias tables for O(1) draws from discrete distributions.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

namespace cinefactor::synth {

// A splitmix64 finaliser hashes (seed, stream, key) into the state of a small per-entity generator.
inline constexpr std::uint64_t kGolden = 0x9e3779b97f4a7c15ULL;

constexpr std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// One independent stream of draws per purpose.
enum class Stream : std::uint64_t {
  catalog = 1,
  movie_profile,
  popularity_rank,
  movie_id_gap,
  user_activity,
  user_taste,
  user_draws,
  user_candidates,
  movie_seed,
};

inline std::uint64_t hash_key(std::uint64_t seed, Stream stream, std::uint64_t key) {
  std::uint64_t h = mix64(seed + kGolden);
  h = mix64(h ^ (static_cast<std::uint64_t>(stream) * kGolden));
  return mix64(h + key * kGolden + 1);
}

class Rng {
 public:
  explicit Rng(std::uint64_t state) : state_(state) {}
  std::uint64_t next() {
    state_ += kGolden;
    return mix64(state_);
  }
  // Uniform in (0, 1): never 0, so logarithms are safe.
  double uniform() { return (static_cast<double>(next() >> 11) + 0.5) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Uniform integer in [0, n) for n <= 2^32 (multiply-shift; every range here is far below that).
  std::uint64_t below(std::uint64_t n) { return ((next() >> 32) * n) >> 32; }
  double normal() {
    // Box-Muller; the second value is dropped to keep the stream position simple to reason about.
    const double u1 = uniform();
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
  }
  double exponential(double mean) { return -mean * std::log(uniform()); }
  bool bernoulli(double p) { return uniform() < p; }

 private:
  std::uint64_t state_;
};

// Vose's alias method: O(1) draws from a fixed discrete distribution.
class AliasTable {
 public:
  AliasTable() = default;
  // Throws InvalidArgument when the weights are empty or sum to nothing.
  explicit AliasTable(const std::vector<double>& weights);

  // One 64-bit draw: the high half picks the slot, the low 24 bits the coin.
  std::int32_t draw(Rng& rng) const { return resolve(rng.next()); }
  std::size_t slot(std::uint64_t bits) const {
    return static_cast<std::size_t>(((bits >> 32) * entries_.size()) >> 32);
  }
  std::int32_t resolve(std::uint64_t bits) const {
    const auto i = slot(bits);
    const float coin = static_cast<float>(bits & kCoinMask) * kCoinScale;
    return coin < entries_[i].prob ? static_cast<std::int32_t>(i) : entries_[i].alias;
  }
  // Relabels outcomes: draws then return values[i] instead of i (the table stays a flat array, so a
  // draw touches one cache line instead of two).
  void relabel(const std::vector<std::int32_t>& values);
  std::int32_t resolve_label(std::uint64_t bits) const {
    const auto& e = relabelled_[slot(bits)];
    const float coin = static_cast<float>(bits & kCoinMask) * kCoinScale;
    return coin < e.prob ? e.self : e.alias;
  }
  // Where resolve_label(bits) will read, so that a caller can prefetch it long before.
  const void* label_address(std::uint64_t bits) const { return &relabelled_[slot(bits)]; }

 private:
  static constexpr std::uint64_t kCoinMask = (1u << 24) - 1;
  static constexpr float kCoinScale = 1.0f / (1u << 24);
  struct Entry {
    float prob = 1.0f;
    std::int32_t alias = 0;
  };
  struct Labelled {
    float prob;
    std::int32_t self;
    std::int32_t alias;
  };
  std::vector<Entry> entries_;
  std::vector<Labelled> relabelled_;
};

}  // namespace cinefactor::synth
