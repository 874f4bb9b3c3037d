// `cinefactor train`: load a dataset, train one model, write the model file (with the catalog).
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "cinefactor/model_file.hpp"
#include "commands.hpp"
#include "train_flags.hpp"

namespace cinefactor::cli {

void register_train_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "Train a model on a dataset and write it to a model file");
  struct Args {
    TrainFlags flags;
    std::string out;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  add_train_flags(cmd, args->flags);
  cmd->add_option("-o,--out", args->out, "Model file to write (atomically)")->required();
  cmd->add_flag("--json", args->json, "Print a JSON summary instead of text");
  cmd->callback([args] {
    const TrainOptions base = resolve_train_options(args->flags);
    const Dataset data = load_dataset(args->flags.data, resolve_load_options(args->flags));

    TrainOptions options = base;
    // train() draws the progress bar; the loss goes to the log: every iteration with --verbose,
    // every kLossLogEvery-th otherwise.
    options.on_iteration = [](const IterationInfo& info) {
      constexpr int kLossLogEvery = 10;
      if (info.iteration % kLossLogEvery == 0) {
        spdlog::info("iteration {}: loss {:.6g} ({:.2f} s)", info.iteration, info.loss, info.seconds);
      } else {
        spdlog::debug("iteration {}: loss {:.6g} ({:.2f} s)", info.iteration, info.loss, info.seconds);
      }
    };
    TrainReport report;
    Model model = train(data.ratings, options, &report);
    attach_catalog(model, data);
    save_model(model, args->out);

    const double final_loss = report.loss_history.empty() ? 0.0 : report.loss_history.back();
    if (args->json) {
      fmt::print("{}\n", nlohmann::json{{"model", args->out},
                                        {"algorithm", algorithm_name(model.algorithm)},
                                        {"rank", model.rank()},
                                        {"users", model.n_users()},
                                        {"movies", model.n_movies()},
                                        {"ratings", data.ratings.nnz()},
                                        {"device", report.device},
                                        {"iterations", report.iterations},
                                        {"loss_history", report.loss_history},
                                        {"seconds", report.seconds},
                                        {"hyperparameters", to_json(model.hyperparameters)}}
                             .dump(2));
      return;
    }
    fmt::print("trained {} (k = {}) on {} users x {} movies, {} ratings, on {} in {:.2f} s",
               algorithm_name(model.algorithm), model.rank(), model.n_users(), model.n_movies(),
               data.ratings.nnz(), report.device, report.seconds);
    if (!report.loss_history.empty())
      fmt::print(", {} iterations, final loss {:.6g}", report.iterations, final_loss);
    fmt::print("\nwrote {}\n", args->out);
  });
}

}  // namespace cinefactor::cli
