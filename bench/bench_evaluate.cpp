// Throughput of the ranking evaluation (score every movie for a user, drop the training movies,
// take the top k, compute the metrics) with a random model, at two shapes:
//   ml-latest-small: 610 users x 9,724 movies, rank 20 (the whole fold);
//   ML-25M: 59,047 movies, rank 64, a sample of users (per-user cost does not depend on how many
//   users there are, so the full 162,541-user fold takes users / (users/s) seconds).
// Prints users/s, the GEMM rate and the projected seconds for a full ML-25M fold.
// On a machine with a usable CUDA device, the same ranking on the GPU (RankingOptions::device = cuda) is
// registered too: the whole 162,541-user ML-25M-shaped fold, and the same 2,048-user sample as the CPU.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cstdio>
#include <random>

#include "cinefactor/device.hpp"
#include "cinefactor/metrics.hpp"

namespace {

using namespace cinefactor;

constexpr std::int32_t kSmallUsers = 610;
constexpr std::int32_t kSmallMovies = 9724;
constexpr int kSmallRank = 20;
constexpr int kSmallRatingsPerUser = 165;  // 100,836 / 610
constexpr std::int32_t k25mUsers = 162541;
constexpr std::int32_t k25mMovies = 59047;
constexpr int k25mRank = 64;
constexpr int k25mRatingsPerUser = 154;  // 25,000,095 / 162,541
constexpr double kTestFraction = 0.2;

// n_users x n_movies ratings, `per_user` distinct random movies per user; a kTestFraction share of
// each user's movies goes to test (ratings uniform on the half-star scale).
std::pair<RatingMatrix, RatingMatrix> random_split(std::int32_t n_users, std::int32_t n_movies, int per_user,
                                                   std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  SparseMatrix parts[2];
  for (auto& m : parts) {
    m.rows = n_users;
    m.cols = n_movies;
    m.indptr.assign(1, 0);
  }
  std::vector<std::int32_t> row;
  for (std::int32_t u = 0; u < n_users; ++u) {
    row.clear();
    while (static_cast<int>(row.size()) < per_user)
      row.push_back(static_cast<std::int32_t>(rng() % static_cast<std::uint64_t>(n_movies)));
    std::sort(row.begin(), row.end());
    row.erase(std::unique(row.begin(), row.end()), row.end());
    for (const auto j : row) {
      auto& m = parts[static_cast<double>(rng() % 1000) < kTestFraction * 1000 ? 1 : 0];
      m.indices.push_back(j);
      m.values.push_back(0.5f * static_cast<float>(1 + rng() % 10));
    }
    for (auto& m : parts) m.indptr.push_back(m.nnz());
  }
  std::vector<std::int64_t> users(static_cast<std::size_t>(n_users));
  std::vector<std::int64_t> movies(static_cast<std::size_t>(n_movies));
  for (std::int32_t u = 0; u < n_users; ++u) users[static_cast<std::size_t>(u)] = u + 1;
  for (std::int32_t j = 0; j < n_movies; ++j) movies[static_cast<std::size_t>(j)] = j + 1;
  return {RatingMatrix::from_csr(std::move(parts[0]), {}, users, movies),
          RatingMatrix::from_csr(std::move(parts[1]), {}, users, movies)};
}

Model random_model(const RatingMatrix& shape, int rank, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  Model m;
  m.algorithm = Algorithm::nmf;
  m.user_ids.assign(shape.user_ids().begin(), shape.user_ids().end());
  m.movie_ids.assign(shape.movie_ids().begin(), shape.movie_ids().end());
  m.user_factors = DenseMatrix(shape.n_users(), rank);
  m.movie_factors = DenseMatrix(shape.n_movies(), rank);
  for (auto& x : m.user_factors.data) x = uniform(rng);
  for (auto& x : m.movie_factors.data) x = uniform(rng);
  return m;
}

void run(benchmark::State& state, std::int32_t n_users, std::int32_t n_movies, int rank, int per_user,
         std::int32_t full_users, Device device = Device::cpu) {
  const auto [train, test] = random_split(n_users, n_movies, per_user, 1);
  const auto model = random_model(train, rank, 2);
  RankingOptions options;
  options.ks = {10, 20};
  options.show_progress = false;
  options.block_users = static_cast<int>(state.range(0));
  options.device = device;
  std::int64_t users = 0;
  for (auto _ : state) {
    const auto report = ranking_metrics(model, train, test, options);
    benchmark::DoNotOptimize(report.at_k.data());
    users += report.users_evaluated;
  }
  const double per_iteration = static_cast<double>(users) / static_cast<double>(state.iterations());
  state.counters["users"] = per_iteration;
  state.counters["movies"] = n_movies;
  state.counters["rank"] = rank;
  state.counters["threads"] = omp_get_max_threads();
  state.counters["users/s"] = benchmark::Counter(static_cast<double>(users), benchmark::Counter::kIsRate);
  state.counters["GFLOP/s"] = benchmark::Counter(static_cast<double>(users) * 2.0 * n_movies * rank / 1e9,
                                                 benchmark::Counter::kIsRate);
  // Seconds for a fold of full_users users at this rate: the inverse of (users / full_users) per second.
  state.counters["full_fold_s"] = benchmark::Counter(
      static_cast<double>(users) / full_users, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_RankMlLatestSmall(benchmark::State& state) {
  run(state, kSmallUsers, kSmallMovies, kSmallRank, kSmallRatingsPerUser, kSmallUsers);
}
BENCHMARK(BM_RankMlLatestSmall)->Arg(64)->Unit(benchmark::kMillisecond)->UseRealTime();

// 2,048 users of an ML-25M-shaped fold.
constexpr std::int32_t k25mSampleUsers = 2048;
void BM_RankMl25mSample(benchmark::State& state) {
  run(state, k25mSampleUsers, k25mMovies, k25mRank, k25mRatingsPerUser, k25mUsers);
}
BENCHMARK(BM_RankMl25mSample)
    ->Arg(16)
    ->Arg(64)
    ->Arg(256)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(2);

void BM_RankMl25mSampleCuda(benchmark::State& state) {
  run(state, k25mSampleUsers, k25mMovies, k25mRank, k25mRatingsPerUser, k25mUsers, Device::cuda);
}

// Every user of an ML-25M-shaped fold (25 M ratings, 20 % held out), in batches on the device.
void BM_RankMl25mFullCuda(benchmark::State& state) {
  run(state, k25mUsers, k25mMovies, k25mRank, k25mRatingsPerUser, k25mUsers, Device::cuda);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  const CudaProbe probe = probe_cuda();
  if (probe.devices.empty()) {
    std::fprintf(stderr, "bench_evaluate: CUDA cases not registered: no usable CUDA device: %s\n",
                 probe.reason.c_str());
  } else {
    // Arg: RankingOptions::block_users, which the GPU path does not use (it batches by device memory).
    benchmark::RegisterBenchmark("BM_RankMl25mSampleCuda", BM_RankMl25mSampleCuda)
        ->Arg(64)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime()
        ->Iterations(3);
    benchmark::RegisterBenchmark("BM_RankMl25mFullCuda", BM_RankMl25mFullCuda)
        ->Arg(64)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime()
        ->Iterations(3);
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
