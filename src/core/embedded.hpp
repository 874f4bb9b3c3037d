// Files embedded into the library at build time (cmake/CinefactorEmbed.cmake generates the tables).
#pragma once

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string_view>

namespace cinefactor::detail {

struct EmbeddedEntry {
  const char* path;  // relative to the embedded directory, '/'-separated
  const unsigned char* data;
  std::size_t size;  // bytes, without the terminating 0 the generator appends
};

// Declares the table k<Table> and k<Table>Count that cinefactor_embed(<target> <Table> ...) generates; used
// at namespace scope by the file that reads the table and by the generated file itself.
#define CINEFACTOR_EMBEDDED_TABLE(Table)    \
  namespace cinefactor::detail {            \
  extern const EmbeddedEntry k##Table[];    \
  extern const std::size_t k##Table##Count; \
  }  // namespace cinefactor::detail

// Each table is declared by the layer that embeds it (cinefactor_embed in its CMakeLists.txt): the web
// app's assets in server/assets.cpp, the dataset registry in data/fetch_registry.cpp.

inline const EmbeddedEntry* find_embedded(const EmbeddedEntry* table, std::size_t count,
                                          std::string_view path) {
  const auto* end = table + count;
  const auto* it = std::lower_bound(table, end, path, [](const EmbeddedEntry& e, std::string_view p) {
    return std::string_view(e.path) < p;
  });
  return it != end && std::string_view(it->path) == path ? it : nullptr;
}

inline std::string_view embedded_bytes(const EmbeddedEntry& e) {
  return {reinterpret_cast<const char*>(e.data), e.size};
}

}  // namespace cinefactor::detail
