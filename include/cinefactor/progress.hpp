// Progress reporting for long work (loading, generating, fetching, training). On a terminal it
// draws a bar with rate and ETA; otherwise it writes a plain log line now and then; in quiet mode
// it stays silent. Safe to advance from several threads.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace cinefactor {

class Progress {
 public:
  // total = 0 when the amount of work is unknown (then no ETA is shown).
  Progress(std::string label, std::int64_t total, std::string unit = "");
  ~Progress();  // without finish(): abandoned work, no summary line
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void advance(std::int64_t n = 1);
  void set(std::int64_t done);
  void set_total(std::int64_t total);
  // Draws the final state (a summary line with the rate) and ends the line.
  void finish();

  static void set_quiet(bool quiet) noexcept;
  static bool quiet() noexcept;

 private:
  void maybe_draw(bool force);

  std::string label_;
  std::string unit_;
  std::atomic<std::int64_t> total_;
  std::atomic<std::int64_t> done_{0};
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  std::mutex draw_mutex_;
  bool tty_;
  bool finished_ = false;
};

}  // namespace cinefactor
