// `cinefactor serve` as a child process: it prints its URL, answers, reloads its model on SIGHUP
// (and refuses a corrupt one), shuts down gracefully on SIGTERM / SIGINT (exit 0) while clients
// are sending requests, and fails cleanly on a bad model file.
#include <gtest/gtest.h>
#include <httplib.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <regex>
#include <thread>

#include "core/atomic_file.hpp"
#include "server_fixtures.hpp"

namespace cinefactor {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// A running `cinefactor serve`, killed at scope exit if still alive.
class ServeProcess {
 public:
  explicit ServeProcess(const std::vector<std::string>& args) {
    int out[2];
    if (::pipe(out) != 0) throw std::runtime_error("pipe failed");
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], STDOUT_FILENO);
      ::close(out[0]);
      ::close(out[1]);
      std::vector<std::string> all{CINEFACTOR_BINARY, "serve"};
      all.insert(all.end(), args.begin(), args.end());
      std::vector<char*> argv;
      for (auto& a : all) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(CINEFACTOR_BINARY, argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    out_ = out[0];
  }
  ~ServeProcess() {
    if (pid_ > 0 && exit_code_ < 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) ::close(out_);
  }

  // The port from the "serving ... on http://127.0.0.1:PORT/" line (0 when it did not come in time).
  int wait_for_port(std::chrono::seconds timeout = 60s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    const std::regex re(R"(http://127\.0\.0\.1:([0-9]+)/)");
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{out_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char buf[512];
      const auto n = ::read(out_, buf, sizeof buf);
      if (n <= 0) return 0;
      output_.append(buf, static_cast<std::size_t>(n));
      std::smatch m;
      if (std::regex_search(output_, m, re)) return std::stoi(m[1].str());
    }
    return 0;
  }
  void signal(int sig) { ::kill(pid_, sig); }
  // The exit code, or -1 when it does not exit in time.
  int wait_exit(std::chrono::seconds timeout = 30s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return exit_code_;
      }
      std::this_thread::sleep_for(10ms);
    }
    return -1;
  }
  const std::string& output() const { return output_; }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  int exit_code_ = -1;
  std::string output_;
};

json healthz(int port) {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(10s);
  auto res = c.Get("/healthz");
  if (!res || res->status != 200) return {};
  return json::parse(res->body);
}

int rank_of(int port) {
  const auto h = healthz(port);
  return h.is_null() ? -1 : h["models"][0]["rank"].get<int>();
}

TEST(CliServe, ServesReloadsOnSighupAndStopsGracefullyOnSigterm) {
  const auto& t = test::trained_models();
  test::TempDir tmp;
  const auto path = tmp / "svd.cfm";
  std::filesystem::copy_file(t.svd_file, path);
  // --poll 0: only SIGHUP reloads, so the test sees which one did.
  ServeProcess serve({"--model", path.string(), "--model", t.nmf_file.string(), "--port", "0", "--poll", "0",
                      "--tmdb-cache", (tmp / "tmdb").string()});
  const int port = serve.wait_for_port();
  ASSERT_GT(port, 0) << serve.output();
  const auto h = healthz(port);
  ASSERT_EQ(h["models"].size(), 2u);
  EXPECT_EQ(h["models"][0]["name"], "svd");  // the first given is the default
  EXPECT_EQ(h["models"][1]["name"], "nmf");
  EXPECT_EQ(h["models"][0]["rank"], 16);

  save_model(*t.svd_b, path);
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(rank_of(port), 16);  // no reload without SIGHUP
  serve.signal(SIGHUP);
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (rank_of(port) != 12 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(20ms);
  EXPECT_EQ(rank_of(port), 12);

  // A corrupt file on SIGHUP: refused, the loaded model keeps answering.
  write_file_atomic(path, "CFMODEL garbage");
  serve.signal(SIGHUP);
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(rank_of(port), 12);

  // SIGTERM while clients send requests: every answer that comes is complete and correct; exit 0.
  const auto movies = test::most_rated(*t.svd, 10);
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0};
  std::atomic<int> bad{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 4; ++i) {
    clients.emplace_back([&] {
      httplib::Client c("127.0.0.1", port);
      c.set_read_timeout(10s);
      while (!stop) {
        auto res = c.Post("/api/v1/recommendations", test::ratings_body(movies).dump(), "application/json");
        if (!res) continue;  // refused or closed: the server is stopping
        if (res->status == 200 && json::parse(res->body)["recommendations"].size() == 5) {
          ++ok;
        } else {
          ++bad;
        }
      }
    });
  }
  while (ok < 20) std::this_thread::sleep_for(5ms);
  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait_exit(), 0) << serve.output();
  stop = true;
  for (auto& c : clients) c.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_TRUE(healthz(port).is_null());  // no longer listening
}

TEST(CliServe, PollingPicksUpAChangedFileAndSigintStops) {
  const auto& t = test::trained_models();
  test::TempDir tmp;
  const auto path = tmp / "svd.cfm";
  std::filesystem::copy_file(t.svd_file, path);
  ServeProcess serve(
      {"--model", path.string(), "--port", "0", "--poll", "0.1", "--tmdb-cache", (tmp / "tmdb").string()});
  const int port = serve.wait_for_port();
  ASSERT_GT(port, 0) << serve.output();
  EXPECT_EQ(rank_of(port), 16);
  save_model(*t.svd_b, path);
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (rank_of(port) != 12 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(20ms);
  EXPECT_EQ(rank_of(port), 12);
  serve.signal(SIGINT);
  EXPECT_EQ(serve.wait_exit(), 0);
}

TEST(CliServe, RefusesToStartOnABadModelFile) {
  test::TempDir tmp;
  test::write_text(tmp / "bad.cfm", "this is not a model");
  const auto r = test::run_cli({"serve", "--model", (tmp / "bad.cfm").string(), "--port", "0"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cinefactor: error:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("bad.cfm"), std::string::npos) << r.err;
  const auto& t = test::trained_models();
  const auto dup = test::run_cli({"serve", "--model", t.svd_file.string(), "--model", t.svd_b_file.string()});
  EXPECT_EQ(dup.exit_code, 1);
  EXPECT_NE(dup.err.find("a second svd model"), std::string::npos) << dup.err;
  EXPECT_EQ(test::run_cli({"serve"}).exit_code, 2);  // --model is required
  EXPECT_EQ(test::run_cli({"serve", "--model", t.svd_file.string(), "--port", "70000"}).exit_code, 2);
  const auto help = test::run_cli({"serve", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--tmdb-url"), std::string::npos);
}

}  // namespace
}  // namespace cinefactor
