// Synthetic MovieLens-like dataset generator (see include/cinefactor/synth.hpp).
//
// Generation runs in three steps:
//  1. Plan (single-threaded, cheap): the catalog (titles, years, genres, ids with gaps, links), each
//     user's activity window and exact rating count (lognormal activity scaled to the exact total
//     with a largest-remainder correction, capped by the movies available to the user), and the
//     seeding of every rated movie into one user's list so that each gets at least one rating.
//  2. Calibration: the raw scores of a fixed sample of users are drawn and the half-star thresholds
//     are set at the quantiles of the target histogram (quantile mapping).
//  3. Draw and write (parallel over users): each user draws the rest of their movies from the
//     popularity distribution (alias table), keeps a draw with probability sigmoid(sharpness * taste),
//     skips movies released after their last day, scores every movie and formats the lines.
// Each user's draws come from a generator seeded by hashing (seed, stream, user), so the output does
// not depend on the number of threads or on the order in which users are processed.
#include "cinefactor/synth.hpp"

#include <fcntl.h>
#include <omp.h>
#include <spdlog/spdlog.h>
#include <stdio.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <numeric>

#include "cinefactor/error.hpp"
#include "cinefactor/progress.hpp"
#include "core/atomic_file.hpp"

namespace cinefactor {
namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------
// Counter-based randomness: a splitmix64 finaliser hashes (seed, stream, key) into the state of a
// small per-entity generator.

constexpr std::uint64_t kGolden = 0x9e3779b97f4a7c15ULL;

constexpr std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

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

std::uint64_t hash_key(std::uint64_t seed, Stream stream, std::uint64_t key) {
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
  explicit AliasTable(const std::vector<double>& weights) {
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
  void relabel(const std::vector<std::int32_t>& values) {
    relabelled_.resize(entries_.size());
    for (std::size_t i = 0; i < entries_.size(); ++i) {
      relabelled_[i] = {entries_[i].prob, values[i], values[static_cast<std::size_t>(entries_[i].alias)]};
    }
  }
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

// ---------------------------------------------------------------------------------------------
// Catalog shape: MovieLens genres and their shares of ml-25m's catalog, decades of release.

constexpr std::array<std::string_view, 19> kGenreNames = {
    "Action",  "Adventure", "Animation", "Children", "Comedy", "Crime",   "Documentary",
    "Drama",   "Fantasy",   "Film-Noir", "Horror",   "IMAX",   "Musical", "Mystery",
    "Romance", "Sci-Fi",    "Thriller",  "War",      "Western"};
constexpr int kGenres = static_cast<int>(kGenreNames.size());
enum GenreBit : int {
  kAction = 0,
  kComedy = 4,
  kDocumentary = 6,
  kDrama = 7,
  kFilmNoir = 9,
  kImax = 11,
  kWestern = 18
};
// Share of ml-25m's 62,423 movies carrying each genre.
constexpr std::array<double, kGenres> kGenreShare = {0.118, 0.066, 0.047, 0.047, 0.270, 0.085, 0.090,
                                                     0.410, 0.044, 0.006, 0.096, 0.003, 0.017, 0.047,
                                                     0.124, 0.058, 0.139, 0.030, 0.022};
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
// Eras of taste: pre-1960, 1960s-70s, 1980s, 1990s, 2000s, 2010s.
constexpr std::array<int, 5> kEraStarts = {1960, 1980, 1990, 2000, 2010};
constexpr int kEras = static_cast<int>(kEraStarts.size()) + 1;

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

constexpr std::int64_t kSecondsPerDay = 86400;

std::int64_t year_start(int year) {
  // Days from 1970-01-01 to Jan 1 of `year` (proleptic Gregorian), times seconds per day.
  const auto days = [](std::int64_t y) { return 365 * y + y / 4 - y / 100 + y / 400; };
  const std::int64_t y = year - 1;
  return (days(y) - days(1969)) * kSecondsPerDay;
}

int year_of(std::int64_t unix_time) {
  int year = 1970;
  while (year_start(year + 1) <= unix_time) ++year;
  return year;
}

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

// ---------------------------------------------------------------------------------------------
// Titles: word lists and patterns. MovieLens moves a leading article to the end ("Matrix, The").

constexpr std::string_view kAdjectives[] = {
    "Silent",   "Broken",      "Last",       "Hidden",   "Crimson",   "Golden",   "Dark",      "Lost",
    "Wild",     "Secret",      "Final",      "Burning",  "Frozen",    "Endless",  "Forgotten", "Distant",
    "Electric", "Savage",      "Quiet",      "Midnight", "Iron",      "Silver",   "Little",    "Dangerous",
    "Perfect",  "Lonely",      "Brave",      "Strange",  "Sweet",     "Bitter",   "Deadly",    "Eternal",
    "Fallen",   "Hollow",      "Restless",   "Scarlet",  "Shattered", "Sleeping", "Stolen",    "Velvet",
    "Wicked",   "Young",       "American",   "Northern", "Blue",      "Black",    "White",     "Red",
    "Green",    "Invisible",   "Impossible", "Crooked",  "Gentle",    "Hungry",   "Reckless",  "Royal",
    "Twisted",  "Dead",        "Happy",      "Big",      "Great",     "Long",     "Cold",      "Hot",
    "Lucky",    "Magnificent", "Naked",      "Open",     "Private"};
constexpr std::string_view kNouns[] = {
    "River",     "City",    "Night",    "Road",    "Heart",    "Storm",   "Shadow", "Dream",    "Kingdom",
    "Garden",    "Island",  "Mountain", "Summer",  "Winter",   "Highway", "Hunter", "Stranger", "Journey",
    "Promise",   "Mirror",  "Empire",   "Ocean",   "Forest",   "Legacy",  "Secret", "Fire",     "Rain",
    "Star",      "Moon",    "Sun",      "Game",    "War",      "Machine", "Angel",  "Ghost",    "Witness",
    "Detective", "Soldier", "Thief",    "Lover",   "Witch",    "King",    "Queen",  "Prince",   "Doctor",
    "Killer",    "Spy",     "Dragon",   "Wolf",    "Tiger",    "Horse",   "Bird",   "House",    "Hotel",
    "Train",     "Station", "Bridge",   "Tower",   "Castle",   "Harbor",  "Desert", "Valley",   "Frontier",
    "Planet",    "Galaxy",  "Signal",   "Code",    "Contract", "Verdict", "Escape", "Return",   "Revenge",
    "Silence",   "Memory",  "Wedding",  "Funeral", "Holiday",  "Party",   "Season", "Affair",   "Line",
    "Edge",      "Circle",  "Gate",     "Window",  "Door",     "Letter",  "Song",   "Dance",    "Voice",
    "Blood",     "Gold"};
constexpr std::string_view kNames[] = {
    "Harry",  "Annie", "Charlie", "Lola",  "Max",   "Rosemary", "Jack",   "Emma",  "Frank",  "Grace",
    "Billy",  "Lucy",  "Eddie",   "Mary",  "Oscar", "Nina",     "Walter", "Ruby",  "Sam",    "Vera",
    "Johnny", "Kate",  "Tom",     "Alice", "Henry", "Jules",    "Marty",  "Ellen", "Victor", "Stella"};
constexpr std::string_view kPlaces[] = {
    "Paris",     "Brooklyn", "Texas",     "Tokyo",      "Berlin",    "Chicago", "Rome",
    "Alaska",    "Vegas",    "Havana",    "Casablanca", "Manhattan", "Memphis", "Nevada",
    "Moscow",    "Venice",   "Vienna",    "Bombay",     "Dublin",    "Montana", "Saigon",
    "Marseille", "Oklahoma", "Hollywood", "Shanghai",   "Istanbul",  "Cairo",   "Sydney"};
constexpr std::string_view kSequels[] = {"II", "III", "2", "3", "Part II", "Returns", "Reloaded", "Forever"};

template <std::size_t N>
std::string_view pick(Rng& rng, const std::string_view (&words)[N]) {
  return words[rng.below(N)];
}

enum class TitlePattern {
  the_adj_noun,
  adj_noun,
  noun_of_the_noun,
  name_s_noun,
  adj_nouns,
  a_noun_in_place,
  subtitle,
  three_nouns,
  place_noun,
  the_noun,
  sequel,
  quoted_nickname
};
// Relative frequency of each pattern, in enum order. A leading "The"/"A" becomes ", The" at the end,
// so about a quarter of the titles carry a comma (RFC-4180 quoting), a few carry quotes.
constexpr std::array<double, 12> kTitlePatternShare = {0.12, 0.19, 0.10, 0.08, 0.12, 0.05,
                                                       0.08, 0.02, 0.10, 0.08, 0.05, 0.01};

std::string make_title(Rng& rng) {
  static const AliasTable patterns(std::vector<double>(kTitlePatternShare.begin(), kTitlePatternShare.end()));
  const auto word = [&](const auto& list) { return std::string(pick(rng, list)); };
  switch (static_cast<TitlePattern>(patterns.draw(rng))) {
    case TitlePattern::the_adj_noun:
      return word(kAdjectives) + " " + word(kNouns) + ", The";
    case TitlePattern::adj_noun:
      return word(kAdjectives) + " " + word(kNouns);
    case TitlePattern::noun_of_the_noun:
      return word(kNouns) + " of the " + word(kNouns);
    case TitlePattern::name_s_noun:
      return word(kNames) + "'s " + word(kNouns);
    case TitlePattern::adj_nouns:
      return word(kAdjectives) + " " + word(kNouns) + "s";
    case TitlePattern::a_noun_in_place:
      return word(kNouns) + " in " + word(kPlaces) + ", A";
    case TitlePattern::subtitle:
      return word(kNouns) + ": The " + word(kAdjectives) + " " + word(kNouns);
    case TitlePattern::three_nouns:
      return word(kNouns) + ", " + word(kNouns) + " and " + word(kNouns);
    case TitlePattern::place_noun:
      return word(kPlaces) + " " + word(kNouns);
    case TitlePattern::the_noun:
      return word(kNouns) + ", The";
    case TitlePattern::sequel:
      return word(kAdjectives) + " " + word(kNouns) + " " + word(kSequels);
    case TitlePattern::quoted_nickname:
      return "\"" + word(kAdjectives) + "\" " + word(kNames);
  }
  return word(kNouns);
}

// ---------------------------------------------------------------------------------------------
// Presets.

// ml-25m's published rating histogram (ratings per half-star level 0.5..5.0).
constexpr std::array<double, kHalfStarLevels> kMl25mHistogram = {393068,  776815,  399490,  1640868, 1262797,
                                                                 4896928, 3177318, 6639798, 2200539, 3612474};
// ml-latest-small's histogram.
constexpr std::array<double, kHalfStarLevels> kMlSmallHistogram = {1370,  2811,  1791,  7551, 5550,
                                                                   20047, 13136, 26818, 8551, 13211};

constexpr double kMl25mPopularitySigma = 2.8;
constexpr double kMl25mPopularityZCap = 3.3;

std::vector<SynthPreset> build_presets() {
  SynthPreset small;
  small.name = "small";
  small.description =
      "the shape of ml-latest-small: 610 users, 9,724 rated movies (9,742 listed), 100,836 ratings";
  small.users = 610;
  small.listed_movies = 9742;
  small.rated_movies = 9724;
  small.ratings = 100836;
  small.mean_id_gap = 19.9;
  small.snapshot = 1537799250;  // 2018-09-24, ml-latest-small's last rating
  small.histogram = kMlSmallHistogram;

  SynthPreset big;
  big.name = "ml-25m";
  big.description =
      "the size of ml-25m: 162,541 users, 59,047 rated movies (62,423 listed), 25,000,095 ratings";
  big.users = 162541;
  big.listed_movies = 62423;
  big.rated_movies = 59047;
  big.ratings = 25000095;
  big.mean_id_gap = 3.35;
  big.snapshot = 1574327703;  // 2019-11-21, ml-25m's last rating
  big.histogram = kMl25mHistogram;
  // ml-25m's catalog holds far more obscure titles than ml-latest-small's sample: a wider lower half
  // of the log-normal brings the item Gini coefficient near ml-25m's 0.94 (small's 0.72 comes out
  // with the default) while the most-rated movie stays near ml-25m's 81,491 ratings.
  big.model.popularity_sigma = kMl25mPopularitySigma;
  big.model.popularity_sigma_low = kMl25mPopularitySigma;
  big.model.popularity_z_cap = kMl25mPopularityZCap;
  return {small, big};
}

const std::vector<SynthPreset>& presets() {
  static const std::vector<SynthPreset> all = build_presets();
  return all;
}

constexpr int kMaxFreeFactors = 6;

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

// ---------------------------------------------------------------------------------------------
// Movie model: what the sampler needs per movie, in id order.

// Everything a draw touches, in one cache-friendly record.
struct MovieTraits {
  std::int64_t release = 0;  // Jan 1 of the release year
  std::uint32_t genre_mask = 0;
  float genre_norm = 0.0f;  // 1 / sqrt(#genres), 0 without genres
  float bias = 0.0f;
  std::int32_t era = 0;
  std::array<float, kMaxFreeFactors> free{};
};

struct MovieModel {
  std::vector<double> weight;  // popularity weight; 0 for listed-only movies
  std::vector<double> log_weight;
  std::vector<MovieTraits> traits;
};

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

struct Catalog {
  std::vector<SynthMovie> movies;
  MovieModel model;
};

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

// ---------------------------------------------------------------------------------------------
// Drawing one user's ratings.

struct UserTaste {
  std::array<float, kGenres> genre{};
  std::array<float, kEras> era{};
  std::vector<float> free;
  float bias = 0.0f;
};

struct Pick {
  std::int32_t movie;
  float score;
  std::uint32_t time;
};

// Per-thread scratch space.
struct Workspace {
  std::vector<std::int32_t> stamp;  // stamp[movie] == user + 1 when the user already has it
  std::vector<Pick> picks;
  std::vector<std::pair<double, std::int32_t>> keys;
  UserTaste taste;
  std::string text;
  std::array<std::int64_t, kHalfStarLevels> histogram{};
};

// When a user needs more than this share of their reachable movies, they are drawn by exact weighted
// sampling without replacement over the whole pool instead of by rejection.
constexpr double kDenseSelectionShare = 1.0 / 8.0;
// Rejection sampling gives up (and switches to the exact method) after this many draws per rating.
constexpr std::int64_t kMaxDrawsPerRating = 64;
constexpr std::int64_t kMinDrawBudget = 4096;
// How many candidate draws are in flight (see the prefetching in draw_user).
constexpr std::size_t kAhead = 8;

class Generator {
 public:
  Generator(const SynthPlan& plan, MovieModel model)
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

  void init_workspace(Workspace& ws) const {
    ws.stamp.assign(mm_.weight.size(), 0);
    ws.taste.free.resize(nf_);
  }

  // Draws user `u`'s (0-based) movies, scores and times into ws.picks, sorted by movie.
  void draw_user(std::size_t u, Workspace& ws) const {
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
    std::sort(ws.picks.begin(), ws.picks.end(),
              [](const Pick& a, const Pick& b) { return a.movie < b.movie; });
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

 private:
  std::int64_t release(std::int32_t k) const { return mm_.traits[static_cast<std::size_t>(k)].release; }

  void prefetch_movie(const Workspace& ws, std::int32_t k) const {
    __builtin_prefetch(&ws.stamp[static_cast<std::size_t>(k)]);
    __builtin_prefetch(&mm_.traits[static_cast<std::size_t>(k)]);
  }

  void make_taste(std::size_t u, UserTaste& t) const {
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

  float taste_of(const UserTaste& t, std::int32_t k) const {
    const MovieTraits& mt = mm_.traits[static_cast<std::size_t>(k)];
    float g = 0.0f;
    for (std::uint32_t mask = mt.genre_mask; mask != 0; mask &= mask - 1) {
      g += t.genre[static_cast<std::size_t>(std::countr_zero(mask))];
    }
    float s = g * mt.genre_norm + t.era[static_cast<std::size_t>(mt.era)];
    for (std::size_t f = 0; f < nf_; ++f) s += t.free[f] * mt.free[f];
    return s;
  }

  double keep_probability(float taste) const { return 1.0 / (1.0 + std::exp(-m_.choice_sharpness * taste)); }

  const SynthPlan& plan_;
  const SynthModelParams& m_;
  MovieModel mm_;
  std::size_t nf_;
  std::vector<std::int32_t> rated_;  // rated movies sorted by release
  int first_year_ = 0;
  std::vector<std::size_t> pool_size_;  // per year from first_year_: rated movies released by its end
  std::vector<AliasTable> pools_;       // per year: draws an index into that prefix of rated_
};

// ---------------------------------------------------------------------------------------------
// Output.

constexpr std::array<std::string_view, kHalfStarLevels> kRatingText = {"0.5", "1.0", "1.5", "2.0", "2.5",
                                                                       "3.0", "3.5", "4.0", "4.5", "5.0"};

void append_int(std::string& s, std::int64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  s.append(buf, r.ptr);
}

void append_csv_field(std::string& s, std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) {
    s.append(field);
    return;
  }
  s.push_back('"');
  for (char c : field) {
    if (c == '"') s.push_back('"');
    s.push_back(c);
  }
  s.push_back('"');
}

// A directory being written beside the target; removed on destruction unless published.
class StagingDir {
 public:
  explicit StagingDir(const fs::path& target) : target_(target), path_(temp_sibling(target)) {
    std::error_code ec;
    if (!fs::create_directory(path_, ec) || ec) {
      throw IoError("cannot create " + path_.string() + ": " + (ec ? ec.message() : "it already exists"));
    }
  }
  ~StagingDir() {
    if (!published_) {
      std::error_code ec;
      fs::remove_all(path_, ec);
    }
  }
  StagingDir(const StagingDir&) = delete;
  StagingDir& operator=(const StagingDir&) = delete;
  const fs::path& path() const { return path_; }

  // Moves the directory onto the target: a plain rename when the target is absent or empty, an
  // atomic exchange (then removal of the old tree) when replacing a non-empty one.
  void publish(bool replace) {
    fsync_path(path_);
    if (::rename(path_.c_str(), target_.c_str()) != 0) {
      const int err = errno;
      if (!(replace && (err == ENOTEMPTY || err == EEXIST))) {
        throw IoError("cannot move " + path_.string() + " to " + target_.string() + ": " +
                      std::strerror(err));
      }
      if (::renameat2(AT_FDCWD, path_.c_str(), AT_FDCWD, target_.c_str(), RENAME_EXCHANGE) == 0) {
        published_ = true;  // path_ now holds the old tree
        std::error_code ec;
        fs::remove_all(path_, ec);
        if (ec) spdlog::warn("could not remove the replaced dataset at {}: {}", path_.string(), ec.message());
      } else {
        // No atomic exchange on this file system: move the old tree aside first.
        const fs::path old = temp_sibling(target_);
        if (::rename(target_.c_str(), old.c_str()) != 0 || ::rename(path_.c_str(), target_.c_str()) != 0) {
          throw IoError("cannot replace " + target_.string() + ": " + std::strerror(errno));
        }
        published_ = true;
        std::error_code ec;
        fs::remove_all(old, ec);
      }
    }
    published_ = true;
    fsync_path(target_.parent_path());
  }

 private:
  fs::path target_;
  fs::path path_;
  bool published_ = false;
};

class OutFile {
 public:
  explicit OutFile(fs::path path) : path_(std::move(path)), out_(path_, std::ios::binary | std::ios::trunc) {
    if (!out_) throw IoError("cannot create " + path_.string() + ": " + std::strerror(errno));
  }
  void write(std::string_view s) {
    out_.write(s.data(), static_cast<std::streamsize>(s.size()));
    bytes_ += static_cast<std::int64_t>(s.size());
  }
  std::int64_t close() {
    out_.close();
    if (!out_) throw IoError("cannot write " + path_.string());
    fsync_path(path_);
    return bytes_;
  }

 private:
  fs::path path_;
  std::ofstream out_;
  std::int64_t bytes_ = 0;
};

std::int64_t write_catalog(const SynthPlan& plan, const fs::path& dir) {
  std::string movies = "movieId,title,genres\n";
  std::string links = "movieId,imdbId,tmdbId\n";
  for (const SynthMovie& mv : plan.movies) {
    append_int(movies, mv.id);
    movies.push_back(',');
    append_csv_field(movies, mv.title);
    movies.push_back(',');
    movies += synth_genres_string(mv.genre_mask);
    movies.push_back('\n');
    append_int(links, mv.id);
    char imdb[16];
    std::snprintf(imdb, sizeof imdb, ",%07lld,", static_cast<long long>(mv.imdb_id));
    links += imdb;
    if (mv.tmdb_id > 0) append_int(links, mv.tmdb_id);
    links.push_back('\n');
  }
  OutFile m(dir / "movies.csv");
  m.write(movies);
  OutFile l(dir / "links.csv");
  l.write(links);
  return m.close() + l.close();
}

// Users whose raw scores set the half-star thresholds: every user up to this many, else an even sample.
constexpr std::size_t kCalibrationUsers = 8192;
constexpr std::size_t kUsersPerChunk = 32;
constexpr std::size_t kMaxIdDigits = 20;
// Longest "," movie "," rating "," timestamp "\n" after the user id.
constexpr std::size_t kMaxLineTail = 1 + kMaxIdDigits + 1 + 3 + 1 + kMaxIdDigits + 1;
constexpr std::size_t kChunksPerBlock = 256;

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

}  // namespace

// ---------------------------------------------------------------------------------------------
// Public API.

std::span<const SynthPreset> synth_presets() {
  return presets();
}

const SynthPreset& synth_preset(std::string_view name) {
  std::string known;
  for (const auto& p : presets()) {
    if (p.name == name) return p;
    known += (known.empty() ? "" : ", ") + p.name;
  }
  throw InvalidArgument("unknown synthetic preset '" + std::string(name) + "' (known: " + known + ")");
}

std::span<const std::string_view> synth_genre_names() {
  return kGenreNames;
}

std::string synth_genres_string(std::uint32_t genre_mask) {
  if (genre_mask == 0) return "(no genres listed)";
  std::string s;
  for (int g = 0; g < kGenres; ++g) {
    if ((genre_mask >> g) & 1u) {
      if (!s.empty()) s.push_back('|');
      s += kGenreNames[static_cast<std::size_t>(g)];
    }
  }
  return s;
}

std::int64_t SynthPlan::total_ratings() const {
  return std::accumulate(user_counts.begin(), user_counts.end(), std::int64_t{0});
}

SynthPlan plan_synthetic_dataset(const SynthOptions& options) {
  const SynthPreset& p = synth_preset(options.preset);
  Catalog cat = build_catalog(p, options.seed);
  return make_plan(p, options.seed, cat);
}

SynthStats write_synthetic_dataset(const SynthOptions& options, const fs::path& out_dir) {
  const auto start = std::chrono::steady_clock::now();
  if (out_dir.empty()) throw InvalidArgument("synthetic data: no output directory given");
  fs::path target = fs::absolute(out_dir).lexically_normal();
  if (target.filename().empty()) target = target.parent_path();
  std::error_code ec;
  if (fs::exists(target, ec)) {
    if (!fs::is_directory(target, ec))
      throw InvalidArgument(target.string() + " exists and is not a directory");
    if (!fs::is_empty(target, ec) && !options.force) {
      throw InvalidArgument(target.string() + " exists and is not empty (use --force to replace it)");
    }
  }
  fs::create_directories(target.parent_path(), ec);
  if (ec) throw IoError("cannot create " + target.parent_path().string() + ": " + ec.message());

  const SynthPreset& preset = synth_preset(options.preset);
  Catalog cat = build_catalog(preset, options.seed);
  const SynthPlan plan = make_plan(preset, options.seed, cat);
  const int threads = options.threads > 0 ? options.threads : omp_get_max_threads();
  const Generator gen(plan, std::move(cat.model));
  spdlog::debug("synthetic {}: plan ready, calibrating the rating scale", preset.name);
  const auto thresholds = calibrate(gen, plan, threads);

  StagingDir staging(target);
  SynthStats stats;
  stats.preset = preset.name;
  stats.seed = options.seed;
  stats.users = preset.users;
  stats.rated_movies = preset.rated_movies;
  stats.listed_movies = preset.listed_movies;
  stats.bytes = write_catalog(plan, staging.path());

  OutFile ratings(staging.path() / "ratings.csv");
  ratings.write("userId,movieId,rating,timestamp\n");
  const std::size_t nu = plan.user_counts.size();
  const std::size_t block_users = kUsersPerChunk * kChunksPerBlock;
  std::vector<Workspace> ws(static_cast<std::size_t>(threads));
  std::vector<std::string> chunk_text(kChunksPerBlock);
  std::vector<std::array<std::int64_t, kHalfStarLevels>> chunk_hist(kChunksPerBlock);
  std::vector<std::int64_t> movie_ids(plan.movies.size());
  for (std::size_t k = 0; k < plan.movies.size(); ++k) movie_ids[k] = plan.movies[k].id;
  Progress progress("synth " + preset.name, preset.ratings, "ratings");
  std::int64_t written = 0;
#pragma omp parallel num_threads(threads)
  {
    Workspace& w = ws[static_cast<std::size_t>(omp_get_thread_num())];
    gen.init_workspace(w);
  }
  for (std::size_t block = 0; block < nu; block += block_users) {
    const std::size_t chunks = std::min(kChunksPerBlock, (nu - block + kUsersPerChunk - 1) / kUsersPerChunk);
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (std::size_t c = 0; c < chunks; ++c) {
      Workspace& w = ws[static_cast<std::size_t>(omp_get_thread_num())];
      std::string& text = chunk_text[c];
      auto& hist = chunk_hist[c];
      text.clear();
      hist.fill(0);
      std::int64_t lines = 0;
      const std::size_t end = std::min(nu, block + (c + 1) * kUsersPerChunk);
      for (std::size_t u = block + c * kUsersPerChunk; u < end; ++u) {
        gen.draw_user(u, w);
        char user_field[16];
        const auto ur = std::to_chars(user_field, user_field + sizeof user_field, u + 1);
        const auto user_len = static_cast<std::size_t>(ur.ptr - user_field);
        // Format straight into the chunk's buffer: reserve the longest possible lines, trim after.
        std::size_t used = text.size();
        text.resize(used + w.picks.size() * (user_len + kMaxLineTail));
        char* out = text.data() + used;
        for (const Pick& pk : w.picks) {
          const auto level = static_cast<std::size_t>(
              std::upper_bound(thresholds.begin(), thresholds.end(), pk.score) - thresholds.begin());
          ++hist[level];
          out = std::copy_n(user_field, user_len, out);
          *out++ = ',';
          out = std::to_chars(out, out + kMaxIdDigits, movie_ids[static_cast<std::size_t>(pk.movie)]).ptr;
          *out++ = ',';
          out = std::copy_n(kRatingText[level].data(), kRatingText[level].size(), out);
          *out++ = ',';
          out = std::to_chars(out, out + kMaxIdDigits, pk.time).ptr;
          *out++ = '\n';
        }
        used = static_cast<std::size_t>(out - text.data());
        text.resize(used);
        lines += static_cast<std::int64_t>(w.picks.size());
      }
      progress.advance(lines);
    }
    for (std::size_t c = 0; c < chunks; ++c) {
      ratings.write(chunk_text[c]);
      for (int l = 0; l < kHalfStarLevels; ++l) {
        stats.histogram[static_cast<std::size_t>(l)] += chunk_hist[c][static_cast<std::size_t>(l)];
        written += chunk_hist[c][static_cast<std::size_t>(l)];
      }
    }
  }
  progress.finish();
  if (written != preset.ratings) {
    throw Error("synthetic data: wrote " + std::to_string(written) + " ratings instead of " +
                std::to_string(preset.ratings));
  }
  stats.ratings = written;
  stats.bytes += ratings.close();
  staging.publish(options.force);
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  spdlog::info("wrote {} ratings of {} users on {} movies to {} in {:.2f} s", stats.ratings, stats.users,
               stats.rated_movies, target.string(), stats.seconds);
  return stats;
}

}  // namespace cinefactor
