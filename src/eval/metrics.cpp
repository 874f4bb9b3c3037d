// The metrics: rating errors, and ranking metrics of the lists a backend ranks (see metrics.hpp).
#include "cinefactor/metrics.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <string>

#include "cinefactor/error.hpp"
#include "cinefactor/progress.hpp"
#include "core/parallel.hpp"
#include "engine/backend.hpp"
#include "engine/device_policy.hpp"
#include "engine/top_k.hpp"
#include "eval/metric_sums.hpp"

namespace cinefactor {
namespace {

// Index of the per-user metric in the flat per-user result array.
enum UserMetric { kPrecision = 0, kRecall, kNdcg, kAp, kHit, kUserMetricCount };
static_assert(kUserMetricCount == eval::kRankingMetricCount);

// 1 / log2(position + 1) for positions 1..n (index 0 is position 1).
std::vector<double> discounts(int n) {
  std::vector<double> d(static_cast<std::size_t>(std::max(n, 0)));
  for (int i = 0; i < n; ++i) d[static_cast<std::size_t>(i)] = 1.0 / std::log2(static_cast<double>(i) + 2.0);
  return d;
}

// Metrics at every cut-off in `ks` (ascending) in one pass over `ranked`; writes ks.size() x
// kUserMetricCount values to `out`. `discount` covers at least max(ks) positions.
void metrics_at_cutoffs(std::span<const std::int32_t> ranked, std::span<const std::int32_t> relevant,
                        std::span<const int> ks, std::span<const double> discount, double* out) {
  const auto n_relevant = static_cast<double>(relevant.size());
  double hits = 0.0;
  double dcg = 0.0;
  double precision_sum = 0.0;
  std::size_t next_k = 0;
  auto record = [&](int k) {
    const auto ideal_hits = std::min(static_cast<std::size_t>(k), relevant.size());
    double idcg = 0.0;
    for (std::size_t i = 0; i < ideal_hits; ++i) idcg += discount[i];
    double* o = out + next_k * kUserMetricCount;
    o[kPrecision] = hits / static_cast<double>(k);
    o[kRecall] = hits / n_relevant;
    o[kNdcg] = idcg > 0.0 ? dcg / idcg : 0.0;
    o[kAp] = ideal_hits > 0 ? precision_sum / static_cast<double>(ideal_hits) : 0.0;
    o[kHit] = hits > 0.0 ? 1.0 : 0.0;
    ++next_k;
  };
  for (std::size_t i = 0; i < ranked.size() && next_k < ks.size(); ++i) {
    if (std::binary_search(relevant.begin(), relevant.end(), ranked[i])) {
      hits += 1.0;
      dcg += discount[i];
      precision_sum += hits / static_cast<double>(i + 1);
    }
    while (next_k < ks.size() && static_cast<std::size_t>(ks[next_k]) == i + 1) record(ks[next_k]);
  }
  while (next_k < ks.size()) record(ks[next_k]);  // lists shorter than k
}

void check_shape(const Model& model, const RatingMatrix& m, const char* what) {
  const auto fail = [&](const std::string& detail) {
    throw InvalidArgument(std::string("the model does not match the ") + what + " ratings: " + detail);
  };
  if (model.n_users() != m.n_users() || model.n_movies() != m.n_movies()) {
    fail("model has " + std::to_string(model.n_users()) + " users x " + std::to_string(model.n_movies()) +
         " movies, ratings have " + std::to_string(m.n_users()) + " x " + std::to_string(m.n_movies()));
  }
  if (!std::equal(m.movie_ids().begin(), m.movie_ids().end(), model.movie_ids.begin()) ||
      !std::equal(m.user_ids().begin(), m.user_ids().end(), model.user_ids.begin())) {
    fail("user or movie ids differ");
  }
  if (model.rank() > 0 &&
      (model.user_factors.rows != m.n_users() || model.user_factors.cols != model.rank() ||
       model.movie_factors.rows != m.n_movies())) {
    fail("factor matrices have the wrong shape");
  }
  if ((!model.user_bias.empty() && model.user_bias.size() != static_cast<std::size_t>(m.n_users())) ||
      (!model.movie_bias.empty() && model.movie_bias.size() != static_cast<std::size_t>(m.n_movies()))) {
    fail("bias vectors have the wrong length");
  }
}

std::vector<int> normalized_ks(const std::vector<int>& ks) {
  if (ks.empty()) throw InvalidArgument("ranking metrics need at least one cut-off k");
  std::vector<int> out(ks);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  if (out.front() < 1)
    throw InvalidArgument("ranking cut-off k must be >= 1, got " + std::to_string(out.front()));
  return out;
}

}  // namespace

std::vector<std::int32_t> top_k(std::span<const float> scores, std::span<const std::int32_t> excluded_sorted,
                                int k) {
  if (k < 0) throw InvalidArgument("top_k: k must be >= 0");
  if (!std::is_sorted(excluded_sorted.begin(), excluded_sorted.end())) {
    throw InvalidArgument("top_k: excluded movie indices must be ascending");
  }
  std::vector<engine::ScoredMovie> heap;
  std::vector<std::int32_t> out;
  engine::select_top_k(scores.data(), static_cast<std::int32_t>(scores.size()), excluded_sorted, k, heap,
                       out);
  return out;
}

UserRankingMetrics user_ranking_metrics(std::span<const std::int32_t> ranked,
                                        std::span<const std::int32_t> relevant_sorted, int k) {
  if (k < 1) throw InvalidArgument("ranking cut-off k must be >= 1");
  if (relevant_sorted.empty()) throw InvalidArgument("ranking metrics need at least one relevant movie");
  if (!std::is_sorted(relevant_sorted.begin(), relevant_sorted.end())) {
    throw InvalidArgument("relevant movie indices must be ascending");
  }
  const int ks[1] = {k};
  const auto discount = discounts(k);
  double out[kUserMetricCount];
  metrics_at_cutoffs(ranked.first(std::min(ranked.size(), static_cast<std::size_t>(k))), relevant_sorted, ks,
                     discount, out);
  return {out[kPrecision], out[kRecall], out[kNdcg], out[kAp], out[kHit]};
}

RatingErrors rating_errors(const Model& model, const RatingMatrix& test) {
  return eval::rating_errors(eval::rating_error_sums(model, test));
}

RankingReport ranking_metrics(const Model& model, const RatingMatrix& train, const RatingMatrix& test,
                              const RankingOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::int64_t> movie_counts(static_cast<std::size_t>(train.n_movies()));
  for (std::int32_t j = 0; j < train.n_movies(); ++j)
    movie_counts[static_cast<std::size_t>(j)] = train.movie_count(j);
  auto report = eval::ranking_report(eval::ranking_sums(model, train, test, options, movie_counts));
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

namespace eval {

ErrorSums rating_error_sums(const Model& model, const RatingMatrix& test) {
  check_shape(model, test, "test");
  const auto& csr = test.by_user();
  const auto n_users = test.n_users();
  // Per-user partial sums, added in user order: the result does not depend on the thread count.
  std::vector<double> squared(static_cast<std::size_t>(n_users), 0.0);
  std::vector<double> absolute(static_cast<std::size_t>(n_users), 0.0);
#pragma omp parallel for schedule(dynamic, 64)
  for (std::int32_t u = 0; u < n_users; ++u) {
    double sq = 0.0;
    double ab = 0.0;
    for (std::int64_t p = csr.row_begin(u); p < csr.row_end(u); ++p) {
      const auto q = static_cast<std::size_t>(p);
      const double err =
          static_cast<double>(model.predict(u, csr.indices[q])) - static_cast<double>(csr.values[q]);
      sq += err * err;
      ab += std::abs(err);
    }
    squared[static_cast<std::size_t>(u)] = sq;
    absolute[static_cast<std::size_t>(u)] = ab;
  }
  ErrorSums sums;
  for (std::int32_t u = 0; u < n_users; ++u) {
    sums.squared += squared[static_cast<std::size_t>(u)];
    sums.absolute += absolute[static_cast<std::size_t>(u)];
  }
  sums.count = test.nnz();
  return sums;
}

void reduce(ErrorSums& sums, ProcessGroup& group) {
  double values[2] = {sums.squared, sums.absolute};
  group.sum(values);
  std::int64_t count[1] = {sums.count};
  group.sum(count);
  sums = {values[0], values[1], count[0]};
}

RatingErrors rating_errors(const ErrorSums& sums) {
  if (sums.count == 0) throw InvalidArgument("rating errors need at least one held-out rating");
  const auto n = static_cast<double>(sums.count);
  return {std::sqrt(sums.squared / n), sums.absolute / n, sums.count};
}

RankingSums ranking_sums(const Model& model, const RatingMatrix& train, const RatingMatrix& test,
                         const RankingOptions& options, std::span<const std::int64_t> movie_counts) {
  check_shape(model, train, "training");
  check_shape(model, test, "test");
  if (options.block_users < 1) throw InvalidArgument("block_users must be >= 1");
  if (!std::isfinite(options.relevance_threshold))
    throw InvalidArgument("the relevance threshold must be finite");
  if (movie_counts.size() != static_cast<std::size_t>(train.n_movies()))
    throw InvalidArgument("the movie counts do not match the training ratings");
  RankingSums out;
  out.ks = normalized_ks(options.ks);
  const auto& ks = out.ks;
  const std::shared_ptr<engine::Backend> backend =
      options.backend ? options.backend
                      : engine::select_backend(options.device, options.threads,
                                               engine::ranking_workload(model, train, ks.back()));
  const int max_k = ks.back();
  const auto n_ks = ks.size();
  const auto discount = discounts(max_k);
  const auto n_movies = test.n_movies();
  const auto& test_csr = test.by_user();
  const auto& train_csr = train.by_user();

  // Each evaluated user's relevant held-out movies (ascending, since CSR rows are sorted).
  std::vector<std::int32_t> users;
  std::vector<std::int64_t> relevant_begin{0};
  std::vector<std::int32_t> relevant;
  for (std::int32_t u = 0; u < test.n_users(); ++u) {
    for (std::int64_t p = test_csr.row_begin(u); p < test_csr.row_end(u); ++p) {
      if (test_csr.values[static_cast<std::size_t>(p)] >= options.relevance_threshold) {
        relevant.push_back(test_csr.indices[static_cast<std::size_t>(p)]);
      }
    }
    if (static_cast<std::int64_t>(relevant.size()) > relevant_begin.back()) {
      users.push_back(u);
      relevant_begin.push_back(static_cast<std::int64_t>(relevant.size()));
    }
  }
  const auto n_eval = static_cast<std::int64_t>(users.size());
  const auto stride = n_ks * kUserMetricCount;
  std::vector<double> per_user(static_cast<std::size_t>(n_eval) * stride, 0.0);
  // For every movie, the best (lowest) 0-based position it reached in any evaluated user's list.
  std::vector<std::int32_t> best_position(static_cast<std::size_t>(n_movies),
                                          std::numeric_limits<std::int32_t>::max());
  // Evaluated user e's ranked list into its metrics and the movies' best positions (`best`, per thread).
  const auto record = [&](std::int64_t e, std::span<const std::int32_t> ranked,
                          std::vector<std::int32_t>& best) {
    const auto at = static_cast<std::size_t>(e);
    const std::span<const std::int32_t> rel(
        relevant.data() + relevant_begin[at],
        static_cast<std::size_t>(relevant_begin[at + 1] - relevant_begin[at]));
    metrics_at_cutoffs(ranked, rel, ks, discount, per_user.data() + at * stride);
    for (std::size_t pos = 0; pos < ranked.size(); ++pos) {
      auto& b = best[static_cast<std::size_t>(ranked[pos])];
      b = std::min(b, static_cast<std::int32_t>(pos));
    }
  };
  const auto merge_best = [&](const std::vector<std::int32_t>& local) {
    for (std::size_t j = 0; j < best_position.size(); ++j)
      best_position[j] = std::min(best_position[j], local[j]);
  };

  std::unique_ptr<Progress> progress;
  if (options.show_progress) progress = std::make_unique<Progress>("ranking", n_eval, "users");
  engine::RankingJob job;
  job.user_factors = &model.user_factors;
  job.movie_factors = &model.movie_factors;
  job.movie_offset = model.movie_bias.empty() ? std::vector<float>(static_cast<std::size_t>(n_movies), 0.0f)
                                              : model.movie_bias;
  // The fallback for movies without training ratings (Model::unseen_shift; their factor rows are zero, and
  // a user's own shift is the same for every movie). Below the popularity floor: scored -inf, so they rank
  // after every real score (by index).
  const float unseen_shift = model.unseen_shift();
  for (std::int32_t j = 0; j < n_movies; ++j) {
    if (model.unseen_movie(j)) job.movie_offset[static_cast<std::size_t>(j)] += unseen_shift;
    if (movie_counts[static_cast<std::size_t>(j)] < options.min_ratings) {
      job.movie_offset[static_cast<std::size_t>(j)] = -std::numeric_limits<float>::infinity();
    }
  }
  job.excluded = &train_csr;
  job.users = users;
  job.k = max_k;
  job.block_users = options.block_users;
  if (progress) job.on_batch = [&](std::int64_t count) { progress->advance(count); };
  const std::vector<std::int32_t> lists = backend->rank_top_k(job);
  out.device = backend->device_description();
#pragma omp parallel num_threads(resolve_threads(options.threads))
  {
    std::vector<std::int32_t> local_best(static_cast<std::size_t>(n_movies),
                                         std::numeric_limits<std::int32_t>::max());
#pragma omp for schedule(static)
    for (std::int64_t e = 0; e < n_eval; ++e) {
      const std::int32_t* list = lists.data() + e * max_k;
      const auto length = std::find(list, list + max_k, -1) - list;
      record(e, {list, static_cast<std::size_t>(length)}, local_best);
    }
#pragma omp critical(cinefactor_ranking_merge)
    merge_best(local_best);
  }
  if (progress) progress->finish();

  out.users = n_eval;
  out.sums.assign(n_ks * kUserMetricCount, 0.0);
  for (std::size_t ki = 0; ki < n_ks; ++ki) {
    double* sums = out.sums.data() + ki * kUserMetricCount;
    for (std::int64_t e = 0; e < n_eval; ++e) {
      const double* v = per_user.data() + static_cast<std::size_t>(e) * stride + ki * kUserMetricCount;
      for (int m = 0; m < kUserMetricCount; ++m) sums[m] += v[m];
    }
  }
  out.best_position = std::move(best_position);
  return out;
}

void reduce(RankingSums& sums, ProcessGroup& group) {
  group.sum(sums.sums);
  std::int64_t users[1] = {sums.users};
  group.sum(users);
  sums.users = users[0];
  group.min(sums.best_position);
}

RankingReport ranking_report(const RankingSums& sums) {
  RankingReport report;
  report.device = sums.device;
  report.users_evaluated = sums.users;
  const auto n_movies = static_cast<std::int64_t>(sums.best_position.size());
  for (std::size_t ki = 0; ki < sums.ks.size(); ++ki) {
    const double* s = sums.sums.data() + ki * kUserMetricCount;
    const double denom = sums.users > 0 ? static_cast<double>(sums.users) : 1.0;
    const auto covered = std::count_if(sums.best_position.begin(), sums.best_position.end(),
                                       [&](std::int32_t pos) { return pos < sums.ks[ki]; });
    RankingAtK r;
    r.k = sums.ks[ki];
    r.precision = s[kPrecision] / denom;
    r.recall = s[kRecall] / denom;
    r.ndcg = s[kNdcg] / denom;
    r.map = s[kAp] / denom;
    r.hitrate = s[kHit] / denom;
    r.coverage = n_movies > 0 ? static_cast<double>(covered) / static_cast<double>(n_movies) : 0.0;
    report.at_k.push_back(r);
  }
  return report;
}

}  // namespace eval
}  // namespace cinefactor
