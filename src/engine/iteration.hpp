// The iteration budget and bookkeeping every iterative algorithm shares, whichever backend runs it:
// the loss history, the caller's callback, the early stop on a small relative change, and the
// divergence check.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "cinefactor/train.hpp"

namespace cinefactor::engine {

struct IterationControl {
  int max_iterations = 200;
  double tolerance =
      TrainOptions{}.tolerance;  // relative loss change that stops the loop; 0 = run max_iterations
  std::function<void(const IterationInfo&)> on_iteration;
};

struct IterationLog {
  std::vector<double> loss_history;
  int iterations = 0;
};

// Records one iteration's loss, calls the callback, and says whether to stop.
class IterationTracker {
 public:
  explicit IterationTracker(const IterationControl& control);
  // Returns true when the loop should stop after this iteration. Throws Error ("training diverged at
  // iteration N: loss is nan") when the loss is not finite.
  bool record(double loss);
  // Throws Error("training diverged at iteration N: what"), N = the iteration in progress (not yet recorded).
  [[noreturn]] void diverged(const std::string& what) const;
  int iteration() const noexcept { return log_.iterations; }
  IterationLog take() { return std::move(log_); }

 private:
  const IterationControl& control_;
  IterationLog log_;
  double start_seconds_;
};

}  // namespace cinefactor::engine
