// Offline evaluation: train/test splits of a rating matrix (holdout and k-fold), and the evaluation
// loop that trains a model per fold, scores it on the held-out ratings and reports every metric
// with its spread across folds. The trainer is a parameter, so any algorithm or backend plugs in.
//
// Every split returns train and test matrices with the SAME dimensions and id maps as the input
// (rows of users without ratings on one side are simply empty), keeping timestamps. Every split is
// a deterministic function of the input and the seed (its own SplitMix64 stream, not std::
// distributions, so results agree across standard libraries).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cinefactor/metrics.hpp"
#include "cinefactor/model.hpp"
#include "cinefactor/rating_matrix.hpp"

namespace cinefactor {

enum class SplitKind {
  random,           // a uniformly random test_fraction of all ratings (exact count)
  per_user,         // each user holds out ~test_fraction of their own ratings, at random
  temporal,         // each user holds out ~test_fraction of their own ratings: the latest ones
  temporal_global,  // the latest test_fraction of all ratings (one global time cut)
};
// "random", "per-user", "temporal", "temporal-global"
std::string_view split_kind_name(SplitKind kind) noexcept;
std::optional<SplitKind> parse_split_kind(std::string_view name) noexcept;
std::vector<std::string> split_kind_names();

// Per-user kinds (per_user, temporal) hold out floor(f * n + U) of a user's n ratings, U uniform in
// [0, 1) from the seed (unbiased rounding: the expected count is exactly f * n), capped at n - 1 so
// that a user with >= 2 ratings keeps at least one in train; a user with a single rating keeps it in
// train (nothing would be left to learn the user from). Temporal kinds need timestamps and order
// ties by movie index (per user) or by (user, movie) (global).
struct SplitOptions {
  SplitKind kind = SplitKind::per_user;
  double test_fraction = 0.2;  // in (0, 1)
  std::uint64_t seed = 42;
};

struct TrainTestSplit {
  RatingMatrix train;
  RatingMatrix test;
};

// Splits `ratings` by a mask aligned with ratings.by_user().values (non-zero = test).
TrainTestSplit split_by_mask(const RatingMatrix& ratings, std::span<const std::uint8_t> in_test);

// One train/test split. Throws InvalidArgument for a fraction outside (0, 1) or a temporal split of
// ratings without timestamps.
TrainTestSplit holdout_split(const RatingMatrix& ratings, const SplitOptions& options);

// The fold (0 .. folds-1) of every rating, aligned with ratings.by_user().values: a uniformly random
// assignment with fold sizes differing by at most one. 2 <= folds <= min(255, nnz).
std::vector<std::uint8_t> kfold_assignment(const RatingMatrix& ratings, int folds, std::uint64_t seed);
// Fold `fold` as the test set, every other fold as train.
TrainTestSplit kfold_split(const RatingMatrix& ratings, std::span<const std::uint8_t> assignment, int fold);

enum class Protocol { holdout, kfold };
std::string_view protocol_name(Protocol protocol) noexcept;  // "holdout", "kfold"
std::optional<Protocol> parse_protocol(std::string_view name) noexcept;
std::vector<std::string> protocol_names();

struct EvaluationOptions {
  Protocol protocol = Protocol::holdout;
  SplitOptions split;  // holdout: the split; kfold: only the seed is used (folds are random by rating)
  int folds = 5;       // kfold only
  RankingOptions ranking;
};

// Trains a model on the training part of a fold. The CLI passes
// [&](const RatingMatrix& m) { return train(m, options); }.
using Trainer = std::function<Model(const RatingMatrix& train)>;

// Metric name -> value: "rmse", "mae" (only for models that predict ratings), and for every k
// "precision@k", "recall@k", "ndcg@k", "map@k", "hitrate@k", "coverage@k".
using MetricValues = std::map<std::string, double>;

struct FoldResult {
  int fold = 0;
  std::int64_t train_ratings = 0;
  std::int64_t test_ratings = 0;
  std::int64_t users_evaluated = 0;  // users with at least one relevant held-out movie
  std::string ranking_device;        // where the lists were ranked ("cpu", "cuda:0 (name)")
  MetricValues metrics;
  double fit_seconds = 0.0;   // wall-clock time of the trainer call
  double eval_seconds = 0.0;  // wall-clock time of the metrics
  // Peak resident set size of the process (Linux VmHWM) during the fit. Before each fit the peak is
  // reset to the current resident size (writing 5 to /proc/self/clear_refs), so this is the largest
  // footprint reached while training this fold: the input, the split and the trainer's working memory.
  std::int64_t peak_memory_bytes = 0;
  // peak_memory_bytes minus the resident size just before the fit: what the trainer itself added at
  // its peak. 0 when the peak could not be reset (then peak_memory_bytes is the process-lifetime peak).
  // A distributed evaluation (mpirun) reports both as the largest of its ranks'.
  std::int64_t fit_memory_bytes = 0;
  bool peak_reset = false;  // whether the peak was reset before the fit
};

struct EvaluationResult {
  EvaluationOptions options;
  std::vector<FoldResult> folds;
  MetricValues mean;    // per metric, mean over folds (only metrics every fold has)
  MetricValues stddev;  // sample standard deviation over folds (n - 1 denominator; 0 for one fold)
  bool predicts_ratings = false;
  std::string algorithm;  // of the first fold's model
  int rank = 0;
  Hyperparameters hyperparameters;
};

// Runs the protocol: splits, trains with `trainer` per fold, measures. Throws InvalidArgument for bad
// options and when the trainer returns a model of the wrong shape.
EvaluationResult evaluate(const RatingMatrix& ratings, const Trainer& trainer,
                          const EvaluationOptions& options);

// One JSON object: "metrics" and "metrics_std" (same keys), "folds" (count), "fit_seconds" (mean),
// "fit_seconds_std", "eval_seconds" (mean), "peak_memory_bytes" and "fit_memory_bytes" (max over
// folds), "users_evaluated" (the mean over folds, rounded), "predicts_ratings", "model"
// ({algorithm, rank, hyperparameters}), "options" (everything used), and "fold_results" (per fold).
nlohmann::json to_json(const EvaluationResult& result);

}  // namespace cinefactor
