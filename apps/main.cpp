// Entry point of the `cinefactor` CLI. Exit codes: 0 success, 2 usage error, 1 runtime error
// (one line on stderr).
#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cinefactor/progress.hpp"
#include "commands.hpp"
#include "core/atomic_file.hpp"
#include "core/launcher.hpp"
#include "core/text.hpp"

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

// One line for a word the top level does not know: CLI11 would only say that a subcommand is required.
void refuse_unknown(const CLI::App& app, const std::string& word) {
  std::vector<std::string> commands;
  for (const auto* sub : app.get_subcommands([](const CLI::App*) { return true; }))
    commands.push_back(sub->get_name());
  const bool flag = word.starts_with('-');
  std::fprintf(
      stderr, "cinefactor: unknown %s \"%s\" (%s %s); see cinefactor --help\n", flag ? "flag" : "command",
      cinefactor::text::escape_control(word).c_str(),
      flag ? "flags before the command: --help, --version, --quiet, --verbose; commands:" : "commands:",
      fmt::format("{}", fmt::join(commands, ", ")).c_str());
}

// Under mpirun/srun only `train` and `evaluate` run distributed (with CINEFACTOR_MPI); every other command
// would run once per rank, so it is refused, by rank 0 alone. Returns the exit code to stop with, or nothing
// to go on.
std::optional<int> refuse_under_mpi_launcher(int argc, char** argv) {
  const auto rank = cinefactor::mpi_launch_rank();
  if (!rank) return std::nullopt;
  std::string command;
  for (int i = 1; i < argc; ++i) {
    const std::string_view word = argv[i];
    if (word == "--help" || word == "-h" || word == "--version") return std::nullopt;
    if (!word.starts_with('-')) {
      command = word;
      break;
    }
  }
  if (command.empty()) return std::nullopt;  // CLI11 says what is missing
  std::string why;
  if (command != "train" && command != "evaluate") {
    why = "only `train` and `evaluate` run under mpirun/srun; run `" + command + "` without it";
  } else if (!CINEFACTOR_HAS_MPI) {
    why =
        "this build has no distributed training (configure with CINEFACTOR_MPI=ON and Open MPI installed); "
        "run `" +
        command + "` without mpirun/srun";
  } else {
    return std::nullopt;
  }
  if (*rank == 0) std::fprintf(stderr, "cinefactor: error: %s\n", why.c_str());
  return kExitUsageError;
}

}  // namespace

int main(int argc, char** argv) {
  if (const auto refused = refuse_under_mpi_launcher(argc, argv)) return *refused;
  CLI::App app{"cinefactor: matrix-factorization movie recommender (NMF and truncated SVD, CPU and CUDA)",
               "cinefactor"};
  app.set_version_flag("--version", std::string(CINEFACTOR_VERSION));
  bool quiet = false;
  bool verbose = false;
  app.add_flag("-q,--quiet", quiet, "Print only warnings and errors: no progress bars or log lines");
  app.add_flag("-v,--verbose", verbose, "Print debug log lines");
  app.require_subcommand(1);
  app.parse_complete_callback([&] { setup_logging(quiet, verbose); });
  app.failure_message([](const CLI::App* failed, const CLI::Error& e) {
    // As CLI::FailureMessage::simple, with the message (which quotes what was typed) escaped.
    std::string out = cinefactor::text::escape_control(e.what()) + "\n";
    if (const auto* help = failed->get_help_ptr())
      out += "Run with " + help->get_name() + " for more information.\n";
    return out;
  });
  // Ctrl-C or a kill during a write leaves no hidden temporary behind (serve waits for its signals).
  cinefactor::remove_temporaries_on_signal();

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
    const auto unknown = app.remaining();
    if (app.get_subcommands().empty() && !unknown.empty()) {
      refuse_unknown(app, unknown.front());
    } else {
      app.exit(e);
    }
    return kExitUsageError;
  } catch (const cinefactor::cli::QuietFailure&) {
    return kExitRuntimeError;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "cinefactor: error: %s\n", cinefactor::text::escape_control(e.what()).c_str());
    return kExitRuntimeError;
  }
  return 0;
}
