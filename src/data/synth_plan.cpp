// Planning a synthetic dataset (see data/synth_plan.hpp): checking that a preset's sizes can be met,
// user activity, apportioning the ratings over the users and seeding every rated movie into a user.
#include "data/synth_plan.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "cinefactor/error.hpp"
#include "data/synth_random.hpp"

namespace cinefactor::synth {
namespace {

void validate_preset(const SynthPreset& p) {
  const auto fail = [&](const std::string& what) {
    throw InvalidArgument("synthetic preset '" + p.name + "': " + what);
  };
  if (p.users <= 0 || p.rated_movies <= 0) fail("needs users and rated movies");
  if (p.listed_movies < p.rated_movies) fail("lists fewer movies than it rates");
  if (p.ratings < static_cast<std::int64_t>(p.users) * p.min_user_ratings)
    fail("too few ratings for the minimum per user");
  if (p.ratings < p.rated_movies) fail("fewer ratings than rated movies");
  if (p.ratings > static_cast<std::int64_t>(p.users) * p.rated_movies)
    fail("more ratings than (user, movie) pairs");
  if (p.model.free_factors < 0 || p.model.free_factors > kMaxFreeFactors)
    fail("free_factors must be in 0.." + std::to_string(kMaxFreeFactors));
}

// User activity, decided at planning time.
struct UserActivity {
  double raw = 0.0;  // unscaled activity (ratings above the minimum)
  std::int64_t first = 0;
  std::int64_t last = 0;
};

UserActivity user_activity(const SynthPreset& p, std::uint64_t seed, std::int32_t user) {
  Rng rng(hash_key(seed, Stream::user_activity, static_cast<std::uint64_t>(user)));
  const SynthModelParams& m = p.model;
  UserActivity a;
  a.raw = m.activity_median_excess * std::exp(m.activity_sigma * rng.normal());
  const double t0 = static_cast<double>(year_start(m.first_rating_year));
  a.first = static_cast<std::int64_t>(rng.uniform(t0, static_cast<double>(p.snapshot)));
  const double activity = (p.min_user_ratings + a.raw) / p.min_user_ratings;
  const double span = m.span_median_days * kSecondsPerDay * std::exp(m.span_sigma * rng.normal()) *
                      std::pow(activity, m.span_activity_power);
  a.last = std::min<std::int64_t>(p.snapshot, a.first + static_cast<std::int64_t>(span));
  return a;
}

// Splits `excess` ratings over users in proportion to their raw activity, each capped, with exact
// integer totals (largest remainder).
std::vector<std::int64_t> apportion(const std::vector<double>& raw, const std::vector<std::int64_t>& cap,
                                    std::int64_t excess) {
  const std::size_t n = raw.size();
  const auto filled = [&](double s) {
    double sum = 0.0;
    for (std::size_t u = 0; u < n; ++u) sum += std::min(raw[u] * s, static_cast<double>(cap[u]));
    return sum;
  };
  double lo = 0.0, hi = 1.0;
  while (filled(hi) < static_cast<double>(excess)) hi *= 2.0;
  constexpr int kBisections = 100;
  for (int it = 0; it < kBisections; ++it) {
    const double mid = 0.5 * (lo + hi);
    (filled(mid) < static_cast<double>(excess) ? lo : hi) = mid;
  }
  std::vector<std::int64_t> out(n);
  std::vector<double> frac(n);
  std::int64_t sum = 0;
  for (std::size_t u = 0; u < n; ++u) {
    const double x = std::min(raw[u] * hi, static_cast<double>(cap[u]));
    out[u] = static_cast<std::int64_t>(std::floor(x));
    frac[u] = x - static_cast<double>(out[u]);
    sum += out[u];
  }
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::int64_t diff = excess - sum;
  if (diff > 0) {
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return frac[a] > frac[b]; });
    for (std::size_t i = 0; i < n && diff > 0; ++i) {
      if (out[order[i]] < cap[order[i]]) {
        ++out[order[i]];
        --diff;
      }
    }
  } else if (diff < 0) {
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return frac[a] < frac[b]; });
    for (std::size_t i = 0; i < n && diff < 0; ++i) {
      if (out[order[i]] > 0) {
        --out[order[i]];
        ++diff;
      }
    }
  }
  if (diff != 0) throw InvalidArgument("synthetic data: cannot apportion the ratings over the users");
  return out;
}

constexpr int kSeedTries = 64;           // random candidate users tried before scanning for one
constexpr double kMaxSeededShare = 0.5;  // at most this share of a user's list is seeded movies

SynthPlan make_plan(const SynthPreset& p, std::uint64_t seed,
                    Catalog& cat) {  // moves cat.movies into the plan
  validate_preset(p);
  SynthPlan plan;
  plan.preset = p;
  plan.seed = seed;
  const auto nu = static_cast<std::size_t>(p.users);

  std::vector<std::int64_t> release_sorted;
  for (std::size_t k = 0; k < cat.movies.size(); ++k) {
    if (cat.movies[k].rated) release_sorted.push_back(cat.model.traits[k].release);
  }
  std::sort(release_sorted.begin(), release_sorted.end());

  std::vector<double> raw(nu);
  std::vector<std::int64_t> cap(nu);
  plan.user_first_time.resize(nu);
  plan.user_last_time.resize(nu);
  std::int64_t cap_total = 0;
  for (std::size_t u = 0; u < nu; ++u) {
    const UserActivity a = user_activity(p, seed, static_cast<std::int32_t>(u + 1));
    raw[u] = a.raw;
    plan.user_first_time[u] = a.first;
    plan.user_last_time[u] = a.last;
    const auto pool =
        std::upper_bound(release_sorted.begin(), release_sorted.end(), a.last) - release_sorted.begin();
    const auto max_count = static_cast<std::int64_t>(p.model.max_pool_share * static_cast<double>(pool));
    if (max_count < p.min_user_ratings) {
      throw InvalidArgument("synthetic preset '" + p.name + "': user " + std::to_string(u + 1) +
                            " can reach only " + std::to_string(pool) + " movies, too few for " +
                            std::to_string(p.min_user_ratings) + " ratings");
    }
    cap[u] = max_count - p.min_user_ratings;
    cap_total += cap[u];
  }
  const std::int64_t excess = p.ratings - static_cast<std::int64_t>(nu) * p.min_user_ratings;
  if (cap_total < excess) {
    throw InvalidArgument("synthetic preset '" + p.name + "': the users cannot hold " +
                          std::to_string(p.ratings) + " ratings within max_pool_share");
  }
  const auto extra = apportion(raw, cap, excess);
  plan.user_counts.resize(nu);
  for (std::size_t u = 0; u < nu; ++u)
    plan.user_counts[u] = static_cast<std::int32_t>(p.min_user_ratings + extra[u]);

  // Seed every rated movie into one user who was active after its release, preferring heavy users.
  std::vector<double> user_weight(nu);
  for (std::size_t u = 0; u < nu; ++u) user_weight[u] = plan.user_counts[u];
  const AliasTable users(user_weight);
  std::vector<std::int32_t> seeded_by(cat.movies.size(), -1);
  std::vector<std::int32_t> seed_count(nu, 0);
  const auto capacity = [&](std::size_t u) {
    return static_cast<std::int32_t>(kMaxSeededShare * plan.user_counts[u]) - seed_count[u];
  };
  for (std::size_t k = 0; k < cat.movies.size(); ++k) {
    if (!cat.movies[k].rated) continue;
    Rng rng(hash_key(seed, Stream::movie_seed, k));
    const std::int64_t release = cat.model.traits[k].release;
    std::int32_t chosen = -1;
    for (int t = 0; t < kSeedTries && chosen < 0; ++t) {
      const auto u = static_cast<std::size_t>(users.draw(rng));
      if (plan.user_last_time[u] >= release && capacity(u) > 0) chosen = static_cast<std::int32_t>(u);
    }
    if (chosen < 0) {
      std::int32_t best_room = 0;
      for (std::size_t u = 0; u < nu; ++u) {
        if (plan.user_last_time[u] >= release && capacity(u) > best_room) {
          best_room = capacity(u);
          chosen = static_cast<std::int32_t>(u);
        }
      }
    }
    if (chosen < 0) {
      throw InvalidArgument(
          "synthetic preset '" + p.name + "': no user is active late enough to rate movie " +
          std::to_string(cat.movies[k].id) + " (" + std::to_string(cat.movies[k].year) + ")");
    }
    seeded_by[k] = chosen;
    ++seed_count[static_cast<std::size_t>(chosen)];
  }
  plan.seed_offsets.assign(nu + 1, 0);
  for (std::size_t u = 0; u < nu; ++u) plan.seed_offsets[u + 1] = plan.seed_offsets[u] + seed_count[u];
  plan.seed_movies.resize(static_cast<std::size_t>(plan.seed_offsets[nu]));
  std::vector<std::int64_t> fill(plan.seed_offsets.begin(), plan.seed_offsets.end() - 1);
  for (std::size_t k = 0; k < cat.movies.size(); ++k) {
    if (seeded_by[k] >= 0)
      plan.seed_movies[static_cast<std::size_t>(fill[static_cast<std::size_t>(seeded_by[k])]++)] =
          static_cast<std::int32_t>(k);
  }
  plan.movies = std::move(cat.movies);
  return plan;
}

}  // namespace

PlannedDataset plan_dataset(const SynthPreset& preset, std::uint64_t seed) {
  Catalog cat = build_catalog(preset, seed);
  SynthPlan plan = make_plan(preset, seed, cat);
  return {std::move(plan), std::move(cat.model)};
}

}  // namespace cinefactor::synth

namespace cinefactor {

SynthPlan plan_synthetic_dataset(const SynthOptions& options) {
  return synth::plan_dataset(synth_preset(options.preset), options.seed).plan;
}

}  // namespace cinefactor
