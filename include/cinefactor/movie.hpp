// One movie of a catalog, as the loaders clean it up from the MovieLens files.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cinefactor {

struct Movie {
  std::int64_t id = 0;
  std::string title;                // clean title, UTF-8, without the "(year)" suffix
  std::int32_t year = 0;            // release year parsed from the title; 0 when it has none
  std::vector<std::string> genres;  // empty for "(no genres listed)"
  std::optional<std::int64_t> imdb_id;
  std::optional<std::int64_t> tmdb_id;
};

}  // namespace cinefactor
