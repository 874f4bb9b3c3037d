// The web app's static files (web/: CSS, JS, icons, the OpenAPI document), embedded into the
// library at build time by cmake/CinefactorEmbed.cmake, so the server needs no files at run time.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

namespace cinefactor {

struct EmbeddedFile {
  std::string_view path;          // relative to web/, '/'-separated: "app.js", "icons/star.svg"
  std::string_view content_type;  // from the file extension, with a charset for text types
  std::string_view bytes;         // the file's exact bytes (binary-safe; not NUL-terminated)
};

// The embedded file with exactly this path (no normalization: "../x", "./x" or "x/" never match), or
// nullopt.
std::optional<EmbeddedFile> find_asset(std::string_view path);

// Every embedded file, sorted by path.
std::vector<EmbeddedFile> embedded_assets();

// The Content-Type for a file name by its extension; application/octet-stream when unknown.
std::string_view content_type_for(std::string_view path) noexcept;

}  // namespace cinefactor
