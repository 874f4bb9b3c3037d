// One table per enum of names users type and read (CLI flags, JSON, model files, log lines): the name of
// a value, the value of a name, and the list of every name (for --help and flag checks), all from the
// same table. Values are the enum's underlying integers 0 .. N-1, in the table's order.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cinefactor {

template <typename Enum, std::size_t N>
class EnumNames {
 public:
  template <typename... Names>
  constexpr explicit EnumNames(Names... names) : names_{std::string_view(names)...} {
    static_assert(sizeof...(Names) == N, "one name per enum value");
  }

  constexpr std::string_view name(Enum value) const noexcept {
    const auto i = static_cast<std::size_t>(value);
    return i < N ? names_[i] : std::string_view("unknown");
  }

  constexpr std::optional<Enum> parse(std::string_view text) const noexcept {
    for (std::size_t i = 0; i < N; ++i) {
      if (names_[i] == text) return static_cast<Enum>(i);
    }
    return std::nullopt;
  }

  std::vector<std::string> all() const { return {names_.begin(), names_.end()}; }

 private:
  std::array<std::string_view, N> names_;
};

}  // namespace cinefactor

// Defines an enum's three public name functions from its EnumNames table, so that every enum offers the
// same three: PREFIX_name(value), parse_PREFIX(text) and PREFIX_names().
#define CINEFACTOR_ENUM_NAME_FUNCTIONS(Enum, prefix, table)            \
  std::string_view prefix##_name(Enum value) noexcept {                \
    return table.name(value);                                          \
  }                                                                    \
  std::optional<Enum> parse_##prefix(std::string_view text) noexcept { \
    return table.parse(text);                                          \
  }                                                                    \
  std::vector<std::string> prefix##_names() {                          \
    return table.all();                                                \
  }
