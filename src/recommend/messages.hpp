// The recommend layer's error-message pieces, one of each: a list of offending items cut after
// kMaxListed ("1, 2, 3 and 5 more"), and the one message for movie ids a model does not know (the
// recommender's check of a visitor's ratings, similar(), the CLI's movie references, the web app's
// rating form).
#pragma once

#include <fmt/format.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace cinefactor {

// How many offending entries an error message lists before summarizing.
inline constexpr std::size_t kMaxListed = 20;

// "a, b, c" of the first kMaxListed items, then " and N more".
template <typename Range>
std::string join_listed(const Range& items) {
  std::string out;
  for (std::size_t i = 0; i < items.size() && i < kMaxListed; ++i)
    out += (i ? ", " : "") + fmt::format("{}", items[i]);
  if (items.size() > kMaxListed) out += fmt::format(" and {} more", items.size() - kMaxListed);
  return out;
}

// "unknown movie id 7 (not in the svd model)", "unknown movie ids 7, 9 (not in the svd model)".
std::string unknown_movies_message(std::span<const std::int64_t> ids, std::string_view model_name);

}  // namespace cinefactor
