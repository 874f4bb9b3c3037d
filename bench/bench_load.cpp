// Loading a MovieLens directory: the text files with the cache off, and the binary cache.
// The directory comes from CINEFACTOR_BENCH_DATA (e.g. ml-25m or the synthetic preset of that size);
// without it the program says so and exits 0. Peer: bench/peer_pandas_load.py (pandas.read_csv).
#include <benchmark/benchmark.h>
#include <omp.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "cinefactor/dataset.hpp"
#include "cinefactor/progress.hpp"

namespace {

std::filesystem::path g_dir;

std::uintmax_t ratings_file_bytes(const cinefactor::Dataset& ds) {
  const char* name = ds.layout == cinefactor::Layout::csv   ? "ratings.csv"
                     : ds.layout == cinefactor::Layout::dat ? "ratings.dat"
                                                            : "u.data";
  return std::filesystem::file_size(g_dir / name);
}

void report(benchmark::State& state, const cinefactor::Dataset& ds) {
  const auto bytes = ratings_file_bytes(ds);
  state.counters["ratings"] = static_cast<double>(ds.ratings.nnz());
  state.counters["users"] = static_cast<double>(ds.ratings.n_users());
  state.counters["movies"] = static_cast<double>(ds.ratings.n_movies());
  state.counters["file_MB"] = static_cast<double>(bytes) / 1e6;
  state.counters["Mratings/s"] = benchmark::Counter(static_cast<double>(ds.ratings.nnz()) / 1e6,
                                                    benchmark::Counter::kIsIterationInvariantRate);
  state.counters["threads"] = omp_get_max_threads();
}

void BM_LoadText(benchmark::State& state) {
  cinefactor::LoadOptions options;
  options.use_cache = false;
  cinefactor::Dataset last;
  for (auto _ : state) {
    last = cinefactor::load_dataset(g_dir, options);
    benchmark::DoNotOptimize(last.ratings.nnz());
  }
  report(state, last);
}

void BM_LoadCache(benchmark::State& state) {
  // Builds the cache once outside the timing; a read-only directory cannot hold one.
  auto first = cinefactor::load_dataset(g_dir);
  if (!std::filesystem::exists(g_dir / ".cinefactor-cache.bin")) {
    state.SkipWithError("no cache could be written beside the data (read-only directory?)");
    return;
  }
  cinefactor::Dataset last;
  for (auto _ : state) {
    last = cinefactor::load_dataset(g_dir);
    if (!last.report.from_cache) {
      state.SkipWithError("the cache was not used");
      return;
    }
    benchmark::DoNotOptimize(last.ratings.nnz());
  }
  report(state, last);
}

BENCHMARK(BM_LoadText)->Unit(benchmark::kMillisecond)->Iterations(1)->Repetitions(3)->UseRealTime();
BENCHMARK(BM_LoadCache)->Unit(benchmark::kMillisecond)->Iterations(1)->Repetitions(5)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  const char* dir = std::getenv("CINEFACTOR_BENCH_DATA");
  if (dir == nullptr || *dir == '\0') {
    std::fprintf(stderr,
                 "bench_load: skipped: set CINEFACTOR_BENCH_DATA to a MovieLens directory "
                 "(e.g. datasets/ml-25m) to time loading it\n");
    return 0;
  }
  g_dir = dir;
  spdlog::set_level(spdlog::level::warn);
  cinefactor::Progress::set_quiet(true);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("data", g_dir.string());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
