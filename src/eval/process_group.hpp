// The processes that evaluate one model together, each holding the ratings of some users (a distributed
// job, dist/), and the few reductions the evaluation needs from them. This base class is the single
// process: every reduction leaves the values as they are.
#pragma once

#include <cstdint>
#include <span>

namespace cinefactor::eval {

class ProcessGroup {
 public:
  ProcessGroup() = default;
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;
  virtual ~ProcessGroup() = default;

  // In place, element-wise over every process, the result identical on each (a collective: every
  // process calls it, in the same order).
  virtual void sum(std::span<std::int64_t> /*values*/) {}
  virtual void sum(std::span<double> /*values*/) {}
  virtual void max(std::span<std::int64_t> /*values*/) {}
  virtual void min(std::span<std::int32_t> /*values*/) {}
};

}  // namespace cinefactor::eval
