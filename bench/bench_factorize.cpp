// The CPU backend at k = 64: one zero-objective NMF iteration, one masked NMF
// iteration, one randomized SVD (p = 10, q = 4). Peers: bench/peer_sklearn.py (scikit-learn's NMF
// solver='mu' and randomized_svd with the same settings on the same ratings.csv).
//
// Matrices:
//   synthetic  always; shape from CINEFACTOR_BENCH_SYNTHETIC="users,movies,ratings" (default the
//              ml-1m shape 6040,3706,1000209; the ml-25m shape is 162541,59047,25000095). Movies are
//              drawn with a skewed popularity (density ~ 1/sqrt(rank)), users' counts are exponential.
//   data       when CINEFACTOR_BENCH_DATA names a MovieLens directory (loaded with load_dataset).
// Threads: CINEFACTOR_BENCH_THREADS (default 0 = all cores).
//
// Counted work (m users, n movies, z ratings, k rank, l = k + p, q power iterations):
//   zero NMF iteration     flops 4zk + 4(m+n)k^2     (two X·F products; per side F·G and the Gram)
//                          bytes 16z + 8(m+n) + 12(m+n)k   (CSR read twice; each factor read once as
//                                                           the other side, read and written as self)
//   masked NMF iteration   flops 14zk                (per rating: dot, numerator and denominator on each
//                                                     side, plus the movie side's residual pass)
//                          bytes 24z + 8(m+n) + 12(m+n)k   (CSR read three times)
//   randomized SVD         flops (2q+2)·2zl + 8l^2(q+1)(m+n) + 2(m+n)lk   (sparse products; CholeskyQR2
//                                                     with Gram and triangular multiply per pass; final U, V)
//                          bytes (2q+2)(8z + 4l(m+n))  (each sparse product reads the CSR, its input, writes
//                                                     its output)
// GFLOP/s and GB/s below are these counts over the measured time: a lower bound on the traffic.
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <sstream>
#include <string>

#include "cinefactor/dataset.hpp"
#include "cinefactor/train.hpp"
#include "engine/backend.hpp"
#include "engine/nmf_init.hpp"
#include "engine/random.hpp"

namespace {

using cinefactor::RatingMatrix;
namespace engine = cinefactor::engine;

constexpr int kRank = 64;
constexpr int kOversamples = 10;
constexpr int kPowerIterations = 4;
constexpr std::uint64_t kSeed = 42;

int bench_threads() {
  const char* env = std::getenv("CINEFACTOR_BENCH_THREADS");
  return env ? std::atoi(env) : 0;
}

// A random rating matrix with a skewed movie popularity, built directly as CSR.
RatingMatrix synthetic(std::int32_t users, std::int32_t movies, std::int64_t ratings) {
  const double mean_count = static_cast<double>(ratings) / users;
  std::vector<std::vector<std::int32_t>> rows(static_cast<std::size_t>(users));
#pragma omp parallel for schedule(dynamic, 256)
  for (std::int32_t u = 0; u < users; ++u) {
    std::mt19937_64 rng(engine::stream_seed(kSeed, static_cast<std::uint64_t>(u)));
    std::exponential_distribution<double> count_dist(1.0 / std::max(1.0, mean_count - 1.0));
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    const auto count = static_cast<std::size_t>(std::min<double>(movies, 1.0 + std::floor(count_dist(rng))));
    auto& row = rows[static_cast<std::size_t>(u)];
    while (row.size() < count) {
      while (row.size() < count) {
        const double x = unit(rng);
        row.push_back(std::min(movies - 1, static_cast<std::int32_t>(movies * x * x)));
      }
      std::sort(row.begin(), row.end());
      row.erase(std::unique(row.begin(), row.end()), row.end());
    }
  }
  cinefactor::SparseMatrix csr;
  csr.rows = users;
  csr.cols = movies;
  csr.indptr.push_back(0);
  std::mt19937_64 rng(kSeed);
  for (const auto& row : rows) {
    for (const auto j : row) {
      csr.indices.push_back(j);
      csr.values.push_back(0.5f * static_cast<float>(1 + rng() % 10));
    }
    csr.indptr.push_back(csr.nnz());
  }
  std::vector<std::int64_t> user_ids(static_cast<std::size_t>(users));
  std::vector<std::int64_t> movie_ids(static_cast<std::size_t>(movies));
  for (std::size_t i = 0; i < user_ids.size(); ++i) user_ids[i] = static_cast<std::int64_t>(i) + 1;
  for (std::size_t i = 0; i < movie_ids.size(); ++i) movie_ids[i] = static_cast<std::int64_t>(i) + 1;
  return RatingMatrix::from_csr(std::move(csr), {}, std::move(user_ids), std::move(movie_ids));
}

struct Shape {
  double m, n, z;
};

Shape shape_of(const RatingMatrix& r) {
  return {static_cast<double>(r.n_users()), static_cast<double>(r.n_movies()), static_cast<double>(r.nnz())};
}

void set_rates(benchmark::State& state, double flops, double bytes) {
  state.counters["GFLOP"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GB"] = benchmark::Counter(bytes * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void nmf_zero_iteration(benchmark::State& state, const RatingMatrix* ratings) {
  const auto backend = engine::make_cpu_backend(bench_threads());
  const double mean =
      ratings->global_mean() * ratings->nnz() / (double(ratings->n_users()) * ratings->n_movies());
  auto factors = engine::nmf_init_random(ratings->n_users(), ratings->n_movies(), kRank, mean, kSeed);
  engine::IterationControl one;
  one.max_iterations = 1;
  one.tolerance = 0.0;
  for (auto _ : state) benchmark::DoNotOptimize(backend->nmf_zero(*ratings, factors, one));
  const auto [m, n, z] = shape_of(*ratings);
  const double k = kRank;
  set_rates(state, 4 * z * k + 4 * (m + n) * k * k, 16 * z + 8 * (m + n) + 12 * (m + n) * k);
}

void nmf_masked_iteration(benchmark::State& state, const RatingMatrix* ratings) {
  const auto backend = engine::make_cpu_backend(bench_threads());
  engine::MaskedNmfState nmf;
  nmf.factors =
      engine::nmf_init_random(ratings->n_users(), ratings->n_movies(), kRank, ratings->global_mean(), kSeed);
  engine::IterationControl one;
  one.max_iterations = 1;
  one.tolerance = 0.0;
  const engine::MaskedNmfSettings settings;
  for (auto _ : state) benchmark::DoNotOptimize(backend->nmf_masked(*ratings, settings, nmf, one));
  const auto [m, n, z] = shape_of(*ratings);
  const double k = kRank;
  set_rates(state, 14 * z * k, 24 * z + 8 * (m + n) + 12 * (m + n) * k);
}

void randomized_svd(benchmark::State& state, const RatingMatrix* ratings) {
  const auto backend = engine::make_cpu_backend(bench_threads());
  engine::SvdSettings settings;
  settings.rank = kRank;
  settings.oversamples = kOversamples;
  settings.power_iterations = kPowerIterations;
  for (auto _ : state) benchmark::DoNotOptimize(backend->truncated_svd(*ratings, settings));
  const auto [m, n, z] = shape_of(*ratings);
  const double k = kRank;
  const double l = kRank + kOversamples;
  const double q = kPowerIterations;
  set_rates(state, (2 * q + 2) * 2 * z * l + 8 * l * l * (q + 1) * (m + n) + 2 * (m + n) * l * k,
            (2 * q + 2) * (8 * z + 4 * l * (m + n)));
}

void register_all(const std::string& name, const RatingMatrix* ratings) {
  const std::string suffix = "/" + name + "/k:" + std::to_string(kRank);
  benchmark::RegisterBenchmark(("nmf_zero_iteration" + suffix).c_str(), nmf_zero_iteration, ratings)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  benchmark::RegisterBenchmark(("nmf_masked_iteration" + suffix).c_str(), nmf_masked_iteration, ratings)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  benchmark::RegisterBenchmark(("randomized_svd" + suffix).c_str(), randomized_svd, ratings)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  std::int64_t users = 6040, movies = 3706, ratings = 1000209;
  if (const char* env = std::getenv("CINEFACTOR_BENCH_SYNTHETIC")) {
    char comma1 = 0, comma2 = 0;
    std::istringstream in(env);
    if (!(in >> users >> comma1 >> movies >> comma2 >> ratings) || comma1 != ',' || comma2 != ',' ||
        users < 1 || movies < 1 || ratings < 1) {
      std::fprintf(stderr, "CINEFACTOR_BENCH_SYNTHETIC must be \"users,movies,ratings\", got \"%s\"\n", env);
      return 2;
    }
  }
  const auto synthetic_matrix = std::make_unique<RatingMatrix>(
      synthetic(static_cast<std::int32_t>(users), static_cast<std::int32_t>(movies), ratings));
  std::fprintf(stderr, "synthetic: %d users x %d movies, %lld ratings\n", synthetic_matrix->n_users(),
               synthetic_matrix->n_movies(), static_cast<long long>(synthetic_matrix->nnz()));
  register_all("synthetic", synthetic_matrix.get());

  std::unique_ptr<cinefactor::Dataset> data;
  if (const char* dir = std::getenv("CINEFACTOR_BENCH_DATA")) {
    data = std::make_unique<cinefactor::Dataset>(cinefactor::load_dataset(dir));
    std::fprintf(stderr, "data: %s, %d users x %d movies, %lld ratings\n", dir, data->ratings.n_users(),
                 data->ratings.n_movies(), static_cast<long long>(data->ratings.nnz()));
    register_all("data", &data->ratings);
  } else {
    std::fprintf(stderr, "CINEFACTOR_BENCH_DATA not set: skipping the MovieLens cases\n");
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::fprintf(stderr, "peak resident memory: %.1f MiB\n", static_cast<double>(usage.ru_maxrss) / 1024.0);
  return 0;
}
