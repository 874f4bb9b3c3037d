// `cinefactor serve`: the web app. Loads the model files, serves until SIGINT/SIGTERM (in-flight
// requests finish within the grace period), reloads the models on SIGHUP and when a file changes on
// disk. Reloads run on their own thread: a model file that does not answer cannot delay a signal.
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "cinefactor/error.hpp"
#include "cinefactor/model_reloader.hpp"
#include "cinefactor/server.hpp"
#include "commands.hpp"

namespace cinefactor::cli {
namespace {

constexpr int kDefaultPollSeconds = 2;
constexpr double kDefaultGraceSeconds = 10;
// Descriptors beyond the connections: model files, the TMDB cache and client, logs.
constexpr rlim_t kSpareDescriptors = 128;
// How long the exit waits for a reload that is under way (the file system may not answer).
constexpr auto kReloadStopWait = std::chrono::seconds(2);

struct ServeArgs {
  std::vector<std::string> models;
  std::string host = "127.0.0.1";
  int port = 8080;
  int threads = 0;
  double poll_seconds = kDefaultPollSeconds;
  double grace_seconds = kDefaultGraceSeconds;
  std::size_t max_connections = ServerOptions{}.max_connections;
  int idle_timeout_seconds = static_cast<int>(ServerOptions{}.idle_timeout.count());
  std::string tmdb_url;
  std::string tmdb_cache;
};

void serve(const ServeArgs& args) {
  // Signals are taken synchronously by this thread (sigwaitinfo); every thread started from here on
  // inherits the blocked mask, so no handler runs on a worker.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  if (pthread_sigmask(SIG_BLOCK, &signals, nullptr) != 0) throw IoError("cannot block signals");

  auto registry = std::make_shared<ModelRegistry>();
  std::vector<std::filesystem::path> files(args.models.begin(), args.models.end());
  ModelReloader reloader(registry, files);

  ServerOptions options;
  options.host = args.host;
  options.port = args.port;
  options.threads = args.threads;
  options.max_connections = args.max_connections;
  options.idle_timeout = std::chrono::seconds(args.idle_timeout_seconds);
  options.grace_period = std::chrono::milliseconds(static_cast<std::int64_t>(args.grace_seconds * 1000));
  options.tmdb = TmdbOptions::from_environment();
  if (!args.tmdb_url.empty()) options.tmdb.base_url = args.tmdb_url;
  if (!args.tmdb_cache.empty()) options.tmdb.cache_dir = args.tmdb_cache;
  // Every connection is a descriptor: raise the soft limit (often 1024) toward what the cap needs.
  if (rlimit lim{}; ::getrlimit(RLIMIT_NOFILE, &lim) == 0) {
    const rlim_t want = static_cast<rlim_t>(options.max_connections) + kSpareDescriptors;
    if (lim.rlim_cur < want) {
      lim.rlim_cur = lim.rlim_max == RLIM_INFINITY ? want : std::min(want, lim.rlim_max);
      ::setrlimit(RLIMIT_NOFILE, &lim);
    }
  }
  Server server(options, registry);
  server.start();
  std::printf("cinefactor: serving %zu model%s on %s/ (Ctrl-C to stop)\n", registry->snapshot()->size(),
              registry->snapshot()->size() == 1 ? "" : "s", server.url().c_str());
  std::fflush(stdout);

  reloader.start_watching(std::chrono::milliseconds(static_cast<std::int64_t>(args.poll_seconds * 1000)));
  while (true) {
    siginfo_t info{};
    const int sig = sigwaitinfo(&signals, &info);
    if (sig == SIGINT || sig == SIGTERM) {
      spdlog::info("{}: finishing the requests in flight (at most {} s), then stopping",
                   sig == SIGINT ? "SIGINT" : "SIGTERM", args.grace_seconds);
      break;
    }
    if (sig == SIGHUP) {
      spdlog::info("SIGHUP: reloading every model file");
      reloader.request_reload();
    }
  }
  server.stop();
  if (!reloader.stop_watching(kReloadStopWait)) {
    // A load is stuck in the kernel (a file system that does not answer); it cannot be interrupted,
    // and waiting for it would keep the process alive: leave without it.
    spdlog::warn("a model reload is still waiting for a file; exiting without it");
    spdlog::info("stopped");
    spdlog::shutdown();
    std::fflush(nullptr);
    std::_Exit(0);
  }
  spdlog::info("stopped");
}

}  // namespace

void register_serve_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("serve", "Serve the web app and the JSON API");
  auto args = std::make_shared<ServeArgs>();
  cmd->add_option("-m,--model", args->models,
                  "Model file written by `cinefactor train` (repeatable, one per algorithm; the first is the "
                  "page's default)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--host", args->host, "Address to bind (loopback by default; 0.0.0.0 for every interface)")
      ->capture_default_str();
  cmd->add_option("-p,--port", args->port, "Port to listen on (0: any free port, printed at start)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  cmd->add_option("--threads", args->threads,
                  "Request handler threads (0: sized to the machine); connections do not hold one")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  cmd->add_option("--poll", args->poll_seconds,
                  "Seconds between checks of the model files for changes (0: reload on SIGHUP only)")
      ->check(CLI::Range(0.0, 3600.0))
      ->capture_default_str();
  cmd->add_option("--grace-period", args->grace_seconds,
                  "Seconds SIGTERM/SIGINT waits for the requests already received to be answered before "
                  "closing every connection")
      ->check(CLI::Range(0.0, 3600.0))
      ->capture_default_str();
  cmd->add_option("--max-connections", args->max_connections,
                  "Open connections at most (idle keep-alive ones included); more wait in the kernel's "
                  "accept queue")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100000}))
      ->capture_default_str();
  cmd->add_option("--idle-timeout", args->idle_timeout_seconds,
                  "Seconds a connection may go without sending or receiving a byte before it is closed")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  cmd->add_option("--tmdb-url", args->tmdb_url, "TMDB API base URL (overrides TMDB_BASE_URL)");
  cmd->add_option("--tmdb-cache", args->tmdb_cache,
                  "Directory of the TMDB cache (default: ~/.cache/cinefactor/tmdb)");
  cmd->callback([args] { serve(*args); });
}

}  // namespace cinefactor::cli
