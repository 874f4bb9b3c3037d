// IterationTracker (see iteration.hpp).
#include "engine/iteration.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "cinefactor/error.hpp"

namespace cinefactor::engine {
namespace {

double now_seconds() {
  using Clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
}

}  // namespace

IterationTracker::IterationTracker(const IterationControl& control)
    : control_(control), start_seconds_(now_seconds()) {
  if (control.max_iterations < 1) throw InvalidArgument("max_iterations must be >= 1");
  if (!(control.tolerance >= 0.0)) throw InvalidArgument("tolerance must be >= 0");
}

bool IterationTracker::record(double loss) {
  if (!std::isfinite(loss)) diverged("loss is " + std::to_string(loss));
  ++log_.iterations;
  log_.loss_history.push_back(loss);
  if (control_.on_iteration) control_.on_iteration({log_.iterations, loss, now_seconds() - start_seconds_});
  if (log_.iterations >= control_.max_iterations) return true;
  if (control_.tolerance > 0.0 && log_.loss_history.size() >= 2) {
    const double previous = log_.loss_history[log_.loss_history.size() - 2];
    const double change =
        std::abs(previous - loss) / std::max(std::abs(previous), std::numeric_limits<double>::min());
    if (change < control_.tolerance) return true;
  }
  return false;
}

void IterationTracker::diverged(const std::string& what) const {
  throw Error("training diverged at iteration " + std::to_string(log_.iterations + 1) + ": " + what);
}

}  // namespace cinefactor::engine
