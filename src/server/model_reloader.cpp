#include "cinefactor/model_reloader.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <set>

#include "cinefactor/error.hpp"
#include "cinefactor/model_file.hpp"

namespace cinefactor {
ModelReloader::Stamp ModelReloader::stamp_of(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  constexpr std::int64_t kNsPerSecond = 1'000'000'000;
  return {static_cast<std::int64_t>(st.st_mtim.tv_sec) * kNsPerSecond + st.st_mtim.tv_nsec,
          static_cast<std::int64_t>(st.st_size), static_cast<std::uint64_t>(st.st_ino)};
}

ModelReloader::ModelReloader(std::shared_ptr<ModelRegistry> registry,
                             std::vector<std::filesystem::path> files)
    : registry_(std::move(registry)) {
  if (!registry_) throw InvalidArgument("the model reloader needs a registry");
  if (files.empty()) throw InvalidArgument("no model file given");
  // Everything is loaded and checked before the registry sees any of it.
  std::vector<std::shared_ptr<const Model>> models;
  std::set<std::string> names;
  for (auto& path : files) {
    Watched w{std::move(path), {}, {}, {}};
    w.loaded = stamp_of(w.path);
    models.push_back(std::make_shared<const Model>(load_model(w.path)));
    w.name = std::string(algorithm_name(models.back()->algorithm));
    if (!names.insert(w.name).second) {
      throw InvalidArgument(w.path.string() + ": a second " + w.name +
                            " model (give one model file per algorithm)");
    }
    files_.push_back(std::move(w));
  }
  for (std::size_t i = 0; i < files_.size(); ++i) {
    registry_->put(files_[i].name, models[i], files_[i].path.string());
    spdlog::info("loaded model {}: {} ({} movies, k = {})", files_[i].name, files_[i].path.string(),
                 models[i]->n_movies(), models[i]->rank());
  }
}

ModelReloader::~ModelReloader() {
  stop_watching();
}

// Loads the file completely, then swaps it in; on failure logs and keeps the old model.
bool ModelReloader::load_into_registry(Watched& w, const Stamp& stamp) {
  w.loaded = stamp;
  w.pending = {};
  try {
    const auto started = std::chrono::steady_clock::now();
    auto model = std::make_shared<const Model>(load_model(w.path));
    const std::string name(algorithm_name(model->algorithm));
    if (name != w.name) {
      throw FormatError(w.path.string() + ": now holds a " + name + " model; it was loaded as " + w.name +
                        " (restart the server to change algorithms)");
    }
    registry_->put(name, model, w.path.string());
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    spdlog::info("reloaded model {}: {} ({} movies, k = {}, {:.2f} s)", name, w.path.string(),
                 model->n_movies(), model->rank(), seconds);
    return true;
  } catch (const std::exception& e) {
    spdlog::error("model reload refused, the {} model already loaded keeps serving: {}", w.name, e.what());
    return false;
  }
}

ReloadResult ModelReloader::reload(bool force) {
  std::lock_guard lock(mutex_);
  ReloadResult result;
  for (auto& w : files_) {
    const auto stamp = stamp_of(w.path);
    if (!force) {
      if (stamp == w.loaded) {
        w.pending = {};
        continue;
      }
      if (!(stamp == w.pending)) {  // changed since the last poll: wait until it holds still
        w.pending = stamp;
        continue;
      }
    }
    if (load_into_registry(w, stamp)) {
      ++result.reloaded;
    } else {
      ++result.refused;
    }
  }
  return result;
}

void ModelReloader::start_watching(std::chrono::milliseconds interval) {
  stop_watching();
  {
    std::lock_guard lock(watch_mutex_);
    stop_ = false;
    watching_ = true;
  }
  watcher_ = std::thread([this, interval] {
    std::unique_lock lock(watch_mutex_);
    while (true) {
      const auto woken = [this] { return stop_ || reload_requested_; };
      if (interval.count() > 0) {
        watch_cv_.wait_for(lock, interval, woken);
      } else {
        watch_cv_.wait(lock, woken);
      }
      if (stop_) break;
      const bool force = reload_requested_;
      reload_requested_ = false;
      lock.unlock();
      reload(force);
      lock.lock();
    }
    watching_ = false;
    watch_cv_.notify_all();
  });
}

void ModelReloader::request_reload() {
  {
    std::lock_guard lock(watch_mutex_);
    reload_requested_ = true;
  }
  watch_cv_.notify_all();
}

bool ModelReloader::stop_watching(std::chrono::milliseconds timeout) {
  {
    std::unique_lock lock(watch_mutex_);
    stop_ = true;
    watch_cv_.notify_all();
    if (!watch_cv_.wait_for(lock, timeout, [this] { return !watching_; })) return false;
  }
  if (watcher_.joinable()) watcher_.join();
  return true;
}

void ModelReloader::stop_watching() {
  {
    std::lock_guard lock(watch_mutex_);
    stop_ = true;
  }
  watch_cv_.notify_all();
  if (watcher_.joinable()) watcher_.join();
}

}  // namespace cinefactor
