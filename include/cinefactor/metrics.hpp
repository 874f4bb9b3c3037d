// Offline quality metrics of a trained model against held-out ratings: rating errors (RMSE, MAE)
// and top-k ranking metrics (precision, recall, NDCG, MAP, hit rate, catalog coverage).
//
// Conventions (they match scripts/golden/make_metrics_golden.py, the independent reference):
//  - A held-out movie is relevant when its rating is >= RankingOptions::relevance_threshold.
//  - A user's training movies are never ranked; every other movie of the catalog is a candidate.
//  - Ranking is by descending score; equal scores rank the lower movie index first; NaN ranks last.
//  - Precision@k = hits / k (also when fewer than k candidates exist); Recall@k = hits / #relevant;
//    NDCG@k uses binary gains, DCG = sum 1/log2(position + 1) over hits (positions from 1), and the
//    ideal DCG over min(k, #relevant) hits; AP@k = sum of precision@i at each hit i <= k, divided by
//    min(k, #relevant); HitRate@k = 1 when at least one hit.
//  - Averages are over users with at least one relevant held-out movie; coverage@k is the fraction
//    of all movies of the matrix that appear in at least one of those users' top-k.
//  - Ranking scores are dot(user, movie) + movie bias: the global offset and the user bias are the
//    same for every movie of a user and do not change the order, so they are left out (this keeps
//    float rounding from creating ties that the full prediction would not have).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "cinefactor/device.hpp"
#include "cinefactor/model.hpp"
#include "cinefactor/rating_matrix.hpp"

namespace cinefactor {

struct RankingOptions {
  std::vector<int> ks{10};           // cut-offs; each >= 1 (duplicates are ignored)
  float relevance_threshold = 4.0f;  // held-out rating at or above which a movie is relevant
  // Users scored together by one dense product (block x rank times rank x movies). Each thread
  // holds one block of scores: memory = threads x block_users x n_movies x 4 bytes (ML-25M,
  // 2 threads: 2 x 64 x 59,047 x 4 = 30 MB).
  int block_users = 64;
  int threads = 0;            // 0 = the cores other processes leave free
  bool show_progress = true;  // a Progress bar over the users being ranked
  // Popularity floor, as the recommender applies it: movies with fewer training ratings than this rank
  // after every movie that has enough (0 = no floor). Coverage still counts them in its denominator.
  int min_ratings = 0;
  // Where the scores and lists are computed: `backend` when set (chosen once for several calls, see
  // select_backend in train.hpp), otherwise the backend the device policy picks for `device`: cpu
  // (blocks of block_users on `threads` cores); cuda (batches of users on the first CUDA device: one
  // SGEMM per batch, then a top-k kernel; fails without a usable device or when k > 256 or the movies
  // exceed 392,192); automatic (cuda when usable, otherwise the CPU, said in one log line). The metrics
  // are the same function of the lists on both.
  Device device = Device::cpu;
  std::shared_ptr<engine::Backend> backend;
};

struct RatingErrors {
  double rmse = 0.0;
  double mae = 0.0;
  std::int64_t count = 0;  // held-out ratings compared
};

// The metrics of one ranked list for one user.
struct UserRankingMetrics {
  double precision = 0.0;
  double recall = 0.0;
  double ndcg = 0.0;
  double average_precision = 0.0;
  double hit = 0.0;
};

struct RankingAtK {
  int k = 0;
  double precision = 0.0;
  double recall = 0.0;
  double ndcg = 0.0;
  double map = 0.0;
  double hitrate = 0.0;
  double coverage = 0.0;
};

struct RankingReport {
  std::vector<RankingAtK> at_k;      // ascending k
  std::int64_t users_evaluated = 0;  // users with at least one relevant held-out movie
  double seconds = 0.0;
  std::string device;  // where the lists were ranked: "cpu" or "cuda:N (name)"
};

// RMSE and MAE of model.predict over every rating of `test`. Throws InvalidArgument when the
// model's shape does not match the matrix or the test set is empty.
RatingErrors rating_errors(const Model& model, const RatingMatrix& test);

// Ranking metrics of `model` on `test`, excluding each user's `train` movies from the ranking.
// `train` and `test` must have the model's dimensions. The result does not depend on the thread
// count or block size (per-user values are summed in user order).
RankingReport ranking_metrics(const Model& model, const RatingMatrix& train, const RatingMatrix& test,
                              const RankingOptions& options = {});

// The `k` best movies of `scores` (descending score, lower index first on ties, NaN last), never
// one of `excluded_sorted` (ascending movie indices). Fewer than k when fewer candidates exist.
std::vector<std::int32_t> top_k(std::span<const float> scores, std::span<const std::int32_t> excluded_sorted,
                                int k);

// The metrics at cut-off `k` of `ranked` (best first) against the relevant movies (ascending
// indices, not empty).
UserRankingMetrics user_ranking_metrics(std::span<const std::int32_t> ranked,
                                        std::span<const std::int32_t> relevant_sorted, int k);

}  // namespace cinefactor
