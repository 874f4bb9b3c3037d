// The CUDA backend at k = 64 on the ratings in CINEFACTOR_BENCH_DATA (a MovieLens directory, loaded with
// load_dataset): per-iteration time of the zero-objective and the masked NMF, and the randomized SVD
// end to end (p = 10 oversamples, q = 4 power iterations, host-device copies included, with its accuracy
// against q = 10). Peers:
// bench_factorize (the CPU backend, same settings) and bench/peer_torch.py (PyTorch on the same GPU).
//
// Per-iteration times exclude the one-off upload of the matrix and factors: each benchmark iteration runs
// kTimedIterations NMF iterations and times the span between the first and the last iteration's end.
// Each fused kernel of the backend is also timed with CUDA events; its effective bandwidth (logical bytes
// it reads and writes, see CudaKernelStats) is reported in GB/s and as a fraction of the device's peak
// (2 x memory clock x bus width, from the device attributes).
//
// Without a usable CUDA device, or without CINEFACTOR_BENCH_DATA, the program says why and runs nothing.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "cinefactor/dataset.hpp"
#include "cinefactor/device.hpp"
#include "engine/backend.hpp"
#include "engine/cuda_planning.hpp"
#include "engine/cuda_profile.hpp"
#include "engine/nmf_init.hpp"

namespace cinefactor {
namespace {

constexpr int kRank = 64;
constexpr int kOversamples = 10;
constexpr int kPowerIterations = 4;
constexpr int kTimedIterations = 20;
constexpr std::uint64_t kSeed = 42;

int g_device = 0;

using Clock = std::chrono::steady_clock;

// Runs `run` (which calls the backend with `control`) and returns the seconds per iteration between
// the first and the last iteration's end.
template <typename Run>
double seconds_per_iteration(engine::IterationControl& control, Run run) {
  Clock::time_point first;
  Clock::time_point last;
  control.max_iterations = kTimedIterations;
  control.tolerance = 0.0;
  control.on_iteration = [&](const IterationInfo& info) {
    if (info.iteration == 1) first = Clock::now();
    last = Clock::now();
  };
  run();
  return std::chrono::duration<double>(last - first).count() / (kTimedIterations - 1);
}

void report_kernels(benchmark::State& state, engine::Backend& backend) {
  auto* profile = dynamic_cast<engine::CudaKernelProfile*>(&backend);
  if (!profile) return;
  const double peak = profile->peak_bandwidth_bytes_per_second();
  state.counters["peak_GBps"] = peak * 1e-9;
  for (const auto& k : profile->kernel_stats()) {
    if (k.launches == 0 || k.seconds <= 0.0) continue;
    std::string name = k.name;
    for (char& c : name) {
      if (c == ' ' || c == '(' || c == ')') c = '_';
    }
    const double rate = k.bytes / k.seconds;
    state.counters[name + "_GBps"] = rate * 1e-9;
    state.counters[name + "_of_peak"] = rate / peak;
    state.counters[name + "_us"] = k.seconds / static_cast<double>(k.launches) * 1e6;
  }
}

std::unique_ptr<engine::Backend> timed_backend() {
  auto backend = engine::make_cuda_backend(g_device);
  if (auto* profile = dynamic_cast<engine::CudaKernelProfile*>(backend.get()))
    profile->set_kernel_timing(true);
  return backend;
}

void nmf_zero_iteration(benchmark::State& state, const RatingMatrix* ratings) {
  const auto backend = timed_backend();
  const double mean =
      ratings->global_mean() * ratings->nnz() / (double(ratings->n_users()) * ratings->n_movies());
  const auto init = engine::nmf_init_random(ratings->n_users(), ratings->n_movies(), kRank, mean, kSeed);
  for (auto _ : state) {
    auto factors = init;
    engine::IterationControl control;
    state.SetIterationTime(
        seconds_per_iteration(control, [&] { backend->nmf_zero(*ratings, factors, control); }));
  }
  report_kernels(state, *backend);
}

void nmf_masked_iteration(benchmark::State& state, const RatingMatrix* ratings, bool biases) {
  const auto backend = timed_backend();
  engine::MaskedNmfState init;
  init.global_offset = biases ? static_cast<float>(ratings->global_mean()) : 0.0f;
  init.factors =
      engine::nmf_init_random(ratings->n_users(), ratings->n_movies(), kRank, ratings->global_mean(), kSeed);
  engine::fit_scale_to_observed(*ratings, init.global_offset, init.factors);
  engine::MaskedNmfSettings settings;
  settings.biases = biases;
  for (auto _ : state) {
    auto nmf = init;
    engine::IterationControl control;
    state.SetIterationTime(
        seconds_per_iteration(control, [&] { backend->nmf_masked(*ratings, settings, nmf, control); }));
  }
  report_kernels(state, *backend);
}

// Accuracy reported beside the time (for "at equal accuracy" with torch.svd_lowrank, which
// bench/peer_torch.py measures the same way): the largest relative error of the k singular values against a
// run with kReferencePowerIterations power iterations.
constexpr int kReferencePowerIterations = 10;

void randomized_svd(benchmark::State& state, const RatingMatrix* ratings) {
  const auto backend = engine::make_cuda_backend(g_device);
  engine::SvdSettings settings;
  settings.rank = kRank;
  settings.oversamples = kOversamples;
  settings.power_iterations = kPowerIterations;
  engine::SvdResult result;
  for (auto _ : state) {
    const auto start = Clock::now();
    result = backend->truncated_svd(*ratings, settings);
    state.SetIterationTime(std::chrono::duration<double>(Clock::now() - start).count());
  }
  settings.power_iterations = kReferencePowerIterations;
  const auto reference = backend->truncated_svd(*ratings, settings);
  double worst = 0.0;
  for (std::size_t c = 0; c < result.sigma.size(); ++c) {
    worst = std::max(
        worst, std::abs(static_cast<double>(result.sigma[c]) - reference.sigma[c]) / reference.sigma[c]);
  }
  state.counters["sigma_1"] = result.sigma.front();
  state.counters["sigma_k"] = result.sigma.back();
  state.counters["sigma_rel_err_vs_q10"] = worst;
}

}  // namespace
}  // namespace cinefactor

int main(int argc, char** argv) {
  using namespace cinefactor;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  const CudaProbe probe = probe_cuda();
  if (probe.devices.empty()) {
    std::fprintf(stderr, "bench_cuda: skipped: no usable CUDA device: %s\n", probe.reason.c_str());
    return 0;
  }
  const char* dir = std::getenv("CINEFACTOR_BENCH_DATA");
  if (!dir) {
    std::fprintf(stderr, "bench_cuda: skipped: set CINEFACTOR_BENCH_DATA to a MovieLens directory\n");
    return 0;
  }
  g_device = probe.devices.front().index;
  const auto data = std::make_unique<Dataset>(load_dataset(dir));
  const RatingMatrix* r = &data->ratings;
  std::fprintf(stderr, "data: %s, %d users x %d movies, %lld ratings; device cuda:%d %s\n", dir, r->n_users(),
               r->n_movies(), static_cast<long long>(r->nnz()), g_device, probe.devices.front().name.c_str());
  const std::string suffix = "/data/k:" + std::to_string(kRank);
  benchmark::RegisterBenchmark(("cuda_nmf_zero_iteration" + suffix).c_str(), nmf_zero_iteration, r)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark(("cuda_nmf_masked_iteration" + suffix).c_str(), nmf_masked_iteration, r, false)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark(("cuda_nmf_masked_biases_iteration" + suffix).c_str(), nmf_masked_iteration, r,
                               true)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark(("cuda_randomized_svd" + suffix).c_str(), randomized_svd, r)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
