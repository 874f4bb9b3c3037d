// Reading the MovieLens text files of every published layout (no cache): the movie catalog, the
// links and the ratings, checked line by line. Internal to the library; load_dataset() is the API.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "cinefactor/dataset.hpp"

namespace cinefactor::detail {

// The files a layout is read from, the ratings file first.
std::vector<std::string> layout_files(Layout layout);

// The rating scale of a layout and the step between valid ratings (0.5 for half stars).
RatingScale layout_scale(Layout layout) noexcept;
float layout_rating_step(Layout layout) noexcept;

// Parses the files of `layout` in `dir`. Throws ParseError (file:line: what was expected) or IoError.
Dataset read_movielens(const std::filesystem::path& dir, Layout layout, const LoadOptions& options);

// What read_movielens reads before the ratings: the movie catalog (and the links), no ratings.
Dataset read_movielens_catalog(const std::filesystem::path& dir, Layout layout, const LoadOptions& options);

// One process's share of a ratings file in a distributed load: the bytes [begin, end), cut at line
// starts, whose first line is line `first_line` of the file (1 for the part that starts it).
struct RatingsPart {
  std::int64_t begin = 0;
  std::int64_t end = 0;
  std::int64_t first_line = 1;
};

// The ratings of one part in file order, bad lines removed (under skip_bad_lines; otherwise the first
// one throws ParseError with the file's line number). An empty part is no error.
struct PartRatings {
  std::vector<std::int64_t> user_ids;       // per rating
  std::vector<std::int32_t> catalog_movie;  // per rating: the movie's position in the catalog
  std::vector<float> ratings;
  std::vector<std::uint32_t> timestamps;
  std::int64_t lines = 0;     // lines of the part (its header excluded)
  std::int64_t skipped = 0;   // bad lines skipped
  std::string first_skipped;  // "file:line: what" of the first one
};

// The ratings in `part` of the ratings file of `catalog` (from read_movielens_catalog), checked against
// its movies exactly as read_movielens checks the whole file.
PartRatings read_ratings_part(const Dataset& catalog, const RatingsPart& part, const LoadOptions& options);

// The first line start at or after byte `offset` of `path` (the file's size when none): where a part
// may begin.
std::int64_t line_start_at_or_after(const std::filesystem::path& path, std::int64_t offset);
// The number of '\n' in the bytes [begin, end) of `path`.
std::int64_t count_line_ends(const std::filesystem::path& path, std::int64_t begin, std::int64_t end);

}  // namespace cinefactor::detail
