// The binary dataset cache beside the MovieLens files (DIR/.cinefactor-cache.bin): the parsed rating
// matrix and catalog, so a second load skips the text parsing. It records the size, mtime, ctime and
// inode of each source file and the load options that change the result; a cache that does not match
// them, or that is truncated, corrupted, foreign or of another version, is never trusted. Internal.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "cinefactor/dataset.hpp"

namespace cinefactor::detail {

inline constexpr const char* kCacheFileName = ".cinefactor-cache.bin";
inline constexpr std::uint32_t kCacheVersion = 2;  // 2: sources stamped with ctime, inode and device

// What a source file looked like when the cache was built.
struct SourceStamp {
  std::string name;  // file name inside the data directory
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  // An edit that keeps the size and restores the mtime (cp -p, rsync -t, tar) still changes the ctime,
  // which no user call can set back, or, for a file replaced by a rename, the inode.
  std::int64_t ctime_ns = 0;
  std::uint64_t inode = 0;
  std::uint64_t device = 0;
  bool operator==(const SourceStamp&) const = default;
};

// Stats the files of `layout` in `dir`; throws IoError naming a file that cannot be stat'ed.
std::vector<SourceStamp> stamp_sources(const std::filesystem::path& dir, Layout layout);

struct CacheRead {
  std::optional<Dataset> dataset;  // set when the cache matched and was intact
  std::string why_not;  // otherwise: why it cannot be used ("no cache yet", "ratings.csv changed", ...)
};

// Reads `file` when it was built from exactly `sources` with the same result-changing options.
// Never throws for a bad cache: a bad cache is reported in why_not.
CacheRead read_dataset_cache(const std::filesystem::path& file, Layout layout,
                             const std::vector<SourceStamp>& sources, const LoadOptions& options);

// Writes the cache atomically; throws IoError when it cannot be written.
void write_dataset_cache(const std::filesystem::path& file, const Dataset& dataset,
                         const std::vector<SourceStamp>& sources, const LoadOptions& options);

}  // namespace cinefactor::detail
