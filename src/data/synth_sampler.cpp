// The sampler of the synthetic generator (see data/synth_sampler.hpp).
#include "data/synth_sampler.hpp"

#include <omp.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <numeric>
#include <string>

#include "cinefactor/error.hpp"

namespace cinefactor::synth {
namespace {

// When a user needs more than this share of their reachable movies, they are drawn by exact weighted
// sampling without replacement over the whole pool instead of by rejection.
constexpr double kDenseSelectionShare = 1.0 / 8.0;
// Rejection sampling gives up (and switches to the exact method) after this many draws per rating.
constexpr std::int64_t kMaxDrawsPerRating = 64;
constexpr std::int64_t kMinDrawBudget = 4096;
// How many candidate draws are in flight (see the prefetching in draw_user).
constexpr std::size_t kAhead = 8;

// Users whose raw scores set the half-star thresholds: every user up to this many, else an even sample.
constexpr std::size_t kCalibrationUsers = 8192;

}  // namespace

inline std::int64_t Generator::release(std::int32_t k) const {
  return mm_.traits[static_cast<std::size_t>(k)].release;
}

inline void Generator::prefetch_movie(const Workspace& ws, std::int32_t k) const {
  __builtin_prefetch(&ws.stamp[static_cast<std::size_t>(k)]);
  __builtin_prefetch(&mm_.traits[static_cast<std::size_t>(k)]);
}

void Generator::make_taste(std::size_t u, UserTaste& t) const {
  Rng rng(hash_key(plan_.seed, Stream::user_taste, u + 1));
  for (auto& g : t.genre) g = static_cast<float>(m_.genre_taste_sd * rng.normal());
  // The favourite genre is drawn in proportion to how common the genre is.
  double x = rng.uniform() * std::accumulate(kGenreShare.begin(), kGenreShare.end(), 0.0);
  std::size_t fav = 0;
  while (fav + 1 < kGenreShare.size() && x >= kGenreShare[fav]) x -= kGenreShare[fav++];
  t.genre[fav] += static_cast<float>(m_.favourite_genre_boost);
  for (auto& e : t.era) e = static_cast<float>(m_.era_taste_sd * rng.normal());
  for (auto& f : t.free) f = static_cast<float>(m_.free_factor_sd * rng.normal());
  t.bias = static_cast<float>(m_.user_bias_sd * rng.normal());
}

inline float Generator::taste_of(const UserTaste& t, std::int32_t k) const {
  const MovieTraits& mt = mm_.traits[static_cast<std::size_t>(k)];
  float g = 0.0f;
  for (std::uint32_t mask = mt.genre_mask; mask != 0; mask &= mask - 1) {
    g += t.genre[static_cast<std::size_t>(std::countr_zero(mask))];
  }
  float s = g * mt.genre_norm + t.era[static_cast<std::size_t>(mt.era)];
  for (std::size_t f = 0; f < nf_; ++f) s += t.free[f] * mt.free[f];
  return s;
}

inline double Generator::keep_probability(float taste) const {
  return 1.0 / (1.0 + std::exp(-m_.choice_sharpness * taste));
}

Generator::Generator(const SynthPlan& plan, MovieModel model)
    : plan_(plan),
      m_(plan.preset.model),
      mm_(std::move(model)),
      nf_(static_cast<std::size_t>(m_.free_factors)) {
  for (std::size_t k = 0; k < mm_.weight.size(); ++k) {
    if (mm_.weight[k] > 0.0) rated_.push_back(static_cast<std::int32_t>(k));
  }
  std::stable_sort(rated_.begin(), rated_.end(),
                   [&](std::int32_t a, std::int32_t b) { return release(a) < release(b); });
  // The movies a user can rate are those released by their last day: a prefix of rated_ that only
  // depends on the year of that day. One alias table per year draws from exactly that prefix.
  first_year_ = year_of(*std::min_element(plan.user_last_time.begin(), plan.user_last_time.end()));
  const int last_year = year_of(*std::max_element(plan.user_last_time.begin(), plan.user_last_time.end()));
  std::vector<double> weights;
  std::size_t prefix = 0;
  for (int year = first_year_; year <= last_year; ++year) {
    while (prefix < rated_.size() && release(rated_[prefix]) < year_start(year + 1)) {
      weights.push_back(mm_.weight[static_cast<std::size_t>(rated_[prefix])]);
      ++prefix;
    }
    pool_size_.push_back(prefix);
    pools_.emplace_back(weights);
    pools_.back().relabel(rated_);
  }
}

void Generator::init_workspace(Workspace& ws) const {
  ws.stamp.assign(mm_.weight.size(), 0);
  ws.taste.free.resize(nf_);
}

void Generator::draw_user(std::size_t u, Workspace& ws) const {
  const auto user_tag = static_cast<std::int32_t>(u + 1);
  make_taste(u, ws.taste);
  Rng rng(hash_key(plan_.seed, Stream::user_draws, u + 1));
  const std::int64_t first = plan_.user_first_time[u];
  const std::int64_t last = plan_.user_last_time[u];
  const auto count = static_cast<std::size_t>(plan_.user_counts[u]);
  ws.picks.clear();
  const auto add = [&](std::int32_t k, float taste) {
    ws.stamp[static_cast<std::size_t>(k)] = user_tag;
    ws.picks.push_back({k, taste, 0});
  };
  for (auto s = plan_.seed_offsets[u]; s < plan_.seed_offsets[u + 1]; ++s) {
    const auto k = plan_.seed_movies[static_cast<std::size_t>(s)];
    add(k, taste_of(ws.taste, k));
  }
  const auto year_index = static_cast<std::size_t>(year_of(last) - first_year_);
  const std::size_t pool = pool_size_[year_index];
  const AliasTable& table = pools_[year_index];
  bool dense =
      static_cast<double>(count - ws.picks.size()) > kDenseSelectionShare * static_cast<double>(pool);
  if (!dense) {
    const std::int64_t budget =
        kMinDrawBudget + kMaxDrawsPerRating * static_cast<std::int64_t>(count - ws.picks.size());
    // Draws are random memory accesses; they are made kAhead steps early and their table slot,
    // then their movie, prefetched, so that the misses overlap. The candidate sequence is the same
    // as drawing one at a time from `candidates`.
    Rng candidates(hash_key(plan_.seed, Stream::user_candidates, u + 1));
    std::array<std::uint64_t, kAhead> slot_bits;
    std::array<std::int32_t, kAhead> movies;
    for (std::size_t i = 0; i < kAhead; ++i) {
      slot_bits[i] = candidates.next();
      __builtin_prefetch(table.label_address(slot_bits[i]));
    }
    for (std::size_t i = 0; i < kAhead; ++i) {
      movies[i] = table.resolve_label(slot_bits[i]);
      prefetch_movie(ws, movies[i]);
      slot_bits[i] = candidates.next();
      __builtin_prefetch(table.label_address(slot_bits[i]));
    }
    std::int64_t draws = 0;
    for (std::size_t i = 0; ws.picks.size() < count; i = (i + 1) % kAhead) {
      if (++draws > budget) {
        dense = true;
        break;
      }
      const std::int32_t k = movies[i];
      movies[i] = table.resolve_label(slot_bits[i]);
      prefetch_movie(ws, movies[i]);
      slot_bits[i] = candidates.next();
      __builtin_prefetch(table.label_address(slot_bits[i]));
      if (ws.stamp[static_cast<std::size_t>(k)] == user_tag) continue;
      const float taste = taste_of(ws.taste, k);
      if (rng.uniform() < keep_probability(taste)) add(k, taste);
    }
  }
  if (dense) {
    // Efraimidis-Spirakis: the `need` smallest keys log(E) - log(weight * keep) over the pool, E ~ Exp(1).
    const std::size_t need = count - ws.picks.size();
    ws.keys.clear();
    for (std::size_t i = 0; i < pool; ++i) {
      const auto k = rated_[i];
      if (ws.stamp[static_cast<std::size_t>(k)] == user_tag) continue;
      const float taste = taste_of(ws.taste, k);
      const double key = std::log(-std::log(rng.uniform())) - mm_.log_weight[static_cast<std::size_t>(k)] -
                         std::log(keep_probability(taste));
      ws.keys.emplace_back(key, k);
    }
    if (ws.keys.size() < need) {
      throw Error("synthetic data: user " + std::to_string(u + 1) + " needs " + std::to_string(count) +
                  " movies but only " + std::to_string(pool) + " are reachable");
    }
    std::nth_element(ws.keys.begin(), ws.keys.begin() + static_cast<std::ptrdiff_t>(need), ws.keys.end());
    for (std::size_t i = 0; i < need; ++i) add(ws.keys[i].second, taste_of(ws.taste, ws.keys[i].second));
  }
  std::sort(ws.picks.begin(), ws.picks.end(), [](const Pick& a, const Pick& b) { return a.movie < b.movie; });
  // Scores and times are drawn in movie order, so they do not depend on how the movies were chosen.
  for (Pick& pk : ws.picks) {
    const MovieTraits& t = mm_.traits[static_cast<std::size_t>(pk.movie)];
    pk.score = ws.taste.bias + t.bias + pk.score + static_cast<float>(m_.noise_sd * rng.normal());
    const std::int64_t from = std::max(first, t.release);
    const std::int64_t time =
        from + static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(last - from + 1)));
    pk.time = static_cast<std::uint32_t>(time);
  }
}

std::array<float, kHalfStarLevels - 1> calibrate(const Generator& gen, const SynthPlan& plan, int threads) {
  const std::size_t nu = plan.user_counts.size();
  const std::size_t sample = std::min(nu, kCalibrationUsers);
  std::vector<std::vector<float>> scores(sample);
  std::vector<Workspace> ws(static_cast<std::size_t>(threads));
#pragma omp parallel num_threads(threads)
  {
    Workspace& w = ws[static_cast<std::size_t>(omp_get_thread_num())];
    gen.init_workspace(w);
#pragma omp for schedule(dynamic, 16)
    for (std::size_t i = 0; i < sample; ++i) {
      const std::size_t u = i * nu / sample;
      gen.draw_user(u, w);
      for (const Pick& pk : w.picks) scores[i].push_back(pk.score);
    }
  }
  std::vector<float> all;
  for (auto& s : scores) all.insert(all.end(), s.begin(), s.end());
  const auto& h = plan.preset.histogram;
  const double total = std::accumulate(h.begin(), h.end(), 0.0);
  std::array<float, kHalfStarLevels - 1> thresholds{};
  double cum = 0.0;
  for (int level = 0; level + 1 < kHalfStarLevels; ++level) {
    cum += h[static_cast<std::size_t>(level)] / total;
    const auto pos =
        std::min(all.size() - 1, static_cast<std::size_t>(cum * static_cast<double>(all.size())));
    std::nth_element(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(pos), all.end());
    thresholds[static_cast<std::size_t>(level)] = all[pos];
  }
  return thresholds;
}

}  // namespace cinefactor::synth
