#include "server/assets.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include "core/embedded.hpp"

CINEFACTOR_EMBEDDED_TABLE(WebAssets)

namespace cinefactor {
namespace {

constexpr std::array<std::pair<std::string_view, std::string_view>, 14> kContentTypes{{
    {".html", "text/html; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".json", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".jpg", "image/jpeg"},
    {".webp", "image/webp"},
    {".txt", "text/plain; charset=utf-8"},
    {".woff2", "font/woff2"},
    {".webmanifest", "application/manifest+json"},
    {".xml", "application/xml"},
    {".map", "application/json"},
}};

EmbeddedFile to_file(const detail::EmbeddedEntry& e) {
  std::string_view path(e.path);
  return {path, content_type_for(path), detail::embedded_bytes(e)};
}

}  // namespace

std::string_view content_type_for(std::string_view path) noexcept {
  for (const auto& [ext, type] : kContentTypes) {
    if (path.size() > ext.size() && path.substr(path.size() - ext.size()) == ext) return type;
  }
  return "application/octet-stream";
}

std::optional<EmbeddedFile> find_asset(std::string_view path) {
  const auto* entry = detail::find_embedded(detail::kWebAssets, detail::kWebAssetsCount, path);
  if (entry == nullptr) return std::nullopt;
  return to_file(*entry);
}

std::vector<EmbeddedFile> embedded_assets() {
  std::vector<EmbeddedFile> out;
  out.reserve(detail::kWebAssetsCount);
  for (std::size_t i = 0; i < detail::kWebAssetsCount; ++i) out.push_back(to_file(detail::kWebAssets[i]));
  return out;
}

}  // namespace cinefactor
