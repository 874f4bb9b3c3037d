// Training: one entry point for every algorithm and backend. The CLI, the evaluator and the
// server's startup never know which backend ran.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cinefactor/device.hpp"
#include "cinefactor/model.hpp"
#include "cinefactor/rating_matrix.hpp"

namespace cinefactor {

struct IterationInfo {
  int iteration = 0;  // 1-based
  double loss = 0.0;  // the objective being minimized
  double seconds = 0.0;
};

// Defaults are documented in docs and `cinefactor train --help`.
struct TrainOptions {
  Algorithm algorithm = Algorithm::nmf;
  Device device = Device::automatic;
  int rank = 20;             // k
  int max_iterations = 200;  // NMF and ALS iterations; bias baseline sweeps
  double tolerance = 1e-5;   // stop when the relative loss change falls below it (0 = never)
  std::uint64_t seed = 42;
  int threads = 0;  // 0 = the cores other processes leave free, looked up again during the fit

  // NMF
  NmfObjective objective = NmfObjective::zero;
  NmfInit init = NmfInit::nndsvda;
  // Defaults chosen by measurement on ml-latest-small (random 80/20 holdout, k = 20): see README.
  float l2_user = 0.15f;   // masked: L2 weight on user factors, per rating (Surprise's reg_pu)
  float l2_movie = 0.15f;  // masked: L2 weight on movie factors, per rating (reg_qi)
  bool biases = false;     // masked: learn user/movie biases too
  float l2_bias = 5.0f;    // masked/bias: L2 weight on each bias: b = sum of residuals / (n + l2_bias)
  // Start from these factors instead of `init` (scikit-learn's init="custom"): W, users x rank, and H
  // transposed, movies x rank, finite and >= 0. Both empty (the default): `init` decides. The model's
  // hyperparameters then leave `init` out.
  DenseMatrix initial_user_factors;
  DenseMatrix initial_movie_factors;

  // Implicit-feedback ALS (algorithm als): ratings >= positive_threshold are positive feedback with
  // confidence 1 + alpha; every other pair is a zero with confidence 1. Defaults tuned at k = 64 on one
  // split seed of ml-latest-small (41) and reported on others (42-46): see README.
  float alpha = 10.0f;
  float als_l2 = 60.0f;             // L2 weight on every user and movie factor vector
  float positive_threshold = 4.0f;  // ratings at or above are positive feedback
  int cg_steps = 3;                 // conjugate-gradient steps per row and iteration

  // Randomized SVD
  int oversamples = 10;
  int power_iterations = 4;
  bool center = false;  // subtract the global mean from observed ratings (implicitly)

  std::function<void(const IterationInfo&)> on_iteration;  // called after each iteration

  // The backend to run on, when a caller has chosen it already for several calls (an evaluation chooses
  // once for every fold: see select_backend); `device` is then not consulted. Empty: train() chooses
  // by `device` itself.
  std::shared_ptr<engine::Backend> backend;
};

struct TrainReport {
  std::string device;  // "cpu" or "cuda:N (name)"
  int iterations = 0;
  std::vector<double> loss_history;  // one per iteration (empty for closed-form algorithms)
  double seconds = 0.0;
};

// Trains a model on `ratings`. The model has ids and factors; attach_catalog() adds the catalog.
// NMF and SVD run on options.backend, or on the backend the device policy chooses for options.device;
// the baselines (mean, bias, popularity) are host arithmetic and always run on the CPU.
Model train(const RatingMatrix& ratings, const TrainOptions& options, TrainReport* report = nullptr);

// The one device decision of a command that trains with `options` on matrices no larger than `ratings`
// and, when ranking_k > 0, ranks lists of that length with the trained model: cpu; cuda (throws Error
// "--device cuda: no usable CUDA device: <why>" when the build, the machine or the job does not allow
// it); auto (cuda when it would succeed, otherwise the CPU; one log line says which and why). Baselines
// get the CPU without a probe.
std::shared_ptr<engine::Backend> select_backend(const RatingMatrix& ratings, const TrainOptions& options,
                                                int ranking_k = 0);

}  // namespace cinefactor
