// `cinefactor serve` as a child process: it prints its URL, answers, reloads its model on SIGHUP
// (and refuses a corrupt one), shuts down gracefully on SIGTERM / SIGINT (exit 0) while clients
// are sending requests, and fails cleanly on a bad model file.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <regex>
#include <thread>

#include "core/atomic_file.hpp"
#include "serve_process.hpp"
#include "server_fixtures.hpp"

namespace cinefactor {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

using test::ServeProcess;

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

  // SIGTERM while clients send requests: every answer that comes is complete and correct (a
  // connection that arrives while the server stops is told so: 503 with Retry-After); exit 0.
  const auto movies = test::most_rated(*t.svd, 10);
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0};
  std::atomic<int> bad{0};
  std::atomic<int> shed{0};
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
        } else if (res->status == 503 && res->get_header_value("Retry-After") == "1") {
          ++shed;
        } else {
          ++bad;
        }
      }
    });
  }
  while (ok < 20) std::this_thread::sleep_for(5ms);
  serve.signal(SIGTERM);
  const auto sigterm = std::chrono::steady_clock::now();
  EXPECT_EQ(serve.wait_exit(), 0) << serve.output();
  EXPECT_LT(std::chrono::steady_clock::now() - sigterm, 5s) << "nothing was left in flight to wait for";
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

// A served model path that becomes a directory or a FIFO is refused with a message saying so (a
// FIFO is never opened for reading: that would wait for a writer forever), the loaded model keeps
// serving, and SIGTERM still stops the server.
TEST(CliServe, AModelPathThatIsNotARegularFileIsRefusedAndSigtermStillStops) {
  const auto& t = test::trained_models();
  test::TempDir tmp;
  const auto path = tmp / "svd.cfm";
  std::filesystem::copy_file(t.svd_file, path);
  ServeProcess serve(
      {"--model", path.string(), "--port", "0", "--poll", "0.1", "--tmdb-cache", (tmp / "tmdb").string()});
  const int port = serve.wait_for_port();
  ASSERT_GT(port, 0) << serve.output();

  std::filesystem::remove(path);
  std::filesystem::create_directory(path);
  EXPECT_FALSE(serve.wait_for("svd.cfm is a directory, not a regular file", 20s).empty()) << serve.output();
  EXPECT_EQ(serve.output().find("bad_alloc"), std::string::npos) << serve.output();
  EXPECT_EQ(rank_of(port), 16);

  std::filesystem::remove(path);
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  EXPECT_FALSE(serve.wait_for(R"(svd\.cfm is a FIFO \(named pipe\), not a regular file)", 20s).empty())
      << serve.output();
  serve.signal(SIGHUP);  // a forced reload reads it again
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(rank_of(port), 16);

  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait_exit(15s), 0) << serve.output();
}

TEST(CliServe, AFifoAsTheModelAtStartIsRefused) {
  test::TempDir tmp;
  const auto path = tmp / "fifo.cfm";
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  ServeProcess serve({"--model", path.string(), "--port", "0"});
  EXPECT_EQ(serve.wait_exit(15s), 1) << serve.output();
  EXPECT_NE(serve.output().find("fifo.cfm is a FIFO (named pipe), not a regular file"), std::string::npos)
      << serve.output();
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
  EXPECT_NE(help.out.find("--grace-period"), std::string::npos);
  EXPECT_NE(help.out.find("--max-connections"), std::string::npos);
  EXPECT_NE(help.out.find("--idle-timeout"), std::string::npos);
}

}  // namespace
}  // namespace cinefactor
