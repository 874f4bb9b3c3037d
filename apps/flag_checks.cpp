#include "flag_checks.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <optional>
#include <string>

namespace cinefactor::cli {
namespace {

// A number as CLI11 reads floating-point flags (strtod: "1e-3", "0x10", "inf" too); nothing when the
// whole text is not one.
std::optional<double> number(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size()) return std::nullopt;
  return value;
}

// `description` is what the message says is expected; `label` is the word --help shows after the type.
CLI::Validator number_check(const char* description, const char* label, bool (*accept)(double)) {
  return CLI::Validator(
      [description, accept](std::string& text) -> std::string {
        const auto value = number(text);
        if (value && !std::isnan(*value) && accept(*value)) return {};
        return fmt::format("expected {}, got {}", description, text);
      },
      label);
}

}  // namespace

CLI::Validator non_negative() {
  return number_check("a number >= 0", "NONNEGATIVE", [](double v) { return v >= 0.0; });
}

CLI::Validator positive() {
  return number_check("a number > 0", "POSITIVE", [](double v) { return v > 0.0; });
}

CLI::Validator unsigned_integer() {
  static const std::string kDescription =
      fmt::format("a whole number from 0 to {}", std::numeric_limits<std::uint64_t>::max());
  return CLI::Validator(
      [](std::string& text) -> std::string {
        std::uint64_t value = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (!text.empty() && ec == std::errc() && end == text.data() + text.size()) return {};
        return fmt::format("expected {}, got {}", kDescription, text);
      },
      "NONNEGATIVE");
}

}  // namespace cinefactor::cli
