// Building the synthetic catalog (see data/synth_catalog.hpp): movie attributes by creation index,
// MovieLens-like ids in order of addition to the site, unique external ids, log-normal popularity and
// the movie profiles of the taste model.
#include "data/synth_catalog.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <numeric>
#include <string>

#include "data/synth_random.hpp"
#include "data/synth_titles.hpp"

namespace cinefactor::synth {
namespace {

enum GenreBit : int { kComedy = 4, kDrama = 7, kFilmNoir = 9, kImax = 11, kWestern = 18 };
constexpr double kNoGenreShare = 0.081;  // "(no genres listed)"
constexpr int kFilmNoirFirstYear = 1940;
constexpr int kFilmNoirLastYear = 1959;
constexpr double kFilmNoirEraFactor = 8.0;  // film noir is concentrated in its era
constexpr int kImaxFirstYear = 1995;
constexpr double kImaxEraFactor = 4.0;
constexpr int kWesternPeakLastYear = 1969;
constexpr double kWesternPeakFactor = 3.0;
constexpr double kWesternLateFactor = 0.5;

// Share of catalog movies per decade, 1890s..2010s (ml-25m's catalog leans to recent films).
constexpr int kFirstDecade = 1890;
constexpr std::array<double, 13> kDecadeShare = {0.002, 0.002, 0.005, 0.012, 0.025, 0.030, 0.040,
                                                 0.050, 0.060, 0.080, 0.120, 0.240, 0.334};

int era_of(int year) {
  int era = 0;
  for (int start : kEraStarts) era += year >= start ? 1 : 0;
  return era;
}

// MovieLens ids are in order of addition to the site: films up to its launch were added first, later
// ones roughly as they came out.
constexpr int kSiteLaunchYear = 1995;
constexpr double kBacklogAddYears = 4.0;  // mean delay before an older film is added
constexpr double kRecentAddYears = 0.7;   // mean delay for a new release

// IMDb ids grow with the time a title was registered; anchor points of tt-number against year.
constexpr std::array<std::pair<int, double>, 7> kImdbAnchors = {{{1890, 1.0e3},
                                                                 {1950, 4.0e4},
                                                                 {1980, 8.0e4},
                                                                 {1995, 1.1e5},
                                                                 {2005, 4.0e5},
                                                                 {2012, 2.0e6},
                                                                 {2020, 6.0e6}}};
constexpr double kImdbSpread = 0.5;           // log-normal spread around the anchor curve
constexpr std::int64_t kImdbMax = 9'000'000;  // below the 7-digit limit, leaving room for unique bumps
// TMDb ids: small for classics, large for recent films.
constexpr std::array<std::pair<int, double>, 5> kTmdbAnchors = {
    {{1890, 2.0e4}, {1980, 2.0e4}, {2000, 3.0e4}, {2010, 8.0e4}, {2020, 6.0e5}}};
constexpr double kTmdbSpread = 0.8;

template <std::size_t N>
double anchor_curve(const std::array<std::pair<int, double>, N>& anchors, int year) {
  if (year <= anchors.front().first) return anchors.front().second;
  for (std::size_t i = 1; i < N; ++i) {
    if (year <= anchors[i].first) {
      const double t =
          static_cast<double>(year - anchors[i - 1].first) / (anchors[i].first - anchors[i - 1].first);
      return std::exp(std::log(anchors[i - 1].second) * (1 - t) + std::log(anchors[i].second) * t);
    }
  }
  return anchors.back().second;
}

}  // namespace

Catalog build_catalog(const SynthPreset& p, std::uint64_t seed) {
  const auto n = static_cast<std::size_t>(p.listed_movies);
  const SynthModelParams& m = p.model;
  const int last_year = year_of(p.snapshot);
  const AliasTable decades(std::vector<double>(kDecadeShare.begin(), kDecadeShare.end()));

  // Attributes by creation index.
  std::vector<SynthMovie> made(n);
  std::vector<double> add_key(n);
  for (std::size_t i = 0; i < n; ++i) {
    Rng rng(hash_key(seed, Stream::catalog, i));
    SynthMovie& mv = made[i];
    int year = kFirstDecade + 10 * decades.draw(rng) + static_cast<int>(rng.below(10));
    year = std::min(year, last_year);
    mv.year = year;
    if (!rng.bernoulli(kNoGenreShare)) {
      for (int g = 0; g < kGenres; ++g) {
        double share = kGenreShare[static_cast<std::size_t>(g)];
        if (g == kFilmNoir)
          share =
              (year >= kFilmNoirFirstYear && year <= kFilmNoirLastYear) ? share * kFilmNoirEraFactor : 0.0;
        if (g == kImax) share = year >= kImaxFirstYear ? share * kImaxEraFactor : 0.0;
        if (g == kWestern) share *= year <= kWesternPeakLastYear ? kWesternPeakFactor : kWesternLateFactor;
        if (rng.bernoulli(share)) mv.genre_mask |= 1u << g;
      }
      if (mv.genre_mask == 0) {
        mv.genre_mask =
            1u << (rng.bernoulli(kGenreShare[kDrama] / (kGenreShare[kDrama] + kGenreShare[kComedy]))
                       ? kDrama
                       : kComedy);
      }
    }
    mv.title = make_title(rng) + " (" + std::to_string(year) + ")";
    const double imdb = anchor_curve(kImdbAnchors, year) * std::exp(kImdbSpread * rng.normal());
    mv.imdb_id = std::clamp<std::int64_t>(static_cast<std::int64_t>(imdb), 1, kImdbMax);
    const double tmdb = anchor_curve(kTmdbAnchors, year) * std::exp(kTmdbSpread * rng.normal());
    mv.tmdb_id =
        rng.bernoulli(m.tmdb_missing_share) ? 0 : std::max<std::int64_t>(2, static_cast<std::int64_t>(tmdb));
    add_key[i] = year <= kSiteLaunchYear ? kSiteLaunchYear + rng.exponential(kBacklogAddYears)
                                         : year + rng.exponential(kRecentAddYears);
  }

  // Id order: by time of addition; ids grow by 1 + an exponential gap.
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return add_key[a] < add_key[b]; });
  Catalog cat;
  cat.movies.resize(n);
  std::int64_t id = 0;
  for (std::size_t k = 0; k < n; ++k) {
    Rng rng(hash_key(seed, Stream::movie_id_gap, k));
    id = k == 0 ? 1 : id + 1 + static_cast<std::int64_t>(rng.exponential(std::max(0.0, p.mean_id_gap - 1.0)));
    cat.movies[k] = std::move(made[order[k]]);
    cat.movies[k].id = id;
  }
  // External ids are unique: bump collisions upward in id order.
  for (auto field : {&SynthMovie::imdb_id, &SynthMovie::tmdb_id}) {
    std::vector<std::size_t> by_value(n);
    std::iota(by_value.begin(), by_value.end(), 0);
    std::stable_sort(by_value.begin(), by_value.end(), [&](std::size_t a, std::size_t b) {
      return cat.movies[a].*field < cat.movies[b].*field;
    });
    std::int64_t prev = 0;
    for (auto k : by_value) {
      auto& v = cat.movies[k].*field;
      if (v == 0) continue;  // missing tmdbId
      if (v <= prev) v = prev + 1;
      prev = v;
    }
  }

  // Popularity: log-normal weights; the least popular listed movies stay unrated.
  std::vector<std::pair<double, std::size_t>> z_pop(n);
  for (std::size_t k = 0; k < n; ++k) {
    Rng rng(hash_key(seed, Stream::popularity_rank, k));
    z_pop[k] = {rng.normal(), k};
  }
  std::sort(z_pop.begin(), z_pop.end(), std::greater<>());
  MovieModel& mm = cat.model;
  mm.weight.assign(n, 0.0);
  mm.log_weight.assign(n, -INFINITY);
  std::vector<double> z_of(n, 0.0);
  for (std::size_t r = 0; r < static_cast<std::size_t>(p.rated_movies); ++r) {
    const auto k = z_pop[r].second;
    z_of[k] = z_pop[r].first;
    const double z = std::min(z_of[k], m.popularity_z_cap);
    mm.log_weight[k] = (z >= 0 ? m.popularity_sigma : m.popularity_sigma_low) * z;
    mm.weight[k] = std::exp(mm.log_weight[k]);
    cat.movies[k].rated = true;
  }

  const auto nf = static_cast<std::size_t>(m.free_factors);
  mm.traits.resize(n);
  for (std::size_t k = 0; k < n; ++k) {
    Rng rng(hash_key(seed, Stream::movie_profile, static_cast<std::uint64_t>(cat.movies[k].id)));
    const SynthMovie& mv = cat.movies[k];
    MovieTraits& t = mm.traits[k];
    t.genre_mask = mv.genre_mask;
    const int ng = std::popcount(mv.genre_mask);
    t.genre_norm = ng > 0 ? static_cast<float>(1.0 / std::sqrt(ng)) : 0.0f;
    t.era = era_of(mv.year);
    t.release = year_start(mv.year);
    t.bias = static_cast<float>(m.movie_bias_sd * rng.normal() + m.popularity_bias * z_of[k]);
    for (std::size_t f = 0; f < nf; ++f) t.free[f] = static_cast<float>(m.free_factor_sd * rng.normal());
  }
  return cat;
}

}  // namespace cinefactor::synth
