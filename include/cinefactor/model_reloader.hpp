// Hot reload of the server's model files: each file is watched by its modification stamp; a changed
// file is loaded completely (checksum included) and only then swapped into the ModelRegistry, so a
// request never sees a half-loaded model. A file that cannot be loaded, or that now holds another
// algorithm, is refused with a logged error and the model already serving stays; so is a path that
// is not a regular file (a directory, a FIFO, a device), which is never opened for reading.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cinefactor/model_registry.hpp"

namespace cinefactor {

struct ReloadResult {
  int reloaded = 0;  // files swapped in
  int refused = 0;   // files that changed but could not be loaded (the old model keeps serving)
};

class ModelReloader {
 public:
  // Loads every file into `registry` under its algorithm's name, in order (the first is the primary
  // model). Throws IoError / FormatError for a file that cannot be loaded, InvalidArgument when two
  // files hold the same algorithm.
  ModelReloader(std::shared_ptr<ModelRegistry> registry, std::vector<std::filesystem::path> files);
  ~ModelReloader();  // stop_watching()
  ModelReloader(const ModelReloader&) = delete;
  ModelReloader& operator=(const ModelReloader&) = delete;

  // Reloads every file (force, as on SIGHUP) or only those whose stamp (mtime, size, inode) changed
  // since they were last read and has stayed the same for one poll (a file still being written is
  // left for the next poll).
  ReloadResult reload(bool force);
  ReloadResult poll() { return reload(false); }

  // Polls every `interval` (never when 0) on a background thread until stop_watching(); the same
  // thread runs the reloads request_reload() asks for, so the caller never waits on a file.
  void start_watching(std::chrono::milliseconds interval);
  // Asks the watching thread for a reload of every file (SIGHUP) and returns at once.
  void request_reload();
  // Stops the watching thread. True when it stopped within `timeout`; false when it is still inside
  // a load (a file system that does not answer): the thread cannot be interrupted, and the caller
  // that wants to exit must end the process rather than destroy this object.
  bool stop_watching(std::chrono::milliseconds timeout);
  void stop_watching();

 private:
  struct Stamp {
    std::int64_t mtime_ns = -1;
    std::int64_t size = -1;
    std::uint64_t inode = 0;
    bool operator==(const Stamp&) const = default;
  };
  struct Watched {
    std::filesystem::path path;
    std::string name;  // the algorithm it was loaded as
    Stamp loaded;      // the stamp last read (loaded or refused)
    Stamp pending;     // a change seen by the last poll, loaded when it holds still
  };
  static Stamp stamp_of(const std::filesystem::path& path);
  bool load_into_registry(Watched& w, const Stamp& stamp);

  std::shared_ptr<ModelRegistry> registry_;
  std::mutex mutex_;  // one reload at a time
  std::vector<Watched> files_;
  std::thread watcher_;
  std::mutex watch_mutex_;
  std::condition_variable watch_cv_;
  bool stop_ = false;
  bool reload_requested_ = false;
  bool watching_ = false;  // the watcher thread is in its loop (not finished)
};

}  // namespace cinefactor
