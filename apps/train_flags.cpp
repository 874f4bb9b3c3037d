#include "train_flags.hpp"

#include <fmt/format.h>

#include "flag_checks.hpp"

namespace cinefactor::cli {

void add_train_flags(CLI::App* cmd, TrainFlags& f) {
  TrainOptions& o = f.options;
  cmd->add_option("--data", f.data,
                  "Dataset directory (any MovieLens layout, or `cinefactor data synth` output)")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--algo", f.algorithm,
                  "Algorithm: nmf, svd, als (implicit-feedback ALS), bias, popularity, mean")
      ->check(CLI::IsMember(algorithm_names()))
      ->capture_default_str();
  cmd->add_option("-k,--rank", o.rank, "Number of latent factors k (nmf, svd, als)")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  cmd->add_option("--iterations", o.max_iterations, "Maximum NMF / ALS iterations, bias sweeps")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  cmd->add_option("--tol", o.tolerance,
                  "Stop when the relative loss change falls below this (0 = run all iterations)")
      ->check(non_negative())
      ->capture_default_str();
  cmd->add_option("--seed", o.seed, "Random seed (initialization, SVD test matrix)")
      ->check(unsigned_integer())
      ->capture_default_str();
  cmd->add_option("--threads", o.threads,
                  "CPU threads (0 = the cores other processes leave free, followed during the run)")
      ->check(non_negative())
      ->capture_default_str();
  cmd->add_option(
         "--device", f.device,
         "Where the engine runs (training; evaluate also ranks there): auto (CUDA when a device is present "
         "and the job fits), cpu, cuda. Under mpirun: cpu ranks (auto too), or cuda ranks (NMF zero only: "
         "one GPU per rank, NCCL)")
      ->check(CLI::IsMember(device_names()))
      ->capture_default_str();
  cmd->add_option("--objective", f.objective,
                  "NMF objective: zero (unrated = 0, scikit-learn's NMF; for ranking) or masked (observed "
                  "ratings only; "
                  "rating prediction)")
      ->check(CLI::IsMember(objective_names()))
      ->capture_default_str();
  cmd->add_option("--init", f.init, "NMF initialization: nndsvda or random (scaled as scikit-learn does)")
      ->check(CLI::IsMember(init_names()))
      ->capture_default_str();
  cmd->add_option("--l2-user", o.l2_user, "masked NMF: L2 weight on user factors")
      ->check(non_negative())
      ->capture_default_str();
  cmd->add_option("--l2-movie", o.l2_movie, "masked NMF: L2 weight on movie factors")
      ->check(non_negative())
      ->capture_default_str();
  cmd->add_flag("--biases", o.biases, "masked NMF: also learn user and movie biases");
  cmd->add_option("--l2-bias", o.l2_bias, "masked NMF with --biases, and bias: L2 weight on the biases")
      ->check(non_negative())
      ->capture_default_str();
  cmd->add_option("--alpha", o.alpha, "als: confidence of a positive rating is 1 + alpha")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--als-l2", o.als_l2, "als: L2 weight on every user and movie factor vector")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--positive-threshold", o.positive_threshold,
                  "als: ratings at or above this are positive feedback; the others count as unrated")
      ->capture_default_str();
  cmd->add_option("--cg-steps", o.cg_steps, "als: conjugate-gradient steps per user/movie and iteration")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  cmd->add_option("--oversamples", o.oversamples, "SVD: oversampling p of the randomized range finder")
      ->check(CLI::Range(0, 10000))
      ->capture_default_str();
  cmd->add_option("--power-iterations", o.power_iterations, "SVD: power iterations q")
      ->check(CLI::Range(0, 100))
      ->capture_default_str();
  cmd->add_flag("--center", o.center, "SVD: subtract the global mean rating from the observed ratings first");
  cmd->add_flag("--no-cache", f.no_cache, "Do not read or write the binary cache next to the data");
  cmd->add_flag("--skip-bad-lines", f.skip_bad_lines, "Skip (and count) malformed lines instead of stopping");
}

TrainOptions resolve_train_options(const TrainFlags& f) {
  TrainOptions o = f.options;
  o.algorithm = *parse_algorithm(f.algorithm);  // validated by IsMember
  o.objective = *parse_objective(f.objective);
  o.init = *parse_init(f.init);
  o.device = *parse_device(f.device);
  return o;
}

LoadOptions resolve_load_options(const TrainFlags& f) {
  LoadOptions o;
  o.use_cache = !f.no_cache;
  o.skip_bad_lines = f.skip_bad_lines;
  o.threads = f.options.threads;
  return o;
}

}  // namespace cinefactor::cli
