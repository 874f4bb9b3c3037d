// load_dataset(): layout detection and the cache around the MovieLens readers.
#include "cinefactor/dataset.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <system_error>

#include "cinefactor/error.hpp"
#include "core/enum_names.hpp"
#include "core/regular_file.hpp"
#include "data/dataset_cache.hpp"
#include "data/movielens.hpp"

namespace cinefactor {
namespace {

constexpr EnumNames<Layout, 3> kLayoutNames{"csv", "dat", "u.data"};

constexpr Layout kLayouts[] = {Layout::csv, Layout::dat, Layout::u_data};

const char* layout_releases(Layout layout) {
  switch (layout) {
    case Layout::csv:
      return "ml-latest-small, ml-latest, ml-20m, ml-25m, ml-32m";
    case Layout::dat:
      return "ml-1m, ml-10m";
    case Layout::u_data:
      return "ml-100k";
  }
  return "";
}

// Something is at `path` (a file, a directory, a FIFO, a link even if it leads nowhere).
bool is_present(const std::filesystem::path& path) {
  std::error_code ec;
  return std::filesystem::exists(std::filesystem::symlink_status(path, ec));
}

// The directory's permission bits allow writing. Checked even for root, who could write anyway: a
// directory made read-only (a shared dataset) must not receive a cache file.
bool directory_writable_by_mode(const std::filesystem::path& dir) {
  std::error_code ec;
  const auto mode = std::filesystem::status(dir, ec).permissions();
  if (ec) return false;
  using std::filesystem::perms;
  return (mode & (perms::owner_write | perms::group_write | perms::others_write)) != perms::none &&
         ::access(dir.c_str(), W_OK) == 0;
}

std::string looked_for() {
  std::string text;
  for (auto layout : kLayouts) {
    if (!text.empty()) text += "; ";
    const auto files = detail::layout_files(layout);
    std::string joined;
    for (const auto& f : files) joined += (joined.empty() ? "" : " + ") + f;
    text += fmt::format("{} ({})", joined, layout_releases(layout));
  }
  return text;
}

}  // namespace

std::string_view layout_name(Layout layout) noexcept {
  return kLayoutNames.name(layout);
}

Layout detect_layout(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) throw IoError(dir.string() + ": no such directory");
  if (!std::filesystem::is_directory(dir, ec)) throw IoError(dir.string() + ": not a directory");
  // A layout whose ratings file is present decides; then every one of its files must be there, and
  // be a regular file: a directory, a FIFO or a broken link is named as such.
  for (auto layout : kLayouts) {
    const auto files = detail::layout_files(layout);
    if (!is_present(dir / files[0])) continue;
    std::vector<std::string> missing;
    for (const auto& f : files) {
      if (!is_present(dir / f)) {
        missing.push_back(f);
      } else if (const auto problem = regular_file_problem(dir / f)) {
        throw IoError(fmt::format("{} (the {} layout of {} reads it)", *problem, layout_name(layout),
                                  layout_releases(layout)));
      }
    }
    if (missing.empty()) return layout;
    std::string list;
    for (const auto& f : missing) list += (list.empty() ? "" : ", ") + (dir / f).string();
    throw IoError(fmt::format("{}: found {} but not {} (the {} layout of {} needs all of them)", dir.string(),
                              files[0], list, layout_name(layout), layout_releases(layout)));
  }
  throw IoError(fmt::format("{}: no MovieLens data found; looked for {}", dir.string(), looked_for()));
}

Dataset load_dataset(const std::filesystem::path& dir, const LoadOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  const Layout layout = detect_layout(dir);
  const auto cache_file = dir / detail::kCacheFileName;
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };

  std::vector<detail::SourceStamp> stamps;
  if (options.use_cache) {
    stamps = detail::stamp_sources(dir, layout);
    auto cached = detail::read_dataset_cache(cache_file, layout, stamps, options);
    if (cached.dataset) {
      Dataset ds = std::move(*cached.dataset);
      ds.dir = dir;
      ds.report.seconds = elapsed();
      spdlog::info("loaded {} ratings of {} users on {} movies from the cache {} in {:.2f} s",
                   ds.ratings.nnz(), ds.ratings.n_users(), ds.ratings.n_movies(), cache_file.string(),
                   ds.report.seconds);
      return ds;
    }
    spdlog::info("reading the MovieLens files in {} ({} layout): cache not used because {}", dir.string(),
                 layout_name(layout), cached.why_not);
  }

  Dataset ds = detail::read_movielens(dir, layout, options);
  ds.report.seconds = elapsed();
  spdlog::info("loaded {} ratings of {} users on {} movies from {} in {:.2f} s", ds.ratings.nnz(),
               ds.ratings.n_users(), ds.ratings.n_movies(), dir.string(), ds.report.seconds);

  if (options.use_cache) {
    // A source rewritten while it was parsed must not be cached under its new stamp.
    if (detail::stamp_sources(dir, layout) != stamps) {
      spdlog::warn("a file in {} changed while it was read; not writing the cache", dir.string());
    } else if (!directory_writable_by_mode(dir)) {
      spdlog::warn("{} is read-only; no dataset cache written (the next load parses the text again)",
                   dir.string());
    } else {
      try {
        detail::write_dataset_cache(cache_file, ds, stamps, options);
        spdlog::debug("wrote the dataset cache {}", cache_file.string());
      } catch (const Error& e) {
        spdlog::warn(
            "could not write the dataset cache ({}); loading works, but the next load parses the text again",
            e.what());
      }
    }
  }
  return ds;
}

}  // namespace cinefactor
