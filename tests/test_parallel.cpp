// The automatic thread count (src/core/parallel.hpp): an explicit count is kept, and a process that keeps a
// core busy elsewhere is seen, while this process's own running threads are not counted against it.
#include <gtest/gtest.h>
#include <omp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <thread>
#include <vector>

#include "core/parallel.hpp"

namespace cinefactor {
namespace {

// A child process that spins until killed: always runnable, as a busy neighbour is.
class BusyChild {
 public:
  BusyChild() : pid_(::fork()) {
    if (pid_ == 0) {
      std::atomic<unsigned long> spins{0};
      for (;;) spins.fetch_add(1, std::memory_order_relaxed);
    }
  }
  ~BusyChild() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  BusyChild(const BusyChild&) = delete;
  BusyChild& operator=(const BusyChild&) = delete;
  bool started() const { return pid_ > 0; }

 private:
  pid_t pid_;
};

TEST(ResolveThreads, AnExplicitCountIsKept) {
  EXPECT_EQ(resolve_threads(1), 1);
  EXPECT_EQ(resolve_threads(3), 3);
  EXPECT_EQ(resolve_threads(64), 64);
}

TEST(ResolveThreads, AutomaticIsBetweenOneAndTheCores) {
  const int n = resolve_threads(0);
  EXPECT_GE(n, 1);
  EXPECT_LE(n, omp_get_max_threads());
}

// The spinning child is runnable at every sample (it never sleeps); whatever else runs on the machine only
// adds to the count.
TEST(BusyCoresElsewhere, SeesABusyProcess) {
  BusyChild child;
  ASSERT_TRUE(child.started());
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  int seen = 0;
  for (int i = 0; i < 20; ++i) {
    seen = std::max(seen, busy_cores_elsewhere());
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_GE(seen, 1);
  // ...and the automatic team leaves its core alone (the count is looked up again after kThreadsRecheckMs).
  std::this_thread::sleep_for(std::chrono::milliseconds(kThreadsRecheckMs + 20));
  if (omp_get_max_threads() >= 2) {
    EXPECT_LT(resolve_threads(0), omp_get_max_threads());
  }
}

// The runnable tasks of the whole machine, this process's included (/proc/loadavg's fourth field).
int runnable_tasks() {
  std::ifstream in("/proc/loadavg");
  double load[3];
  int runnable = 0;
  in >> load[0] >> load[1] >> load[2] >> runnable;
  return runnable;
}

// Four threads of this process that spin are runnable all the time; counted as a neighbour's, they would
// leave busy_cores_elsewhere() at the machine's runnable count less this thread. Sampled right after the
// machine's count, the difference is about -4 (other tasks come and go between the two reads: the median
// of many samples).
TEST(BusyCoresElsewhere, OwnThreadsDoNotCount) {
  constexpr int kSpinners = 4;
  std::atomic<bool> stop{false};
  std::vector<std::thread> spinners;
  for (int i = 0; i < kSpinners; ++i) {
    spinners.emplace_back([&stop] {
      while (!stop.load(std::memory_order_relaxed)) {
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::vector<int> differences;
  for (int i = 0; i < 41; ++i) {
    const int machine = runnable_tasks();
    differences.push_back(busy_cores_elsewhere() - (machine - 1));
  }
  stop = true;
  for (auto& t : spinners) t.join();
  std::nth_element(differences.begin(), differences.begin() + 20, differences.end());
  EXPECT_LE(differences[20], -kSpinners / 2);
}

}  // namespace
}  // namespace cinefactor
