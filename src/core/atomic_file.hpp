// Atomic, durable output for files and whole directories: one mechanism. Output is written under a
// hidden temporary name beside its target (same directory, so the final rename is atomic), synced,
// then renamed onto the target. A reader never sees a half-written file or a half-filled directory; a
// failure or a crash leaves the old target (or nothing) in place, plus at worst a temporary whose name
// says which process left it, so that remove_stale_temporaries() can clear it later.
//
// Every temporary is named by temp_sibling(): ".NAME.tmp-PID-UNIQUE" beside the target NAME. Each
// AtomicFile and StagedDirectory first sweeps the temporaries of its target that dead processes left
// (remove_stale_temporaries), and a process that called remove_temporaries_on_signal() removes its own
// when SIGINT or SIGTERM ends it.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string_view>
#include <vector>

namespace cinefactor {

// A fresh hidden temporary name beside `target`: ".NAME.tmp-PID-UNIQUE" in target's directory.
std::filesystem::path temp_sibling(const std::filesystem::path& target);

// Removes (recursively) the temporaries of `target`, the temp_sibling() names of it in its directory,
// whose process is no longer running. Returns the paths removed. Throws IoError when the directory
// cannot be listed or a stale temporary cannot be removed.
std::vector<std::filesystem::path> remove_stale_temporaries(const std::filesystem::path& target);

// Installs SIGINT and SIGTERM handlers that remove (recursively) every temporary this process holds
// open, the live ScopedPaths, and then let the signal end the process as it would have (the exit status
// still says "killed by SIGINT"). The handler is async-signal-safe: it only unlinks and reads
// directories. The CLI calls this once at start; a program that waits for these signals itself (the
// server's sigwait loop) gets nothing from it and loses nothing.
void remove_temporaries_on_signal();

// fsyncs a file or directory by path; throws IoError on failure.
void fsync_path(const std::filesystem::path& path);
// fsyncs every directory under `root`, then `root` itself: their entries become durable.
void fsync_tree(const std::filesystem::path& root);

// A path removed (recursively) at scope exit unless released, and by remove_temporaries_on_signal()'s
// handler while it is held.
class ScopedPath {
 public:
  explicit ScopedPath(std::filesystem::path path);
  ~ScopedPath() { remove(); }
  ScopedPath(const ScopedPath&) = delete;
  ScopedPath& operator=(const ScopedPath&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // Keeps the path: it is no longer removed.
  void release();
  // Removes it now (a warning, not an exception, when that fails) and forgets it.
  void remove();

 private:
  std::filesystem::path path_;
  int signal_slot_ = -1;  // its entry in the table the signal handler reads (-1: table full)
};

// A file written from start to end and made durable by close(): flush, fsync, close.
class SyncedFile {
 public:
  // Creates or truncates `path`; `exclusive` refuses anything already there (links included).
  // Throws IoError "cannot create PATH: reason".
  explicit SyncedFile(std::filesystem::path path, bool exclusive = false);
  ~SyncedFile();  // closes without syncing when close() was not reached
  SyncedFile(const SyncedFile&) = delete;
  SyncedFile& operator=(const SyncedFile&) = delete;

  // Throws IoError "cannot write PATH: reason".
  void write(std::string_view bytes);
  // Flushes, fsyncs and closes; returns the bytes written. Throws IoError.
  std::int64_t close();

 private:
  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
  std::int64_t bytes_ = 0;
};

// A file that appears at its target only when commit() succeeds.
class AtomicFile {
 public:
  explicit AtomicFile(std::filesystem::path target);  // creates the temporary; throws IoError

  void write(std::string_view bytes) { file_.write(bytes); }
  // Syncs the temporary and renames it onto the target (replacing a file there). Throws IoError.
  void commit();

 private:
  std::filesystem::path target_;
  ScopedPath temp_;  // removed on destruction unless committed (declared before file_: closed first)
  SyncedFile file_;
};

// Writes `bytes` to `path` atomically.
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes);

// A directory that appears at its target only when commit() succeeds: it is filled under a hidden
// temporary name beside the target and removed, with everything in it, unless committed.
class StagedDirectory {
 public:
  // Creates the temporary directory; the target's parent must exist. Throws IoError.
  explicit StagedDirectory(std::filesystem::path target);
  StagedDirectory(const StagedDirectory&) = delete;
  StagedDirectory& operator=(const StagedDirectory&) = delete;

  // Where to write: the temporary directory.
  const std::filesystem::path& path() const { return dir_.path(); }

  // Publishes path() / `content` (path() itself when `content` is empty) as the target, after
  // syncing its directories (the files in it are the writer's to sync: SyncedFile does). An absent
  // or empty target is replaced by a plain rename. A target that is there otherwise is replaced only
  // when `replace_existing`: in one atomic exchange (renameat2 RENAME_EXCHANGE), or, where the file
  // system cannot exchange, by moving it aside first; the old tree is then removed. Returns false,
  // leaving the target alone, when it is there and not to be replaced. Anything else left in the
  // temporary directory is removed. Throws IoError.
  [[nodiscard]] bool commit(bool replace_existing, const std::filesystem::path& content = {});

 private:
  // Puts `source` at the occupied target and removes the old tree (or leaves it at `source`, inside
  // the temporary directory, for commit() to remove).
  void replace_target(const std::filesystem::path& source);

  std::filesystem::path target_;
  ScopedPath dir_;
};

}  // namespace cinefactor
