// A MovieLens dataset in memory: the rating matrix plus the movie catalog, loaded from any of the
// published layouts (detected from the directory) and cached in a binary file beside the data.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cinefactor/movie.hpp"
#include "cinefactor/rating_matrix.hpp"

namespace cinefactor {

enum class Layout {
  csv,    // ratings.csv + movies.csv + links.csv: ml-latest(-small), ml-20m, ml-25m, ml-32m
  dat,    // ratings.dat + movies.dat ("::"-separated): ml-1m, ml-10m
  u_data  // u.data + u.item: ml-100k
};
std::string_view layout_name(Layout layout) noexcept;

// Ratings outside [min, max] are errors.
struct RatingScale {
  float min = 0.5f;
  float max = 5.0f;
};

struct LoadOptions {
  bool skip_bad_lines = false;  // skip malformed lines (and count them) instead of stopping
  bool use_cache = true;        // read/write the binary cache next to the data
  int threads = 0;              // 0 = all cores
};

struct LoadReport {
  std::int64_t lines_read = 0;     // rating lines read from the source (0 when loaded from the cache)
  std::int64_t skipped_lines = 0;  // malformed lines skipped under skip_bad_lines
  std::int64_t duplicates = 0;     // (user, movie) pairs seen more than once; the last one was kept
  bool from_cache = false;
  double seconds = 0.0;
};

struct Dataset {
  std::filesystem::path dir;
  Layout layout = Layout::csv;
  RatingScale scale;
  RatingMatrix ratings;
  std::vector<Movie> movies;                  // every movie of the movie file, ascending by id
  std::vector<std::int32_t> movie_of_column;  // rating-matrix column -> index into movies
  LoadReport report;

  // The catalog entry of a rating-matrix column.
  const Movie& column_movie(std::int32_t column) const {
    return movies[static_cast<std::size_t>(movie_of_column[static_cast<std::size_t>(column)])];
  }
};

// Detects the layout of `dir`; throws IoError naming the files it looked for when none matches.
Layout detect_layout(const std::filesystem::path& dir);

// Loads the dataset in `dir`. Throws ParseError (file:line: what was expected), IoError or Error.
Dataset load_dataset(const std::filesystem::path& dir, const LoadOptions& options = {});

}  // namespace cinefactor
