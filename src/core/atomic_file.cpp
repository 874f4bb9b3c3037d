#include "core/atomic_file.hpp"

#include <dirent.h>
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

// The temporaries a signal handler removes: a fixed table it can read without locks or allocation. A
// slot is claimed (free -> writing), filled, published (-> live); the handler takes a live slot
// (-> removing) before it reads the path, so the owner cannot reuse the slot under it.
constexpr std::size_t kSignalSlots = 64;        // live temporaries at once; more are not tracked
constexpr std::size_t kSignalPathBytes = 4096;  // PATH_MAX; a longer path is not tracked
constexpr int kSlotFree = 0, kSlotWriting = 1, kSlotLive = 2, kSlotRemoving = 3;
struct SignalSlot {
  std::atomic<int> state{kSlotFree};
  char path[kSignalPathBytes];
};
SignalSlot g_signal_slots[kSignalSlots];

int track_for_signals(const fs::path& path) {
  const auto& text = path.native();
  if (text.empty() || text.size() >= kSignalPathBytes) return -1;
  for (std::size_t i = 0; i < kSignalSlots; ++i) {
    int expected = kSlotFree;
    if (!g_signal_slots[i].state.compare_exchange_strong(expected, kSlotWriting)) continue;
    std::memcpy(g_signal_slots[i].path, text.c_str(), text.size() + 1);
    g_signal_slots[i].state.store(kSlotLive);
    return static_cast<int>(i);
  }
  return -1;
}

void untrack_for_signals(int slot) {
  if (slot < 0) return;
  int expected = kSlotLive;  // a slot the handler is removing stays taken: the process is ending
  g_signal_slots[slot].state.compare_exchange_strong(expected, kSlotFree);
}

// Removes `name` (relative to `dir_fd`) and, for a directory, everything in it, with async-signal-safe
// calls only. Best effort: what cannot be removed stays for the next sweep.
void remove_tree_in_handler(int dir_fd, const char* name, int depth) {
  constexpr int kMaxDepth = 16;
  constexpr int kMaxPasses = 8;  // a directory read while it is emptied may need a second pass
  if (::unlinkat(dir_fd, name, 0) == 0 || errno == ENOENT) return;
  if (depth >= kMaxDepth) return;
  const int fd = ::openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return;
  for (int pass = 0; pass < kMaxPasses; ++pass) {
    alignas(8) char buffer[2048];
    ::lseek(fd, 0, SEEK_SET);
    for (;;) {
      const auto n = ::getdents64(fd, buffer, sizeof buffer);
      if (n <= 0) break;
      for (std::size_t at = 0; at < static_cast<std::size_t>(n);) {
        const auto* entry = reinterpret_cast<const struct dirent64*>(buffer + at);
        at += entry->d_reclen;
        const char* child = entry->d_name;
        if (std::strcmp(child, ".") == 0 || std::strcmp(child, "..") == 0) continue;
        remove_tree_in_handler(fd, child, depth + 1);
      }
    }
    if (::unlinkat(dir_fd, name, AT_REMOVEDIR) == 0 || errno != ENOTEMPTY) break;
  }
  ::close(fd);
}

extern "C" void remove_temporaries_and_die(int sig) {
  const int saved_errno = errno;
  for (auto& slot : g_signal_slots) {
    int expected = kSlotLive;
    if (slot.state.compare_exchange_strong(expected, kSlotRemoving))
      remove_tree_in_handler(AT_FDCWD, slot.path, 0);
  }
  errno = saved_errno;
  // SA_RESETHAND restored the default action; the signal is blocked until this handler returns, and
  // then ends the process as if no handler had been there.
  ::raise(sig);
}

}  // namespace

void remove_temporaries_on_signal() {
  struct sigaction action {};
  action.sa_handler = remove_temporaries_and_die;
  action.sa_flags = SA_RESETHAND;
  sigemptyset(&action.sa_mask);
  sigaddset(&action.sa_mask, SIGINT);
  sigaddset(&action.sa_mask, SIGTERM);
  for (const int sig : {SIGINT, SIGTERM}) {
    if (::sigaction(sig, &action, nullptr) != 0)
      throw IoError(fmt::format("cannot install the handler of signal {}: {}", sig, errno_text(errno)));
  }
}

ScopedPath::ScopedPath(fs::path path) : path_(std::move(path)), signal_slot_(track_for_signals(path_)) {}

void ScopedPath::release() {
  untrack_for_signals(std::exchange(signal_slot_, -1));
  path_.clear();
}

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

namespace {

// A fresh temporary name for a new write of `target`, after removing the temporaries of `target` that
// dead processes left (killed, or out of power). The sweep is best effort: the write goes ahead.
fs::path swept_temp_sibling(const fs::path& target) {
  try {
    for (const auto& path : remove_stale_temporaries(target))
      spdlog::debug("removed {}, left by a process that no longer runs", path.string());
  } catch (const IoError& e) {
    spdlog::warn("{}", e.what());
  }
  return temp_sibling(target);
}

}  // namespace

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
  release();
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
    : target_(std::move(target)),
      temp_(swept_temp_sibling(target_)),
      file_(temp_.path(), /*exclusive=*/true) {}

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

StagedDirectory::StagedDirectory(fs::path target)
    : target_(std::move(target)), dir_(swept_temp_sibling(target_)) {
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
  // No atomic exchange on this file system: move the old tree aside first. The aside name is not a
  // ScopedPath until the new tree is in place: a signal in between must not remove the only copy.
  const fs::path aside = temp_sibling(target_);
  if (::rename(target_.c_str(), aside.c_str()) != 0) {
    throw IoError("cannot move " + target_.string() + " away: " + errno_text(errno));
  }
  if (::rename(source.c_str(), target_.c_str()) != 0) {
    const int err = errno;
    ::rename(aside.c_str(), target_.c_str());  // never remove the old tree on failure: put it back
    throw IoError("cannot rename " + source.string() + " to " + target_.string() + ": " + errno_text(err));
  }
  ScopedPath old(aside);  // removed now
}

}  // namespace cinefactor
