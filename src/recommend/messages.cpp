// The one message for unknown movie ids (see messages.hpp).
#include "recommend/messages.hpp"

namespace cinefactor {

std::string unknown_movies_message(std::span<const std::int64_t> ids, std::string_view model_name) {
  return fmt::format("unknown movie id{} {} (not in the {} model)", ids.size() == 1 ? "" : "s",
                     join_listed(ids), model_name);
}

}  // namespace cinefactor
