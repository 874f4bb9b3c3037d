// `cinefactor serve`: the web app. Loads the model files, serves until SIGINT/SIGTERM (in-flight
// requests finish), reloads the models on SIGHUP and when a file changes on disk.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>
#include <ctime>
#include <memory>

#include "cinefactor/error.hpp"
#include "cinefactor/model_reloader.hpp"
#include "cinefactor/server.hpp"
#include "commands.hpp"

namespace cinefactor::cli {
namespace {

constexpr int kDefaultPollSeconds = 2;

struct ServeArgs {
  std::vector<std::string> models;
  std::string host = "127.0.0.1";
  int port = 8080;
  int threads = 0;
  double poll_seconds = kDefaultPollSeconds;
  std::string tmdb_url;
  std::string tmdb_cache;
};

void serve(const ServeArgs& args) {
  // Signals are taken synchronously by this thread (sigtimedwait); every thread started from here on
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
  options.tmdb = TmdbOptions::from_environment();
  if (!args.tmdb_url.empty()) options.tmdb.base_url = args.tmdb_url;
  if (!args.tmdb_cache.empty()) options.tmdb.cache_dir = args.tmdb_cache;
  Server server(options, registry);
  server.start();
  std::printf("cinefactor: serving %zu model%s on %s/ (Ctrl-C to stop)\n", registry->snapshot()->size(),
              registry->snapshot()->size() == 1 ? "" : "s", server.url().c_str());
  std::fflush(stdout);

  const auto interval = std::chrono::duration<double>(args.poll_seconds);
  const auto whole = std::chrono::floor<std::chrono::seconds>(interval);
  timespec wait{
      static_cast<std::time_t>(whole.count()),
      static_cast<long>(std::chrono::duration_cast<std::chrono::nanoseconds>(interval - whole).count())};
  while (true) {
    siginfo_t info{};
    const int sig =
        args.poll_seconds > 0 ? sigtimedwait(&signals, &info, &wait) : sigwaitinfo(&signals, &info);
    if (sig == SIGINT || sig == SIGTERM) {
      spdlog::info("{}: finishing the requests in flight, then stopping",
                   sig == SIGINT ? "SIGINT" : "SIGTERM");
      break;
    }
    if (sig == SIGHUP) {
      spdlog::info("SIGHUP: reloading every model file");
      reloader.reload(true);
    } else if (args.poll_seconds > 0) {
      reloader.poll();
    }
  }
  server.stop();
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
  cmd->add_option("--threads", args->threads, "Request worker threads (0: sized to the machine)")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  cmd->add_option("--poll", args->poll_seconds,
                  "Seconds between checks of the model files for changes (0: reload on SIGHUP only)")
      ->check(CLI::Range(0.0, 3600.0))
      ->capture_default_str();
  cmd->add_option("--tmdb-url", args->tmdb_url, "TMDB API base URL (overrides TMDB_BASE_URL)");
  cmd->add_option("--tmdb-cache", args->tmdb_cache,
                  "Directory of the TMDB cache (default: ~/.cache/cinefactor/tmdb)");
  cmd->callback([args] { serve(*args); });
}

}  // namespace cinefactor::cli
