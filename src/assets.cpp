#include "cinefactor/assets.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace cinefactor {
namespace detail {

// Defined in the generated embedded_assets.cpp (see cmake/embed_files.cmake).
struct EmbeddedAssetEntry {
  const char* path;
  const unsigned char* data;
  std::size_t size;
};
extern const EmbeddedAssetEntry kEmbeddedAssets[];
extern const std::size_t kEmbeddedAssetCount;

}  // namespace detail

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

EmbeddedFile to_file(const detail::EmbeddedAssetEntry& e) {
  std::string_view path(e.path);
  return {path, content_type_for(path), std::string_view(reinterpret_cast<const char*>(e.data), e.size)};
}

}  // namespace

std::string_view content_type_for(std::string_view path) noexcept {
  for (const auto& [ext, type] : kContentTypes) {
    if (path.size() > ext.size() && path.substr(path.size() - ext.size()) == ext) return type;
  }
  return "application/octet-stream";
}

std::optional<EmbeddedFile> find_asset(std::string_view path) {
  // The table is sorted by path (the generator sorts the file list).
  const auto* begin = detail::kEmbeddedAssets;
  const auto* end = detail::kEmbeddedAssets + detail::kEmbeddedAssetCount;
  const auto* it = std::lower_bound(
      begin, end, path,
      [](const detail::EmbeddedAssetEntry& e, std::string_view p) { return std::string_view(e.path) < p; });
  if (it == end || std::string_view(it->path) != path) return std::nullopt;
  return to_file(*it);
}

std::vector<EmbeddedFile> embedded_assets() {
  std::vector<EmbeddedFile> out;
  out.reserve(detail::kEmbeddedAssetCount);
  for (std::size_t i = 0; i < detail::kEmbeddedAssetCount; ++i)
    out.push_back(to_file(detail::kEmbeddedAssets[i]));
  return out;
}

}  // namespace cinefactor
