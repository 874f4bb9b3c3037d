// The synthetic catalog: MovieLens' genres with their shares of ml-25m's catalog, release decades and
// eras of taste, the calendar the generator works in, and build_catalog(), which makes every listed
// movie (title, year, genres, ids with gaps, links) and the movie side of the taste model (popularity
// weight, genre and era profile, bias, free factors) that the sampler draws from.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "cinefactor/synth.hpp"

namespace cinefactor::synth {

inline constexpr std::array<std::string_view, 19> kGenreNames = {
    "Action",  "Adventure", "Animation", "Children", "Comedy", "Crime",   "Documentary",
    "Drama",   "Fantasy",   "Film-Noir", "Horror",   "IMAX",   "Musical", "Mystery",
    "Romance", "Sci-Fi",    "Thriller",  "War",      "Western"};
inline constexpr int kGenres = static_cast<int>(kGenreNames.size());
// Share of ml-25m's 62,423 movies carrying each genre.
inline constexpr std::array<double, kGenres> kGenreShare = {0.118, 0.066, 0.047, 0.047, 0.270, 0.085, 0.090,
                                                            0.410, 0.044, 0.006, 0.096, 0.003, 0.017, 0.047,
                                                            0.124, 0.058, 0.139, 0.030, 0.022};
// Eras of taste: pre-1960, 1960s-70s, 1980s, 1990s, 2000s, 2010s.
inline constexpr std::array<int, 5> kEraStarts = {1960, 1980, 1990, 2000, 2010};
inline constexpr int kEras = static_cast<int>(kEraStarts.size()) + 1;
// Latent dimensions not tied to genres or eras, at most.
inline constexpr int kMaxFreeFactors = 6;

inline constexpr std::int64_t kSecondsPerDay = 86400;

inline std::int64_t year_start(int year) {
  // Days from 1970-01-01 to Jan 1 of `year` (proleptic Gregorian), times seconds per day.
  const auto days = [](std::int64_t y) { return 365 * y + y / 4 - y / 100 + y / 400; };
  const std::int64_t y = year - 1;
  return (days(y) - days(1969)) * kSecondsPerDay;
}

inline int year_of(std::int64_t unix_time) {
  int year = 1970;
  while (year_start(year + 1) <= unix_time) ++year;
  return year;
}

// The movie side of the taste model: what the sampler needs per movie, in id order.

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

struct Catalog {
  std::vector<SynthMovie> movies;  // ascending by id
  MovieModel model;                // aligned with movies
};

// The listed movies of preset `p` and their model; the least popular stay unrated.
Catalog build_catalog(const SynthPreset& p, std::uint64_t seed);

}  // namespace cinefactor::synth
