// `cinefactor evaluate`: offline evaluation of one algorithm on a dataset (holdout or k-fold).
#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>

#include "cinefactor/evaluation.hpp"
#include "commands.hpp"
#include "core/launcher.hpp"
#include "distributed_commands.hpp"
#include "evaluation_report.hpp"
#include "flag_checks.hpp"
#include "train_flags.hpp"

namespace cinefactor::cli {

void register_evaluate_command(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("evaluate", "Evaluate an algorithm offline: rating (RMSE, MAE) and ranking metrics");
  struct Args {
    TrainFlags flags;
    std::string protocol = "holdout";
    std::string split = "random";
    double test_fraction = 0.2;
    int folds = 5;
    std::uint64_t split_seed = 42;
    std::vector<int> ks{10};
    float relevance = 4.0f;
    int min_ratings = 0;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  add_train_flags(cmd, args->flags);
  cmd->add_option("--protocol", args->protocol, "holdout (one split) or kfold")
      ->check(CLI::IsMember(protocol_names()))
      ->capture_default_str();
  cmd->add_option(
         "--split", args->split,
         "holdout split: random (by rating), per-user, temporal (each user's latest), temporal-global")
      ->check(CLI::IsMember(split_kind_names()))
      ->capture_default_str();
  cmd->add_option("--test-fraction", args->test_fraction, "holdout: fraction of ratings held out")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option("--folds", args->folds, "kfold: number of folds")
      ->check(CLI::Range(2, 255))
      ->capture_default_str();
  cmd->add_option("--split-seed", args->split_seed, "Seed of the split / fold assignment")
      ->check(unsigned_integer())
      ->capture_default_str();
  cmd->add_option("--at", args->ks, "Cut-offs k of the ranking metrics (repeatable)")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd->add_option("--relevance", args->relevance, "Held-out ratings at or above this count as relevant")
      ->capture_default_str();
  cmd->add_option(
         "--min-ratings", args->min_ratings,
         "Rank only movies with at least this many training ratings (the recommender's popularity floor)")
      ->check(non_negative())
      ->capture_default_str();
  cmd->add_flag("--json", args->json, "Print one JSON object (keys: metrics, metrics_std, fit_seconds, ...)");
  cmd->callback([args] {
    EvaluationOptions options;
    options.protocol = *parse_protocol(args->protocol);
    options.split.kind = *parse_split_kind(args->split);
    options.split.test_fraction = args->test_fraction;
    options.split.seed = args->split_seed;
    options.folds = args->folds;
    options.ranking.ks = args->ks;
    options.ranking.relevance_threshold = args->relevance;
    options.ranking.min_ratings = args->min_ratings;
#if CINEFACTOR_HAS_MPI
    if (mpi_launch_rank()) {
      evaluate_distributed(args->flags, options, args->json);
      return;
    }
#endif
    TrainOptions train_options = resolve_train_options(args->flags);
    const Dataset data = load_dataset(args->flags.data, resolve_load_options(args->flags));
    // One device decision for the whole run: every fold trains and ranks on this backend.
    train_options.backend =
        select_backend(data.ratings, train_options, *std::max_element(args->ks.begin(), args->ks.end()));
    options.ranking.threads = train_options.threads;
    options.ranking.device = train_options.device;
    options.ranking.backend = train_options.backend;
    const EvaluationResult result = evaluate(
        data.ratings, [&](const RatingMatrix& m) { return train(m, train_options); }, options);
    print_evaluation(result, args->flags.data, args->json);
  });
}

}  // namespace cinefactor::cli
