#include "cinefactor/error.hpp"

#include <utility>

namespace cinefactor {

ParseError::ParseError(std::string file, std::int64_t line, const std::string& message)
    : Error(file + ":" + std::to_string(line) + ": " + message),
      file_(std::move(file)),
      line_(line),
      message_(message) {}

}  // namespace cinefactor
