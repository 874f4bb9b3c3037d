#include "core/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <random>
#include <system_error>

#include "cinefactor/error.hpp"

namespace cinefactor {

std::filesystem::path temp_sibling(const std::filesystem::path& target) {
  static std::atomic<unsigned> counter{0};
  std::random_device rd;
  auto name = "." + target.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" +
              std::to_string(counter.fetch_add(1)) + "-" + std::to_string(rd() & 0xffffu);
  return target.parent_path() / name;
}

void fsync_path(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw IoError("cannot open " + path.string() + " to sync it: " + std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  // Some file systems refuse fsync on directories (EINVAL); the rename is still atomic there.
  if (rc != 0 && err != EINVAL) throw IoError("cannot sync " + path.string() + ": " + std::strerror(err));
}

AtomicFile::AtomicFile(std::filesystem::path target)
    : target_(std::move(target)), temp_(temp_sibling(target_)) {
  out_.open(temp_, std::ios::binary | std::ios::trunc);
  if (!out_) throw IoError("cannot create " + temp_.string() + ": " + std::strerror(errno));
}

AtomicFile::~AtomicFile() {
  if (!committed_) {
    out_.close();
    std::error_code ec;
    std::filesystem::remove(temp_, ec);
  }
}

void AtomicFile::commit() {
  out_.flush();
  if (!out_) throw IoError("cannot write " + temp_.string());
  out_.close();
  fsync_path(temp_);
  std::error_code ec;
  std::filesystem::rename(temp_, target_, ec);
  if (ec) throw IoError("cannot rename " + temp_.string() + " to " + target_.string() + ": " + ec.message());
  committed_ = true;
  auto dir = target_.parent_path();
  fsync_path(dir.empty() ? std::filesystem::path(".") : dir);
}

void write_file_atomic(const std::filesystem::path& path, std::string_view bytes) {
  AtomicFile file(path);
  file.stream().write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  file.commit();
}

}  // namespace cinefactor
