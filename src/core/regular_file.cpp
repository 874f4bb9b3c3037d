#include "core/regular_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cinefactor/error.hpp"

namespace cinefactor {
namespace {

std::string not_regular(const std::filesystem::path& path, mode_t mode) {
  return path.string() + " is " + std::string(file_kind(mode)) + ", not a regular file";
}

}  // namespace

std::string_view file_kind(mode_t mode) noexcept {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISLNK(mode)) return "a symbolic link";
  return "not a regular file";
}

std::optional<std::string> regular_file_problem(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    struct stat link {};
    if (err == ENOENT && ::lstat(path.c_str(), &link) == 0)
      return path.string() + " is a symbolic link to a file that does not exist";
    return "cannot open " + path.string() + ": " + std::strerror(err);
  }
  if (!S_ISREG(st.st_mode)) return not_regular(path, st.st_mode);
  return std::nullopt;
}

RegularFile::RegularFile(const std::filesystem::path& path) : path_(path) {
  // O_NONBLOCK: an open of a FIFO returns at once instead of waiting for a writer; the file type is
  // checked on the descriptor (no window between a check and the open), then blocking reads resume.
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd_ < 0) throw IoError("cannot open " + path.string() + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    const int err = errno;
    ::close(fd_);
    throw IoError("cannot stat " + path.string() + ": " + std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd_);
    throw IoError(not_regular(path, st.st_mode));
  }
  const int flags = ::fcntl(fd_, F_GETFL);
  if (flags >= 0) ::fcntl(fd_, F_SETFL, flags & ~O_NONBLOCK);
  size_ = static_cast<std::uint64_t>(st.st_size);
}

RegularFile::~RegularFile() {
  if (fd_ >= 0) ::close(fd_);
}

std::size_t RegularFile::read(void* out, std::size_t n) {
  auto* p = static_cast<char*>(out);
  std::size_t done = 0;
  while (done < n) {
    const auto got = ::read(fd_, p + done, n - done);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw IoError("cannot read " + path_.string() + ": " + std::strerror(errno));
    if (got == 0) break;
    done += static_cast<std::size_t>(got);
  }
  return done;
}

std::string read_regular_file(const std::filesystem::path& path) {
  RegularFile file(path);
  std::string bytes(static_cast<std::size_t>(file.size()), '\0');
  const auto got = file.read(bytes.data(), bytes.size());
  char extra = 0;
  if (got != bytes.size() || file.read(&extra, 1) != 0)
    throw IoError("cannot read " + path.string() + ": it changed size while it was read");
  return bytes;
}

}  // namespace cinefactor
