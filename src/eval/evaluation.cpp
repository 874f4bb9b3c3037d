// The evaluation protocols (holdout, k-fold): split, train per fold, measure, summarize (see evaluation.hpp).
#include "cinefactor/evaluation.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <array>
#include <chrono>
#include <cmath>
#include <fstream>
#include <string>

#include "cinefactor/error.hpp"
#include "core/enum_names.hpp"
#include "eval/evaluation_protocol.hpp"
#include "eval/metric_sums.hpp"

namespace cinefactor {
namespace {

constexpr EnumNames<Protocol, 2> kProtocolNames{"holdout", "kfold"};
constexpr std::int64_t kKibibyte = 1024;

// A "Vm...:   1234 kB" field of /proc/self/status in bytes, or -1 when unavailable.
std::int64_t proc_status_bytes(std::string_view field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > field.size() && line.compare(0, field.size(), field) == 0 &&
        line[field.size()] == ':') {
      return std::stoll(line.substr(field.size() + 1)) * kKibibyte;
    }
  }
  return -1;
}

// Resets the kernel's peak-RSS counter (VmHWM) to the current RSS. Linux >= 4.0; false elsewhere.
bool reset_peak_rss() {
  std::ofstream out("/proc/self/clear_refs");
  if (!out) return false;
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

std::int64_t peak_rss_bytes() {
  const auto hwm = proc_status_bytes("VmHWM");
  if (hwm >= 0) return hwm;
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<std::int64_t>(usage.ru_maxrss) * kKibibyte;  // kilobytes on Linux
}

void check_model(const Model& model, const RatingMatrix& train) {
  if (model.n_users() != train.n_users() || model.n_movies() != train.n_movies()) {
    throw InvalidArgument(
        fmt::format("the trainer returned a model of {} users x {} movies for {} x {} ratings",
                    model.n_users(), model.n_movies(), train.n_users(), train.n_movies()));
  }
}

// The fold's metrics, summed over the group: the users of every process count.
MetricValues fold_metrics(const Model& model, const TrainTestSplit& split, const RankingOptions& ranking,
                          eval::ProcessGroup& group, FoldResult& fold) {
  MetricValues metrics;
  if (model.predicts_ratings()) {
    auto errors = eval::rating_error_sums(model, split.test);
    eval::reduce(errors, group);
    if (errors.count > 0) {
      const auto e = eval::rating_errors(errors);
      metrics["rmse"] = e.rmse;
      metrics["mae"] = e.mae;
    }
  }
  std::vector<std::int64_t> movie_counts(static_cast<std::size_t>(split.train.n_movies()));
  for (std::int32_t j = 0; j < split.train.n_movies(); ++j)
    movie_counts[static_cast<std::size_t>(j)] = split.train.movie_count(j);
  group.sum(movie_counts);
  auto sums = eval::ranking_sums(model, split.train, split.test, ranking, movie_counts);
  eval::reduce(sums, group);
  const auto report = eval::ranking_report(sums);
  fold.users_evaluated = report.users_evaluated;
  fold.ranking_device = report.device;
  for (const auto& r : report.at_k) {
    metrics[fmt::format("precision@{}", r.k)] = r.precision;
    metrics[fmt::format("recall@{}", r.k)] = r.recall;
    metrics[fmt::format("ndcg@{}", r.k)] = r.ndcg;
    metrics[fmt::format("map@{}", r.k)] = r.map;
    metrics[fmt::format("hitrate@{}", r.k)] = r.hitrate;
    metrics[fmt::format("coverage@{}", r.k)] = r.coverage;
  }
  return metrics;
}

double mean_of(const std::vector<double>& v) {
  double s = 0.0;
  for (const auto x : v) s += x;
  return v.empty() ? 0.0 : s / static_cast<double>(v.size());
}

double sample_std(const std::vector<double>& v) {
  if (v.size() < 2) return 0.0;
  const double m = mean_of(v);
  double s = 0.0;
  for (const auto x : v) s += (x - m) * (x - m);
  return std::sqrt(s / static_cast<double>(v.size() - 1));
}

void check_options(const EvaluationOptions& options) {
  if (options.protocol == Protocol::holdout &&
      !(options.split.test_fraction > 0.0 && options.split.test_fraction < 1.0)) {
    throw InvalidArgument(
        fmt::format("test fraction must be in (0, 1), got {}", options.split.test_fraction));
  }
  if (options.ranking.block_users < 1) throw InvalidArgument("block_users must be >= 1");
  if (options.ranking.ks.empty()) throw InvalidArgument("at least one ranking cut-off k is needed");
  for (const auto k : options.ranking.ks) {
    if (k < 1) throw InvalidArgument(fmt::format("ranking cut-off k must be >= 1, got {}", k));
  }
}

}  // namespace

CINEFACTOR_ENUM_NAME_FUNCTIONS(Protocol, protocol, kProtocolNames)

EvaluationResult evaluate(const RatingMatrix& ratings, const Trainer& trainer,
                          const EvaluationOptions& options) {
  eval::ProcessGroup one_process;
  return eval::evaluate_rows(ratings, eval::whole_matrix_placement(ratings), trainer, options, one_process);
}

namespace eval {

EvaluationResult evaluate_rows(const RatingMatrix& local, const RowPlacement& placement,
                               const Trainer& trainer, const EvaluationOptions& options,
                               ProcessGroup& group) {
  check_options(options);
  if (!trainer) throw InvalidArgument("evaluate needs a trainer");
  EvaluationResult result;
  result.options = options;
  std::vector<std::uint8_t> assignment;
  const int n_folds = options.protocol == Protocol::kfold ? options.folds : 1;
  if (options.protocol == Protocol::kfold)
    assignment = kfold_mask(local, placement, options.folds, options.split.seed);

  for (int fold = 0; fold < n_folds; ++fold) {
    FoldResult fr;
    fr.fold = fold;
    Model model;
    {
      const auto split = options.protocol == Protocol::kfold
                             ? kfold_split(local, assignment, fold)
                             : split_by_mask(local, holdout_mask(local, placement, options.split, group));
      std::int64_t sizes[2] = {split.train.nnz(), split.test.nnz()};
      group.sum(sizes);
      fr.train_ratings = sizes[0];
      fr.test_ratings = sizes[1];
      if (fr.test_ratings == 0)
        throw InvalidArgument(fmt::format("fold {} has no held-out ratings", fold + 1));

      fr.peak_reset = reset_peak_rss();
      const auto rss_before = proc_status_bytes("VmRSS");
      const auto t0 = std::chrono::steady_clock::now();
      model = trainer(split.train);
      fr.fit_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      // Memory: the largest process's.
      std::int64_t memory[2] = {peak_rss_bytes(), 0};
      memory[1] = fr.peak_reset && rss_before >= 0 ? std::max<std::int64_t>(0, memory[0] - rss_before) : 0;
      group.max(memory);
      fr.peak_memory_bytes = memory[0];
      fr.fit_memory_bytes = memory[1];
      check_model(model, split.train);

      const auto t1 = std::chrono::steady_clock::now();
      fr.metrics = fold_metrics(model, split, options.ranking, group, fr);
      fr.eval_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
    }
    if (fold == 0) {
      result.predicts_ratings = model.predicts_ratings();
      result.algorithm = std::string(algorithm_name(model.algorithm));
      result.rank = model.rank();
      result.hyperparameters = model.hyperparameters;
    }
    spdlog::info(
        "fold {}/{}: {} train / {} test ratings, fit {:.2f} s, metrics {:.2f} s, {} users ranked on {}",
        fold + 1, n_folds, fr.train_ratings, fr.test_ratings, fr.fit_seconds, fr.eval_seconds,
        fr.users_evaluated, fr.ranking_device);
    result.folds.push_back(std::move(fr));
  }

  for (const auto& [name, value] : result.folds.front().metrics) {
    std::vector<double> values;
    for (const auto& f : result.folds) {
      const auto it = f.metrics.find(name);
      if (it != f.metrics.end()) values.push_back(it->second);
    }
    if (values.size() != result.folds.size()) continue;
    result.mean[name] = mean_of(values);
    result.stddev[name] = sample_std(values);
  }
  return result;
}

}  // namespace eval

nlohmann::json to_json(const EvaluationResult& result) {
  using nlohmann::json;
  const auto& o = result.options;
  json options = {{"protocol", protocol_name(o.protocol)},
                  {"seed", o.split.seed},
                  {"ks", o.ranking.ks},
                  {"relevance_threshold", o.ranking.relevance_threshold},
                  {"min_ratings", o.ranking.min_ratings},
                  {"block_users", o.ranking.block_users},
                  {"device", device_name(o.ranking.device)}};
  if (o.protocol == Protocol::holdout) {
    options["split"] = split_kind_name(o.split.kind);
    options["test_fraction"] = o.split.test_fraction;
  } else {
    options["split"] = split_kind_name(SplitKind::random);
    options["folds"] = o.folds;
  }

  std::vector<double> fit;
  std::vector<double> eval;
  std::vector<double> users;
  std::int64_t peak = 0;
  std::int64_t fit_memory = 0;
  json folds = json::array();
  for (const auto& f : result.folds) {
    fit.push_back(f.fit_seconds);
    eval.push_back(f.eval_seconds);
    users.push_back(static_cast<double>(f.users_evaluated));
    peak = std::max(peak, f.peak_memory_bytes);
    fit_memory = std::max(fit_memory, f.fit_memory_bytes);
    folds.push_back({{"fold", f.fold},
                     {"train_ratings", f.train_ratings},
                     {"test_ratings", f.test_ratings},
                     {"users_evaluated", f.users_evaluated},
                     {"ranking_device", f.ranking_device},
                     {"fit_seconds", f.fit_seconds},
                     {"eval_seconds", f.eval_seconds},
                     {"peak_memory_bytes", f.peak_memory_bytes},
                     {"fit_memory_bytes", f.fit_memory_bytes},
                     {"peak_reset", f.peak_reset},
                     {"metrics", f.metrics}});
  }
  return {{"metrics", result.mean},
          {"metrics_std", result.stddev},
          {"folds", result.folds.size()},
          {"fit_seconds", mean_of(fit)},
          {"fit_seconds_std", sample_std(fit)},
          {"eval_seconds", mean_of(eval)},
          {"peak_memory_bytes", peak},
          {"fit_memory_bytes", fit_memory},
          {"users_evaluated", static_cast<std::int64_t>(std::llround(mean_of(users)))},
          {"predicts_ratings", result.predicts_ratings},
          {"model",
           {{"algorithm", result.algorithm},
            {"rank", result.rank},
            {"hyperparameters", to_json(result.hyperparameters)}}},
          {"options", options},
          {"fold_results", folds}};
}

}  // namespace cinefactor
