// Single-visitor latency: fold-in of 15 ratings + scoring every movie + filters + top-5 with
// explanations, on a random model the size of ML-25M's movie side (59,047 movies), per call on one
// thread. Also the similar-movies query. Models: NMF zero (scikit-learn transform fold-in), NMF
// masked with biases (NNLS fold-in), SVD (projection).
#include <benchmark/benchmark.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <memory>
#include <random>

#include "cinefactor/recommender.hpp"

namespace {

using namespace cinefactor;

constexpr std::int32_t kMovies = 59047;  // ML-25M
constexpr int kVisitorRatings = 15;
constexpr int kTopN = 5;
constexpr int kVisitors = 64;  // distinct requests cycled through, so no single one stays hot

std::shared_ptr<const Model> make_model(Algorithm algorithm, NmfObjective objective, std::int32_t k) {
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  auto m = std::make_shared<Model>();
  m->algorithm = algorithm;
  m->objective = objective;
  m->movie_factors = DenseMatrix(kMovies, k);
  for (auto& v : m->movie_factors.data)
    v = algorithm == Algorithm::nmf ? unit(rng) * 0.5f : normal(rng) * 0.01f;
  if (algorithm == Algorithm::svd) {
    m->global_offset = 3.5f;
    for (std::int32_t f = 0; f < k; ++f) m->singular_values.push_back(static_cast<float>(1000 - f));
  }
  if (objective == NmfObjective::masked && algorithm == Algorithm::nmf) {
    m->global_offset = 3.5f;
    m->user_bias = {0.0f};
    for (std::int32_t j = 0; j < kMovies; ++j) m->movie_bias.push_back(normal(rng) * 0.3f);
    m->hyperparameters.l2_user = 0.06f;
    m->hyperparameters.l2_bias = 0.02f;
    m->hyperparameters.biases = true;
  }
  m->user_ids = {1};
  const char* genres[] = {"Action",  "Comedy", "Drama",    "Horror",
                          "Romance", "Sci-Fi", "Thriller", "Documentary"};
  // Rating counts shaped like ML-25M's (25M ratings over 59,047 movies: mean ~423, median ~7): log-normal
  // with median 7 and sigma sqrt(2 ln(423 / 7)), so about a third of the movies clear the default floor
  // of 20.
  std::lognormal_distribution<double> popularity(std::log(7.0), std::sqrt(2.0 * std::log(423.0 / 7.0)));
  for (std::int32_t j = 0; j < kMovies; ++j) {
    m->movie_ids.push_back(j + 1);
    CatalogMovie c;
    c.movie.id = j + 1;
    c.movie.title = "Movie " + std::to_string(j);
    c.movie.year = 1920 + static_cast<std::int32_t>(rng() % 104);
    c.movie.genres = {genres[rng() % 8], genres[rng() % 8]};
    c.rating_count = static_cast<std::int32_t>(std::min(popularity(rng), 1e6));
    m->catalog.push_back(c);
  }
  return m;
}

std::vector<RecommendRequest> make_requests() {
  std::mt19937 rng(7);
  std::vector<RecommendRequest> requests(kVisitors);
  for (auto& r : requests) {
    for (int i = 0; i < kVisitorRatings; ++i) {
      r.ratings.push_back(
          {static_cast<std::int64_t>(1 + (rng() % kMovies)), 0.5f * static_cast<float>(1 + rng() % 10)});
    }
    std::sort(r.ratings.begin(), r.ratings.end(), [](auto& a, auto& b) { return a.movie_id < b.movie_id; });
    r.ratings.erase(std::unique(r.ratings.begin(), r.ratings.end(),
                                [](auto& a, auto& b) { return a.movie_id == b.movie_id; }),
                    r.ratings.end());
    r.top_n = kTopN;
    r.explain = 3;  // default filters: min_ratings = kDefaultMinRatings, any year, any genre
  }
  return requests;
}

void run_recommend(benchmark::State& state, Algorithm algorithm, NmfObjective objective) {
  const auto k = static_cast<std::int32_t>(state.range(0));
  const Recommender rec(make_model(algorithm, objective, k));
  const auto requests = make_requests();
  std::size_t i = 0;
  std::int64_t results = 0;
  for (auto _ : state) {
    const auto out = rec.recommend(requests[i++ % requests.size()]);
    results += static_cast<std::int64_t>(out.size());
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["movies"] = kMovies;
  state.counters["k"] = k;
  if (results != state.iterations() * kTopN)
    state.SkipWithError("a request returned fewer than top-N results");
}

// Fold-in alone, to split the per-call time.
void run_fold_in(benchmark::State& state, Algorithm algorithm, NmfObjective objective) {
  const auto k = static_cast<std::int32_t>(state.range(0));
  const Recommender rec(make_model(algorithm, objective, k));
  const auto requests = make_requests();
  std::size_t i = 0;
  std::int64_t iterations = 0;
  for (auto _ : state) {
    const auto fold = rec.fold_in(requests[i++ % requests.size()].ratings);
    iterations += fold.iterations;
    benchmark::DoNotOptimize(fold.factors.data());
  }
  state.counters["solver_iterations"] =
      static_cast<double>(iterations) / static_cast<double>(state.iterations());
}
void BM_FoldInNmfZero(benchmark::State& state) {
  run_fold_in(state, Algorithm::nmf, NmfObjective::zero);
}
void BM_FoldInNmfMasked(benchmark::State& state) {
  run_fold_in(state, Algorithm::nmf, NmfObjective::masked);
}
void BM_FoldInSvd(benchmark::State& state) {
  run_fold_in(state, Algorithm::svd, NmfObjective::zero);
}

void BM_RecommendNmfZero(benchmark::State& state) {
  run_recommend(state, Algorithm::nmf, NmfObjective::zero);
}
void BM_RecommendNmfMasked(benchmark::State& state) {
  run_recommend(state, Algorithm::nmf, NmfObjective::masked);
}
void BM_RecommendSvd(benchmark::State& state) {
  run_recommend(state, Algorithm::svd, NmfObjective::zero);
}

void BM_SimilarSvd(benchmark::State& state) {
  const auto k = static_cast<std::int32_t>(state.range(0));
  const Recommender rec(make_model(Algorithm::svd, NmfObjective::zero, k));
  std::int64_t id = 1;
  for (auto _ : state) {
    const auto out = rec.similar(id, Filters{}, kTopN);
    id = id % kMovies + 1;
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["k"] = k;
}

// The same requests without the popularity floor: every movie is scored (one matrix-vector product over
// all 59,047 rows; memory bound at k = 64).
void BM_RecommendSvdNoFloor(benchmark::State& state) {
  const auto k = static_cast<std::int32_t>(state.range(0));
  const Recommender rec(make_model(Algorithm::svd, NmfObjective::zero, k));
  auto requests = make_requests();
  for (auto& r : requests) r.filters.min_ratings = 0;
  std::size_t i = 0;
  for (auto _ : state) {
    const auto out = rec.recommend(requests[i++ % requests.size()]);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["k"] = k;
}

// The floor under every request: one matrix-vector product over all movie factors (memory bound at
// k = 64: 59,047 x 64 float32 = 15 MB read per call).
void BM_ScoreOnlyFloor(benchmark::State& state) {
  const auto k = static_cast<Eigen::Index>(state.range(0));
  const auto model = make_model(Algorithm::svd, NmfObjective::zero, static_cast<std::int32_t>(k));
  const Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> H(
      model->movie_factors.data.data(), kMovies, k);
  Eigen::VectorXf u = Eigen::VectorXf::Ones(k), scores(kMovies);
  for (auto _ : state) {
    scores.noalias() = H * u;
    benchmark::DoNotOptimize(scores.data());
  }
  state.counters["GB/s"] =
      benchmark::Counter(static_cast<double>(kMovies * k * 4) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}

BENCHMARK(BM_ScoreOnlyFloor)->Arg(20)->Arg(64)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_FoldInNmfZero)->Arg(20)->Arg(64)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_FoldInNmfMasked)->Arg(20)->Arg(64)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_FoldInSvd)->Arg(20)->Arg(64)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RecommendNmfZero)->Arg(20)->Arg(64)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RecommendNmfMasked)->Arg(20)->Arg(64)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RecommendSvd)->Arg(20)->Arg(64)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RecommendSvdNoFloor)->Arg(20)->Arg(64)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SimilarSvd)->Arg(64)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
