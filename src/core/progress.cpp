#include "cinefactor/progress.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>

namespace cinefactor {
namespace {

std::atomic<bool> g_quiet{false};

constexpr auto kTtyInterval = std::chrono::milliseconds(100);
constexpr auto kLogInterval = std::chrono::seconds(5);
constexpr int kBarWidth = 30;

std::string human(double value) {
  if (value >= 1e9) return fmt::format("{:.2f}G", value / 1e9);
  if (value >= 1e6) return fmt::format("{:.2f}M", value / 1e6);
  if (value >= 1e4) return fmt::format("{:.1f}k", value / 1e3);
  return fmt::format("{:.0f}", value);
}

std::string duration(double seconds) {
  const auto s = static_cast<long long>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}h{:02}m", s / 3600, (s / 60) % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

}  // namespace

Progress::Progress(std::string label, std::int64_t total, std::string unit)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_),
      tty_(isatty(fileno(stderr)) != 0) {}

// Destroyed without finish(): the work was abandoned (an exception is on its way), so no summary line;
// only a bar in progress on the terminal is cleared.
Progress::~Progress() {
  std::lock_guard lock(draw_mutex_);
  if (finished_) return;
  finished_ = true;
  if (tty_ && !g_quiet.load()) std::fprintf(stderr, "\r\033[K");
}

void Progress::advance(std::int64_t n) {
  done_.fetch_add(n, std::memory_order_relaxed);
  maybe_draw(false);
}

void Progress::set(std::int64_t done) {
  done_.store(done, std::memory_order_relaxed);
  maybe_draw(false);
}

void Progress::set_total(std::int64_t total) {
  total_.store(total, std::memory_order_relaxed);
}

void Progress::finish() {
  std::lock_guard lock(draw_mutex_);
  if (finished_) return;
  finished_ = true;
  if (g_quiet.load()) return;
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const auto done = done_.load();
  const double rate = secs > 0 ? static_cast<double>(done) / secs : 0.0;
  const auto line = fmt::format("{}: {} {} in {:.2f} s ({} {}/s)", label_, human(static_cast<double>(done)),
                                unit_, secs, human(rate), unit_);
  if (tty_) {
    std::fprintf(stderr, "\r\033[K%s\n", line.c_str());
  } else {
    spdlog::info("{}", line);
  }
}

void Progress::maybe_draw(bool force) {
  if (g_quiet.load(std::memory_order_relaxed)) return;
  const auto now = std::chrono::steady_clock::now();
  if (!force && now - last_draw_ <
                    (tty_ ? std::chrono::duration_cast<std::chrono::steady_clock::duration>(kTtyInterval)
                          : std::chrono::duration_cast<std::chrono::steady_clock::duration>(kLogInterval))) {
    return;
  }
  std::unique_lock lock(draw_mutex_, std::try_to_lock);
  if (!lock.owns_lock() || finished_) return;
  last_draw_ = now;
  const double secs = std::chrono::duration<double>(now - start_).count();
  const auto done = done_.load();
  const auto total = total_.load();
  const double rate = secs > 0 ? static_cast<double>(done) / secs : 0.0;
  std::string line;
  if (total > 0) {
    const double frac = std::min(1.0, static_cast<double>(done) / static_cast<double>(total));
    const int filled = static_cast<int>(frac * kBarWidth);
    const double eta = rate > 0 ? static_cast<double>(total - done) / rate : 0.0;
    line = fmt::format("{} [{}{}] {:5.1f}% {}/{} {} {} {}/s ETA {}", label_,
                       std::string(static_cast<std::size_t>(filled), '#'),
                       std::string(static_cast<std::size_t>(kBarWidth - filled), '.'), frac * 100.0,
                       human(static_cast<double>(done)), human(static_cast<double>(total)), unit_,
                       human(rate), unit_, duration(eta));
  } else {
    line = fmt::format("{}: {} {} ({} {}/s, {})", label_, human(static_cast<double>(done)), unit_,
                       human(rate), unit_, duration(secs));
  }
  if (tty_) {
    std::fprintf(stderr, "\r\033[K%s", line.c_str());
    std::fflush(stderr);
  } else {
    spdlog::info("{}", line);
  }
}

void Progress::set_quiet(bool quiet) noexcept {
  g_quiet.store(quiet);
}
bool Progress::quiet() noexcept {
  return g_quiet.load();
}

}  // namespace cinefactor
