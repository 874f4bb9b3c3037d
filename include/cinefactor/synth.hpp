// Synthetic MovieLens-like datasets: the offline default dataset and the scale test of every benchmark.
// A planted low-rank taste model tied to genres and eras, user and movie biases and noise, mapped to
// half stars by quantile mapping onto a MovieLens histogram; long-tailed movie popularity and user
// activity; exact sizes; written in the ml-25m CSV layout (ratings.csv, movies.csv, links.csv).
// Every random draw comes from a generator seeded by hashing (seed, stream, user or movie), so the
// files are byte-identical for a given preset and seed whatever the thread count.
//
// Layout details, as in the real files: ratings sorted by user then movie, ratings printed "4.0";
// timestamps between 1996 and the preset's snapshot, never before Jan 1 of the movie's year and
// inside the user's activity window (so, like MovieLens, those before 2001-09-09 have 9 digits);
// movies.csv also lists a few unrated movies (ml-25m lists 62,423 movies, 59,047 rated); titles follow
// MovieLens' "Matrix, The (1999)" convention and are RFC-4180 quoted when they hold a comma or quote;
// movie ids ascend with gaps; some links.csv rows have no tmdbId.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cinefactor {

// The half-star scale 0.5, 1.0, ..., 5.0.
inline constexpr int kHalfStarLevels = 10;

// How the synthetic ratings are generated. The defaults serve the small preset; ml-25m widens the
// popularity distribution. The values were tuned against ml-latest-small's and ml-25m's statistics.
struct SynthModelParams {
  // Taste: score(u, j) = sum of the user's genre tastes over the movie's genres (normalised by
  // sqrt(#genres)) + the user's taste for the movie's era + dot(user free factors, movie free factors).
  double genre_taste_sd = 0.45;        // spread of a user's taste for each genre
  double favourite_genre_boost = 0.9;  // added to the taste of one favourite genre per user
  double era_taste_sd = 0.35;          // spread of a user's taste for each era
  int free_factors = 4;                // latent dimensions not tied to genres or eras
  double free_factor_sd = 0.45;        // spread of user and movie free factors (each)
  // Biases and noise of the raw score before quantile mapping.
  double user_bias_sd = 0.40;
  double movie_bias_sd = 0.45;
  double popularity_bias = 0.15;  // movie bias gained per standard deviation of log popularity
  double noise_sd = 0.70;
  // Choice: a sampled movie is kept with probability sigmoid(choice_sharpness * taste), so users rate
  // what they like more often (missing not at random, as in MovieLens).
  double choice_sharpness = 3.0;
  // Movie popularity weight exp(sigma * z), z ~ N(0, 1), sigma = popularity_sigma above the median
  // and popularity_sigma_low below it: log-normal, so a few movies are drawn by a large share of users
  // and most by almost none; the lower half sets how obscure the long tail is.
  double popularity_sigma = 2.0;
  double popularity_sigma_low = 2.0;
  double popularity_z_cap = 1e9;  // z above it counts as the cap: a plateau of equally popular hits
  // User activity: ratings = min_user_ratings + lognormal(log(activity_median_excess), activity_sigma)
  // before scaling to the exact total.
  double activity_median_excess = 50.0;
  double activity_sigma = 1.35;
  double max_pool_share = 0.5;  // a user rates at most this share of the movies released by their last day
  // Activity windows: first rating uniform in [first_rating_year, snapshot]; the span is lognormal
  // (median span_median_days, spread span_sigma) and grows with activity as (count / 20)^span_activity_power.
  int first_rating_year = 1996;
  double span_median_days = 0.05;
  double span_sigma = 2.6;
  double span_activity_power = 0.6;
  double tmdb_missing_share = 0.002;  // links.csv rows without a tmdbId
};

// A named size and shape. Sizes are exact: the generator hits them to the rating.
struct SynthPreset {
  std::string name;
  std::string description;
  std::int32_t users = 0;          // user ids 1..users
  std::int32_t listed_movies = 0;  // rows of movies.csv / links.csv
  std::int32_t rated_movies = 0;   // movies with at least one rating (<= listed_movies)
  std::int64_t ratings = 0;        // (user, movie) pairs
  std::int32_t min_user_ratings = 20;
  double mean_id_gap = 3.0;   // movie ids grow by 1 + an exponential gap of this mean minus 1
  std::int64_t snapshot = 0;  // unix time of the last possible rating
  // Target share of each half-star level 0.5..5.0 (need not sum to 1; normalised).
  std::array<double, kHalfStarLevels> histogram{};
  SynthModelParams model;
};

// The built-in presets: "small" (the shape of ml-latest-small) and "ml-25m" (exactly the size of ml-25m).
std::span<const SynthPreset> synth_presets();
// The preset called `name`; throws InvalidArgument naming the known presets.
const SynthPreset& synth_preset(std::string_view name);

struct SynthOptions {
  std::string preset = "small";
  std::uint64_t seed = 42;
  int threads = 0;     // 0 = all cores; the output does not depend on it
  bool force = false;  // replace a non-empty output directory (atomically)
};

// A movie of the synthetic catalog.
struct SynthMovie {
  std::int64_t id = 0;
  std::string title;  // with the "(YYYY)" suffix, as in movies.csv (unquoted)
  std::int32_t year = 0;
  std::uint32_t genre_mask = 0;  // MovieLens genres, see synth_genres_string(); 0 = "(no genres listed)"
  std::int64_t imdb_id = 0;
  std::int64_t tmdb_id = 0;  // 0 = missing in links.csv
  bool rated = false;        // rated movies get >= 1 rating; the others are only listed
};

// "Action|Comedy", or "(no genres listed)"; bit g of the mask is the g-th MovieLens genre in
// alphabetical order (Action, Adventure, Animation, ..., Western).
std::string synth_genres_string(std::uint32_t genre_mask);

// The count plan: everything decided before any rating is drawn. Exact totals live here, so they can
// be checked for the big preset without writing it.
struct SynthPlan {
  SynthPreset preset;
  std::uint64_t seed = 0;
  std::vector<SynthMovie> movies;             // listed catalog, ascending by id
  std::vector<std::int32_t> user_counts;      // ratings of user id u at [u - 1]
  std::vector<std::int64_t> user_first_time;  // activity window of each user (unix seconds)
  std::vector<std::int64_t> user_last_time;
  // Each rated movie is seeded into exactly one user's list (so it gets >= 1 rating): the movies
  // (indices into `movies`) seeded into user u are seed_movies[seed_offsets[u-1] .. seed_offsets[u]).
  std::vector<std::int64_t> seed_offsets;
  std::vector<std::int32_t> seed_movies;
};

// Builds the catalog, the per-user counts and the movie seeding. Throws InvalidArgument for an
// unknown preset or sizes that cannot be met.
SynthPlan plan_synthetic_dataset(const SynthOptions& options);

struct SynthStats {
  std::string preset;
  std::uint64_t seed = 0;
  std::int32_t users = 0;
  std::int32_t rated_movies = 0;
  std::int32_t listed_movies = 0;
  std::int64_t ratings = 0;
  std::array<std::int64_t, kHalfStarLevels> histogram{};  // ratings per half-star level 0.5..5.0
  std::int64_t bytes = 0;                                 // total size of the three files
  double seconds = 0.0;
};

// Generates the dataset and writes ratings.csv, movies.csv and links.csv into `out_dir`. The files
// are written into a temporary directory beside `out_dir` and renamed into place at the end; an
// existing non-empty `out_dir` is an InvalidArgument unless options.force, which swaps it out
// atomically. Throws IoError when writing fails (nothing is left at `out_dir` then).
SynthStats write_synthetic_dataset(const SynthOptions& options, const std::filesystem::path& out_dir);

}  // namespace cinefactor
