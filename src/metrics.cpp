#include "cinefactor/metrics.hpp"

#include <fmt/format.h>
#include <omp.h>
#include <spdlog/spdlog.h>

#include <Eigen/Core>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <string>

#include "cinefactor/error.hpp"
#include "cinefactor/progress.hpp"
#include "cuda_backend.hpp"

namespace cinefactor {
namespace {

// Index of the per-user metric in the flat per-user result array.
enum UserMetric { kPrecision = 0, kRecall, kNdcg, kAp, kHit, kUserMetricCount };

struct Scored {
  float score;
  std::int32_t movie;
};

// a ranks before b: higher score, or the same score and a lower movie index.
inline bool ranks_before(const Scored& a, const Scored& b) {
  return a.score > b.score || (a.score == b.score && a.movie < b.movie);
}

// Fills `out` (cleared first) with the best `k` candidates of scores[0, n) minus `excluded`, best first.
// `heap` is scratch space. Scanning in ascending movie order lets a candidate whose score only ties
// the current worst be rejected by one comparison: its index is higher, so it ranks after.
void select_top_k(const float* scores, std::int32_t n, std::span<const std::int32_t> excluded, int k,
                  std::vector<Scored>& heap, std::vector<std::int32_t>& out) {
  heap.clear();
  out.clear();
  if (k <= 0) return;
  const auto capacity = static_cast<std::size_t>(k);
  float threshold = -std::numeric_limits<float>::infinity();
  auto scan = [&](std::int32_t begin, std::int32_t end) {
    std::int32_t j = begin;
    for (; j < end && heap.size() < capacity; ++j) {
      const float s = std::isnan(scores[j]) ? -std::numeric_limits<float>::infinity() : scores[j];
      heap.push_back({s, j});
      std::push_heap(heap.begin(), heap.end(), ranks_before);  // front = the worst kept
      if (heap.size() == capacity) threshold = heap.front().score;
    }
    for (; j < end; ++j) {
      const float s = scores[j];
      if (!(s > threshold)) continue;  // also rejects NaN
      std::pop_heap(heap.begin(), heap.end(), ranks_before);
      heap.back() = {s, j};
      std::push_heap(heap.begin(), heap.end(), ranks_before);
      threshold = heap.front().score;
    }
  };
  std::int32_t start = 0;
  for (const auto x : excluded) {
    if (x < start || x >= n) continue;
    scan(start, x);
    start = x + 1;
  }
  scan(start, n);
  std::sort(heap.begin(), heap.end(), ranks_before);
  out.reserve(heap.size());
  for (const auto& e : heap) out.push_back(e.movie);
}

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
  std::vector<Scored> heap;
  std::vector<std::int32_t> out;
  select_top_k(scores.data(), static_cast<std::int32_t>(scores.size()), excluded_sorted, k, heap, out);
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
  check_shape(model, test, "test");
  if (test.nnz() == 0) throw InvalidArgument("rating errors need at least one held-out rating");
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
  double sq = 0.0;
  double ab = 0.0;
  for (std::int32_t u = 0; u < n_users; ++u) {
    sq += squared[static_cast<std::size_t>(u)];
    ab += absolute[static_cast<std::size_t>(u)];
  }
  const auto n = static_cast<double>(test.nnz());
  return {std::sqrt(sq / n), ab / n, test.nnz()};
}

namespace {

// Where ranking_metrics ranks for options.device, and for automatic why not on the GPU (logged by the caller).
struct RankingChoice {
  Device device = Device::cpu;
  CudaDevice cuda;      // when device is cuda
  std::string why_not;  // when a CUDA device was wanted but cannot be used
};

// Why the GPU top-k cannot take this job on a device with free_bytes free, or empty.
std::string ranking_unfit(const engine::CudaRankingWorkload& workload, std::int64_t free_bytes) {
  if (std::string why = engine::cuda_ranking_unsupported(workload); !why.empty()) return why;
  try {
    engine::cuda_ranking_batch(workload, free_bytes);
  } catch (const CudaOutOfMemory& e) {
    return e.what();
  }
  return {};
}

RankingChoice choose_ranking_device(const Model& model, const RatingMatrix& train, const RankingOptions& options) {
  RankingChoice choice;
  if (options.device == Device::cpu) return choice;
  choice.why_not = engine::first_cuda_device(&choice.cuda);
  if (choice.why_not.empty()) {
    choice.why_not = ranking_unfit({train.n_users(), train.n_movies(), train.nnz(), model.rank(),
                                    normalized_ks(options.ks).back(), train.n_users(), choice.cuda.multiprocessors},
                                   choice.cuda.free_memory);
  }
  if (options.device == Device::cuda && !choice.why_not.empty()) {
    throw Error("--device cuda: no usable CUDA device for ranking: " + choice.why_not);
  }
  choice.device = choice.why_not.empty() ? Device::cuda : Device::cpu;
  return choice;
}

void log_choice(const RankingChoice& choice, spdlog::level::level_enum level) {
  if (choice.device == Device::cuda) {
    spdlog::log(level, "device auto: ranking on cuda:{} ({})", choice.cuda.index, choice.cuda.name);
  } else {
    spdlog::log(level, "device auto: ranking on the CPU ({})", choice.why_not);
  }
}

}  // namespace

Device resolve_ranking_device(const Model& model, const RatingMatrix& train, const RankingOptions& options) {
  const RankingChoice choice = choose_ranking_device(model, train, options);
  if (options.device == Device::automatic) log_choice(choice, spdlog::level::info);
  return choice.device;
}

RankingReport ranking_metrics(const Model& model, const RatingMatrix& train, const RatingMatrix& test,
                              const RankingOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  check_shape(model, train, "training");
  check_shape(model, test, "test");
  if (options.block_users < 1) throw InvalidArgument("block_users must be >= 1");
  if (!std::isfinite(options.relevance_threshold))
    throw InvalidArgument("the relevance threshold must be finite");
  const auto ks = normalized_ks(options.ks);
  const RankingChoice choice = choose_ranking_device(model, train, options);
  // evaluate() says once per run where auto ranks (resolve_ranking_device); per call it is a debug line.
  if (options.device == Device::automatic) log_choice(choice, spdlog::level::debug);
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
  const auto record = [&](std::int64_t e, std::span<const std::int32_t> ranked, std::vector<std::int32_t>& best) {
    const auto at = static_cast<std::size_t>(e);
    const std::span<const std::int32_t> rel(relevant.data() + relevant_begin[at],
                                            static_cast<std::size_t>(relevant_begin[at + 1] - relevant_begin[at]));
    metrics_at_cutoffs(ranked, rel, ks, discount, per_user.data() + at * stride);
    for (std::size_t pos = 0; pos < ranked.size(); ++pos) {
      auto& b = best[static_cast<std::size_t>(ranked[pos])];
      b = std::min(b, static_cast<std::int32_t>(pos));
    }
  };
  const auto merge_best = [&](const std::vector<std::int32_t>& local) {
    for (std::size_t j = 0; j < best_position.size(); ++j) best_position[j] = std::min(best_position[j], local[j]);
  };

  // Below the popularity floor: scored -inf, so they rank after every real score (by index).
  std::vector<std::int32_t> below_floor;
  for (std::int32_t j = 0; j < n_movies; ++j) {
    if (train.movie_count(j) < options.min_ratings) below_floor.push_back(j);
  }

  std::unique_ptr<Progress> progress;
  if (options.show_progress) progress = std::make_unique<Progress>("ranking", n_eval, "users");
  const int threads = options.threads > 0 ? options.threads : omp_get_max_threads();
  RankingReport report;

  if (choice.device == Device::cuda) {
    const CudaDevice& cuda_device = choice.cuda;
    report.device = fmt::format("cuda:{} ({})", cuda_device.index, cuda_device.name);
    engine::CudaRankingInput in;
    in.user_factors = &model.user_factors;
    in.movie_factors = &model.movie_factors;
    in.movie_offset = model.movie_bias.empty() ? std::vector<float>(static_cast<std::size_t>(n_movies), 0.0f)
                                               : model.movie_bias;
    for (const auto j : below_floor) in.movie_offset[static_cast<std::size_t>(j)] = -std::numeric_limits<float>::infinity();
    in.excluded = &train_csr;
    in.users = users;
    in.k = max_k;
    if (progress) in.on_batch = [&](std::int64_t count) { progress->advance(count); };
    const std::vector<std::int32_t> lists = engine::cuda_rank_top_k(cuda_device.index, in);
#pragma omp parallel num_threads(threads)
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
  } else {
    report.device = "cpu";
    const auto rank = static_cast<Eigen::Index>(model.rank());
    const auto block = static_cast<std::int64_t>(options.block_users);
    const auto n_blocks = (n_eval + block - 1) / block;
    using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    using ColMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;
    // movie_factors is n_movies x rank row-major, i.e. the rank x n_movies column-major transpose.
    const Eigen::Map<const ColMajor> movies_t(model.movie_factors.data.data(), rank, n_movies);
    const Eigen::Map<const RowMajor> user_factors(model.user_factors.data.data(), model.user_factors.rows, rank);
#pragma omp parallel num_threads(threads)
    {
      RowMajor block_factors(block, rank);
      RowMajor scores(block, n_movies);
      std::vector<Scored> heap;
      std::vector<std::int32_t> ranked;
      std::vector<std::int32_t> local_best(static_cast<std::size_t>(n_movies),
                                           std::numeric_limits<std::int32_t>::max());

#pragma omp for schedule(dynamic, 1)
      for (std::int64_t b = 0; b < n_blocks; ++b) {
        const auto first = b * block;
        const auto count = std::min(block, n_eval - first);
        if (rank > 0) {
          for (std::int64_t i = 0; i < count; ++i) {
            block_factors.row(i) = user_factors.row(users[static_cast<std::size_t>(first + i)]);
          }
          // Inside a parallel region Eigen runs the product on this thread only.
          scores.topRows(count).noalias() = block_factors.topRows(count) * movies_t;
        } else {
          scores.topRows(count).setZero();
        }
        if (!model.movie_bias.empty()) {
          const Eigen::Map<const Eigen::RowVectorXf> movie_bias(model.movie_bias.data(), n_movies);
          scores.topRows(count).rowwise() += movie_bias;
        }
        for (const auto j : below_floor) {
          scores.col(j).head(count).setConstant(-std::numeric_limits<float>::infinity());
        }
        for (std::int64_t i = 0; i < count; ++i) {
          const auto u = users[static_cast<std::size_t>(first + i)];
          const std::span<const std::int32_t> excluded(train_csr.indices.data() + train_csr.row_begin(u),
                                                       static_cast<std::size_t>(train_csr.row_nnz(u)));
          select_top_k(scores.row(i).data(), n_movies, excluded, max_k, heap, ranked);
          record(first + i, ranked, local_best);
        }
        if (progress) progress->advance(count);
      }
#pragma omp critical(cinefactor_ranking_merge)
      merge_best(local_best);
    }
  }
  if (progress) progress->finish();

  report.users_evaluated = n_eval;
  for (std::size_t ki = 0; ki < n_ks; ++ki) {
    double sums[kUserMetricCount] = {};
    for (std::int64_t e = 0; e < n_eval; ++e) {
      const double* v = per_user.data() + static_cast<std::size_t>(e) * stride + ki * kUserMetricCount;
      for (int m = 0; m < kUserMetricCount; ++m) sums[m] += v[m];
    }
    const double denom = n_eval > 0 ? static_cast<double>(n_eval) : 1.0;
    const auto covered = std::count_if(best_position.begin(), best_position.end(),
                                       [&](std::int32_t pos) { return pos < ks[ki]; });
    RankingAtK r;
    r.k = ks[ki];
    r.precision = sums[kPrecision] / denom;
    r.recall = sums[kRecall] / denom;
    r.ndcg = sums[kNdcg] / denom;
    r.map = sums[kAp] / denom;
    r.hitrate = sums[kHit] / denom;
    r.coverage = n_movies > 0 ? static_cast<double>(covered) / static_cast<double>(n_movies) : 0.0;
    report.at_k.push_back(r);
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace cinefactor
