// The metrics of metrics.hpp as sums over users and held-out ratings, before they are divided: what one
// process computes for its users and a ProcessGroup adds up, so that a distributed evaluation reports the
// single-process numbers (up to the order of floating-point additions).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "cinefactor/metrics.hpp"
#include "eval/process_group.hpp"

namespace cinefactor::eval {

// Per user metric of a ranked list, in RankingSums::sums.
inline constexpr int kRankingMetricCount = 5;  // precision, recall, ndcg, average precision, hit

struct RankingSums {
  std::vector<int> ks;  // ascending, without duplicates
  std::int64_t users = 0;
  std::vector<double> sums;                 // per k, kRankingMetricCount sums over the evaluated users
  std::vector<std::int32_t> best_position;  // per movie: the best 0-based position it reached in any list
  std::string device;                       // where the lists were ranked
};

// The sums of ranking_metrics() for the users of `test`; `movie_counts` are the training ratings of every
// movie (of the whole training matrix: the popularity floor's counts).
RankingSums ranking_sums(const Model& model, const RatingMatrix& train, const RatingMatrix& test,
                         const RankingOptions& options, std::span<const std::int64_t> movie_counts);
// Adds up every process's sums (the positions: their minimum).
void reduce(RankingSums& sums, ProcessGroup& group);
// The metrics of the sums (seconds left at 0).
RankingReport ranking_report(const RankingSums& sums);

struct ErrorSums {
  double squared = 0.0;
  double absolute = 0.0;
  std::int64_t count = 0;
};

// Sums of the squared and absolute errors of model.predict over every rating of `test` (none: zeros).
ErrorSums rating_error_sums(const Model& model, const RatingMatrix& test);
void reduce(ErrorSums& sums, ProcessGroup& group);
// RMSE and MAE; throws InvalidArgument when no rating was compared.
RatingErrors rating_errors(const ErrorSums& sums);

}  // namespace cinefactor::eval
