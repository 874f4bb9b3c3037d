// The one way cinefactor opens a file to read it: data files, the dataset cache, model files (the CLI
// and the server's reloader alike). Only a regular file is read. A FIFO, a socket, a device or a
// directory is refused with a message that says what is there instead, and the open itself never
// blocks (O_NONBLOCK: opening a FIFO with no writer would wait forever).
#pragma once

#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace cinefactor {

// "a directory", "a FIFO (named pipe)", "a socket", "a character device", "a block device",
// "a symbolic link", or "not a regular file": what a non-regular file of this st_mode is.
std::string_view file_kind(mode_t mode) noexcept;

// Why `path` cannot be read as a regular file ("PATH is a FIFO (named pipe), not a regular file",
// "cannot open PATH: Too many levels of symbolic links", ...); nothing when it is one. Follows
// symbolic links; never opens the file.
std::optional<std::string> regular_file_problem(const std::filesystem::path& path);

// A regular file opened read-only.
class RegularFile {
 public:
  // Throws IoError: "cannot open PATH: reason", or "PATH is a directory, not a regular file" (and
  // the like) for anything that is not a regular file.
  explicit RegularFile(const std::filesystem::path& path);
  ~RegularFile();
  RegularFile(const RegularFile&) = delete;
  RegularFile& operator=(const RegularFile&) = delete;

  int fd() const noexcept { return fd_; }
  const std::filesystem::path& path() const noexcept { return path_; }
  // Size when opened.
  std::uint64_t size() const noexcept { return size_; }
  // Reads up to `n` bytes, retrying short reads; returns fewer only at the end of the file. Throws
  // IoError "cannot read PATH: reason".
  std::size_t read(void* out, std::size_t n);

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
};

// The whole content of a regular file. Throws IoError (as RegularFile, and when the file changes
// size while it is read).
std::string read_regular_file(const std::filesystem::path& path);

}  // namespace cinefactor
