// `cinefactor train`: load a dataset, train one model, write the model file (with the catalog).
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "cinefactor/model_file.hpp"
#include "commands.hpp"
#include "core/launcher.hpp"
#include "train_flags.hpp"
#include "train_summary.hpp"
#if CINEFACTOR_HAS_MPI
#include "distributed_commands.hpp"
#endif

namespace cinefactor::cli {
namespace {

// --no-user-factors: the model keeps the movie side (and the users' ids and counts) only.
void drop_user_side(Model& model) {
  model.user_factors = DenseMatrix(0, model.rank());
  model.user_bias.clear();
}

}  // namespace

void register_train_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "Train a model on a dataset and write it to a model file");
  struct Args {
    TrainFlags flags;
    std::string out;
    bool json = false;
    bool no_user_factors = false;
  };
  auto args = std::make_shared<Args>();
  add_train_flags(cmd, args->flags);
  cmd->add_option("-o,--out", args->out, "Model file to write (atomically)")->required();
  cmd->add_flag("--json", args->json, "Print a JSON summary instead of text");
  cmd->add_flag("--no-user-factors", args->no_user_factors,
                "Leave the training users' factors and biases out of the model file (it still folds in "
                "visitors and recommends; under mpirun, rank 0 then never gathers them)");
  cmd->callback([args] {
#if CINEFACTOR_HAS_MPI
    if (mpi_launch_rank()) {
      train_distributed(args->flags, args->out, args->json, args->no_user_factors);
      return;
    }
#endif
    const TrainOptions base = resolve_train_options(args->flags);
    const Dataset data = load_dataset(args->flags.data, resolve_load_options(args->flags));

    TrainOptions options = base;
    // train() draws the progress bar; the loss goes to the log (log_iteration).
    std::vector<double> iteration_seconds;
    options.on_iteration = [&iteration_seconds](const IterationInfo& info) {
      log_iteration(info);
      iteration_seconds.push_back(info.seconds);
    };
    TrainReport report;
    Model model = train(data.ratings, options, &report);
    attach_catalog(model, data);
    if (args->no_user_factors) drop_user_side(model);
    save_model(model, args->out);

    // --json adds when each iteration ended (seconds since the first began), for the benchmarks.
    print_train_summary(
        model, report, data.ratings.nnz(), args->out, args->json,
        args->json ? nlohmann::json{{"iteration_seconds", iteration_seconds}} : nlohmann::json::object());
  });
}

}  // namespace cinefactor::cli
