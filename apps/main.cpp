// Entry point of the `cinefactor` CLI. Exit codes: 0 success, 2 usage error, 1 runtime error
// (one line on stderr).
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "cinefactor/progress.hpp"
#include "commands.hpp"

namespace {

constexpr int kExitRuntimeError = 1;
constexpr int kExitUsageError = 2;

void setup_logging(bool quiet, bool verbose) {
  auto logger = spdlog::stderr_color_mt("cinefactor");
  logger->set_pattern("[%H:%M:%S.%e] %^%l%$ %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(quiet ? spdlog::level::warn : verbose ? spdlog::level::debug : spdlog::level::info);
  cinefactor::Progress::set_quiet(quiet);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"cinefactor: matrix-factorization movie recommender (NMF and truncated SVD, CPU and CUDA)",
               "cinefactor"};
  app.set_version_flag("--version", std::string(CINEFACTOR_VERSION));
  bool quiet = false;
  bool verbose = false;
  app.add_flag("-q,--quiet", quiet, "Print only warnings and errors: no progress bars or log lines");
  app.add_flag("-v,--verbose", verbose, "Print debug log lines");
  app.require_subcommand(1);
  app.parse_complete_callback([&] { setup_logging(quiet, verbose); });

  cinefactor::cli::register_device_command(app);
  cinefactor::cli::register_data_commands(app);
  cinefactor::cli::register_train_command(app);
  cinefactor::cli::register_evaluate_command(app);
  cinefactor::cli::register_recommend_command(app);
  cinefactor::cli::register_serve_command(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsageError;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "cinefactor: error: %s\n", e.what());
    return kExitRuntimeError;
  }
  return 0;
}
