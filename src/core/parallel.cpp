// The automatic thread count (see parallel.hpp): the cores other processes leave free, from /proc.
#include "core/parallel.hpp"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

namespace cinefactor {
namespace {

// The state letter of /proc/self/task/TID/stat: the field after the parenthesized command name.
bool task_running(const std::filesystem::path& stat) {
  std::ifstream in(stat);
  std::string line;
  if (!std::getline(in, line)) return false;
  const auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'R';
}

}  // namespace

int busy_cores_elsewhere() noexcept {
  try {
    // /proc/loadavg: "1.00 0.50 0.25 RUNNABLE/TOTAL LASTPID"; RUNNABLE counts every running task.
    std::ifstream loadavg("/proc/loadavg");
    double one = 0.0, five = 0.0, fifteen = 0.0;
    int runnable = 0;
    char slash = 0;
    if (!(loadavg >> one >> five >> fifteen >> runnable >> slash) || slash != '/') return 0;
    int own = 0;
    std::error_code ec;
    for (const auto& task : std::filesystem::directory_iterator("/proc/self/task", ec)) {
      if (task_running(task.path() / "stat")) ++own;
    }
    return std::max(0, runnable - std::max(own, 1));  // this thread runs while it reads
  } catch (...) {
    return 0;
  }
}

int resolve_threads(int threads) noexcept {
  if (threads > 0) return threads;
  const int cores = std::max(1, omp_get_max_threads());
  // One look-up per kThreadsRecheckMs for the whole process (a few tens of microseconds of /proc reads).
  static std::atomic<std::int64_t> checked_at{-1};
  static std::atomic<int> busy{0};
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::steady_clock::now().time_since_epoch())
                       .count();
  const auto last = checked_at.load(std::memory_order_relaxed);
  if (last < 0 || now - last >= kThreadsRecheckMs) {
    busy.store(busy_cores_elsewhere(), std::memory_order_relaxed);
    checked_at.store(now, std::memory_order_relaxed);
  }
  return std::max(1, cores - busy.load(std::memory_order_relaxed));
}

}  // namespace cinefactor
