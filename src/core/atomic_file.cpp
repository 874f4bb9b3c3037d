#include "core/atomic_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <stdio.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <random>
#include <system_error>
#include <utility>

#include "cinefactor/error.hpp"

namespace cinefactor {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kTempMarker = ".tmp-";  // between the target's name and the PID

fs::path directory_of(const fs::path& target) {
  const auto dir = target.parent_path();
  return dir.empty() ? fs::path(".") : dir;
}

std::string errno_text(int err) {
  return std::strerror(err);
}

// The PID in `file_name` when it is a temporary "PREFIXPID-UNIQUE" (PREFIX = ".NAME.tmp-"), else 0.
pid_t temp_owner(std::string_view file_name, std::string_view prefix) {
  if (!file_name.starts_with(prefix)) return 0;
  file_name.remove_prefix(prefix.size());
  const auto dash = file_name.find('-');
  if (dash == 0 || dash == std::string_view::npos || dash + 1 == file_name.size()) return 0;
  long long pid = 0;
  for (char c : file_name.substr(0, dash)) {
    if (c < '0' || c > '9' || pid > 1'000'000'000LL) return 0;
    pid = pid * 10 + (c - '0');
  }
  return static_cast<pid_t>(pid);
}

bool process_alive(pid_t pid) {
  return ::kill(pid, 0) == 0 || errno == EPERM;
}

}  // namespace

fs::path temp_sibling(const fs::path& target) {
  static std::atomic<std::uint32_t> counter{0};
  std::random_device rd;
  const std::uint64_t unique = (std::uint64_t{rd()} << 32) | counter.fetch_add(1);
  return target.parent_path() /
         fmt::format(".{}{}{}-{:016x}", target.filename().string(), kTempMarker, ::getpid(), unique);
}

std::vector<fs::path> remove_stale_temporaries(const fs::path& target) {
  const fs::path dir = directory_of(target);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return {};
  const std::string prefix = "." + target.filename().string() + std::string(kTempMarker);
  std::vector<fs::path> stale;
  for (const auto& item : fs::directory_iterator(dir, ec)) {
    const pid_t pid = temp_owner(item.path().filename().string(), prefix);
    if (pid > 0 && pid != ::getpid() && !process_alive(pid)) stale.push_back(item.path());
  }
  if (ec) throw IoError("cannot list " + dir.string() + ": " + ec.message());
  for (const auto& path : stale) {
    fs::remove_all(path, ec);
    if (ec) throw IoError("cannot remove stale " + path.string() + ": " + ec.message());
  }
  return stale;
}

void fsync_path(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw IoError("cannot open " + path.string() + " to sync it: " + errno_text(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  // Some file systems refuse fsync on directories (EINVAL); the rename is still atomic there.
  if (rc != 0 && err != EINVAL) throw IoError("cannot sync " + path.string() + ": " + errno_text(err));
}

void fsync_tree(const fs::path& root) {
  for (const auto& item : fs::recursive_directory_iterator(root)) {
    if (item.is_directory()) fsync_path(item.path());
  }
  fsync_path(root);
}

void ScopedPath::remove() {
  if (path_.empty()) return;
  std::error_code ec;
  fs::remove_all(path_, ec);
  if (ec) spdlog::warn("cannot remove {}: {}", path_.string(), ec.message());
  path_.clear();
}

SyncedFile::SyncedFile(fs::path path, bool exclusive)
    : path_(std::move(path)), file_(std::fopen(path_.c_str(), exclusive ? "wbx" : "wb")) {
  if (file_ == nullptr) throw IoError("cannot create " + path_.string() + ": " + errno_text(errno));
}

SyncedFile::~SyncedFile() {
  if (file_ != nullptr) std::fclose(file_);
}

void SyncedFile::write(std::string_view bytes) {
  if (std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()) {
    throw IoError("cannot write " + path_.string() + ": " + errno_text(errno));
  }
  bytes_ += static_cast<std::int64_t>(bytes.size());
}

std::int64_t SyncedFile::close() {
  std::FILE* f = std::exchange(file_, nullptr);
  bool ok = std::fflush(f) == 0;
  int err = errno;
  if (ok && ::fsync(fileno(f)) != 0) {
    ok = false;
    err = errno;
  }
  if (std::fclose(f) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (!ok) throw IoError("cannot write " + path_.string() + ": " + errno_text(err));
  return bytes_;
}

AtomicFile::AtomicFile(fs::path target)
    : target_(std::move(target)), temp_(temp_sibling(target_)), file_(temp_.path(), /*exclusive=*/true) {}

void AtomicFile::commit() {
  file_.close();
  std::error_code ec;
  fs::rename(temp_.path(), target_, ec);
  if (ec)
    throw IoError("cannot rename " + temp_.path().string() + " to " + target_.string() + ": " + ec.message());
  temp_.release();
  fsync_path(directory_of(target_));
}

void write_file_atomic(const fs::path& path, std::string_view bytes) {
  AtomicFile file(path);
  file.write(bytes);
  file.commit();
}

StagedDirectory::StagedDirectory(fs::path target) : target_(std::move(target)), dir_(temp_sibling(target_)) {
  std::error_code ec;
  if (!fs::create_directory(dir_.path(), ec) || ec) {
    const auto path = dir_.path();
    dir_.release();  // not ours to remove
    throw IoError("cannot create " + path.string() + ": " + (ec ? ec.message() : "it already exists"));
  }
}

bool StagedDirectory::commit(bool replace_existing, const fs::path& content) {
  const fs::path source = content.empty() ? dir_.path() : dir_.path() / content;
  fsync_tree(source);
  if (::rename(source.c_str(), target_.c_str()) != 0) {
    const int err = errno;
    if (err != EEXIST && err != ENOTEMPTY && err != ENOTDIR) {
      throw IoError("cannot move " + source.string() + " to " + target_.string() + ": " + errno_text(err));
    }
    if (!replace_existing) return false;
    replace_target(source);
  }
  // The rest of the temporary directory and the replaced tree (nothing when path() was published).
  dir_.remove();
  fsync_path(directory_of(target_));
  return true;
}

void StagedDirectory::replace_target(const fs::path& source) {
  if (::renameat2(AT_FDCWD, source.c_str(), AT_FDCWD, target_.c_str(), RENAME_EXCHANGE) == 0) return;
  if (errno != EINVAL && errno != ENOSYS) {
    throw IoError("cannot replace " + target_.string() + ": " + errno_text(errno));
  }
  // No atomic exchange on this file system: move the old tree aside first.
  ScopedPath old(temp_sibling(target_));
  if (::rename(target_.c_str(), old.path().c_str()) != 0) {
    const int err = errno;
    old.release();
    throw IoError("cannot move " + target_.string() + " away: " + errno_text(err));
  }
  if (::rename(source.c_str(), target_.c_str()) != 0) {
    const int err = errno;
    const fs::path aside = old.path();
    old.release();                             // never remove the old tree on failure:
    ::rename(aside.c_str(), target_.c_str());  // put it back where it was
    throw IoError("cannot rename " + source.string() + " to " + target_.string() + ": " + errno_text(err));
  }
}

}  // namespace cinefactor
