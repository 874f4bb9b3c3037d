// Temporaries of atomic writes: removed when SIGINT or SIGTERM ends the writing process (a real signal
// to a real child process), and swept at the next write when a dead process left them.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "core/atomic_file.hpp"
#include "test_support.hpp"

namespace cinefactor {
namespace {

using test::TempDir;

std::vector<std::string> hidden_entries(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& item : std::filesystem::directory_iterator(dir)) {
    const auto name = item.path().filename().string();
    if (name.starts_with(".")) names.push_back(name);
  }
  return names;
}

// A child that opens an AtomicFile and a StagedDirectory (with a file two levels down), writes part
// of each, tells the parent, and waits to be killed.
pid_t start_writer(const std::filesystem::path& dir, int ready_fd) {
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  remove_temporaries_on_signal();
  AtomicFile file(dir / "model.cfm");
  file.write(std::string(1 << 20, 'm'));
  StagedDirectory staged(dir / "dataset");
  std::filesystem::create_directory(staged.path() / "ml");  // the handler removes whole trees
  SyncedFile ratings(staged.path() / "ml" / "ratings.csv");
  ratings.write("userId,movieId,rating,timestamp\n1,1,4.0,0\n");
  const char ready = 'r';
  if (::write(ready_fd, &ready, 1) != 1) ::_exit(3);
  for (;;) ::pause();
}

TEST(AtomicFileSignals, SigintAndSigtermRemoveTheTemporariesOfWritesInProgress) {
  for (const int sig : {SIGINT, SIGTERM}) {
    SCOPED_TRACE(sig);
    TempDir dir;
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t pid = start_writer(dir.path(), fds[1]);
    ASSERT_GT(pid, 0);
    ::close(fds[1]);
    char ready = 0;
    ASSERT_EQ(::read(fds[0], &ready, 1), 1) << "the writer did not get going";
    ::close(fds[0]);
    EXPECT_EQ(hidden_entries(dir.path()).size(), 2u) << "the writes are under way";
    ASSERT_EQ(::kill(pid, sig), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFSIGNALED(status)) << "status " << status;
    if (WIFSIGNALED(status)) {
      EXPECT_EQ(WTERMSIG(status), sig) << "the signal still ends the process";
    }
    EXPECT_TRUE(hidden_entries(dir.path()).empty())
        << "left behind: " << testing::PrintToString(hidden_entries(dir.path()));
    EXPECT_FALSE(std::filesystem::exists(dir / "model.cfm"));
    EXPECT_FALSE(std::filesystem::exists(dir / "dataset"));
  }
}

// The PID of a process that has ended.
pid_t dead_pid() {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return pid;
}

TEST(AtomicFileSweep, TheNextWriteSweepsTheTemporariesOfDeadProcesses) {
  TempDir dir;
  const auto dead = std::to_string(dead_pid());
  const auto alive = std::to_string(::getppid());  // the test runner's parent is running
  test::write_text(dir / (".model.cfm.tmp-" + dead + "-00000000000000aa"), "half a model");
  test::write_text(dir / (".model.cfm.tmp-" + alive + "-00000000000000bb"), "someone else's write");
  test::write_text(dir / (".data.tmp-" + dead + "-00000000000000cc") / "ratings.csv", "half the data");
  write_file_atomic(dir / "model.cfm", "a model");
  EXPECT_FALSE(std::filesystem::exists(dir / (".model.cfm.tmp-" + dead + "-00000000000000aa")));
  EXPECT_TRUE(std::filesystem::exists(dir / (".model.cfm.tmp-" + alive + "-00000000000000bb")))
      << "a live process's temporary is not stale";
  {
    StagedDirectory staged(dir / "data");
    test::write_text(staged.path() / "ratings.csv", "the data");
    ASSERT_TRUE(staged.commit(false));
  }
  EXPECT_FALSE(std::filesystem::exists(dir / (".data.tmp-" + dead + "-00000000000000cc")));
  EXPECT_EQ(test::read_text(dir / "data" / "ratings.csv"), "the data");
  EXPECT_EQ(test::read_text(dir / "model.cfm"), "a model");
}

}  // namespace
}  // namespace cinefactor
