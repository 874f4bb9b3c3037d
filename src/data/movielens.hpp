// Reading the MovieLens text files of every published layout (no cache): the movie catalog, the
// links and the ratings, checked line by line. Internal to the library; load_dataset() is the API.
#pragma once

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

}  // namespace cinefactor::detail
