// Atomic file output: write to a temporary file beside the target, fsync, then rename over it.
// A reader never sees a half-written file; a failure leaves the old file (or nothing) in place.
#pragma once

#include <filesystem>
#include <fstream>
#include <string_view>

namespace cinefactor {

class AtomicFile {
 public:
  explicit AtomicFile(std::filesystem::path target);
  ~AtomicFile();  // removes the temporary file unless commit() succeeded
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  std::ofstream& stream() { return out_; }
  const std::filesystem::path& temp_path() const { return temp_; }
  // Flushes, fsyncs and renames onto the target. Throws IoError on failure.
  void commit();

 private:
  std::filesystem::path target_;
  std::filesystem::path temp_;
  std::ofstream out_;
  bool committed_ = false;
};

// Writes `bytes` to `path` atomically.
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes);

// A unique sibling path for temporary output next to `target` (same directory, so rename is atomic).
std::filesystem::path temp_sibling(const std::filesystem::path& target);

// fsyncs a file or directory by path; throws IoError on failure.
void fsync_path(const std::filesystem::path& path);

}  // namespace cinefactor
