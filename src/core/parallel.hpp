// The thread count of the library's OpenMP regions: one rule for the CLI, the server and the library.
//
// Why the automatic count follows the load: a region ends at a barrier, and a thread that waits there for
// a team mate the kernel has descheduled waits a whole time slice (libgomp spins first, reading its wait
// policy from the environment before main() runs, so the program cannot make it passive). On a 2-core
// machine with one other busy process, a masked-NMF fit of many short regions took 6-9x its idle time with
// a team of 2 (issue 13) and 2-3x with passive waiting; a team no larger than the cores other processes
// leave free never waits for a descheduled mate (bench/README.md, "Training on a busy machine": 1.6x).
#pragma once

namespace cinefactor {

// The processors that other processes keep busy right now: the runnable tasks of the whole system
// (/proc/loadavg) less this process's own running threads (/proc/self/task). 0 where /proc is unreadable.
int busy_cores_elsewhere() noexcept;

// The thread count an OpenMP region uses for `threads`: `threads` itself when > 0; for 0 (automatic) the
// cores the others leave free: omp_get_max_threads() less busy_cores_elsewhere(), at least 1. The
// automatic count is looked up at most every kThreadsRecheckMs, so callers may ask before every pass.
int resolve_threads(int threads) noexcept;

inline constexpr int kThreadsRecheckMs = 100;

}  // namespace cinefactor
