// train(): validates the options, picks the backend, runs the algorithm and assembles the Model
// (factors, biases, id maps, fingerprint, hyperparameters) and the TrainReport.
#include "cinefactor/train.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <optional>

#include "cinefactor/device.hpp"
#include "cinefactor/error.hpp"
#include "cinefactor/progress.hpp"
#include "cuda_backend.hpp"
#include "factorizer.hpp"

namespace cinefactor {
namespace {

using engine::Factorizer;

std::string_view init_name(NmfInit init) { return init == NmfInit::random ? "random" : "nndsvda"; }

void validate(const RatingMatrix& ratings, const TrainOptions& o) {
  if (ratings.nnz() == 0) throw InvalidArgument("cannot train on a rating matrix without ratings");
  if (o.threads < 0) throw InvalidArgument("threads must be >= 0 (0 = all cores), got " + std::to_string(o.threads));
  if (o.max_iterations < 1) throw InvalidArgument("max_iterations must be >= 1, got " + std::to_string(o.max_iterations));
  if (!(o.tolerance >= 0.0) || !std::isfinite(o.tolerance)) throw InvalidArgument("tolerance must be a number >= 0");
  if (o.algorithm == Algorithm::nmf || o.algorithm == Algorithm::svd) {
    const int smaller = std::min(ratings.n_users(), ratings.n_movies());
    if (o.rank < 1) throw InvalidArgument("rank must be >= 1, got " + std::to_string(o.rank));
    const bool needs_svd = o.algorithm == Algorithm::svd || o.init == NmfInit::nndsvda;
    if (needs_svd && o.rank > smaller) {
      throw InvalidArgument("rank " + std::to_string(o.rank) + " exceeds min(users, movies) = " + std::to_string(smaller) +
                            (o.algorithm == Algorithm::nmf ? " (needed by the nndsvda init; use the random init)" : ""));
    }
  }
  for (const auto& [name, value] : {std::pair{"l2_user", o.l2_user}, std::pair{"l2_movie", o.l2_movie},
                                    std::pair{"l2_bias", o.l2_bias}}) {
    if (!(value >= 0.0f) || !std::isfinite(value)) throw InvalidArgument(std::string(name) + " must be a number >= 0");
  }
}

// The device-memory estimate for what `o` will run on the backend (the larger of the SVD that nndsvda
// starts from and the NMF itself); nothing for the baselines, which never touch the backend.
std::optional<engine::CudaMemoryPlan> cuda_plan(const RatingMatrix& ratings, const TrainOptions& o) {
  engine::CudaWorkload w{engine::CudaJob::svd, ratings.n_users(), ratings.n_movies(), ratings.nnz(), o.rank,
                         o.oversamples, o.biases};
  if (o.algorithm == Algorithm::svd) return engine::estimate_cuda_memory(w);
  if (o.algorithm != Algorithm::nmf) return std::nullopt;
  const auto svd = engine::estimate_cuda_memory(w);
  w.job = o.objective == NmfObjective::zero ? engine::CudaJob::nmf_zero : engine::CudaJob::nmf_masked;
  const auto nmf = engine::estimate_cuda_memory(w);
  return o.init == NmfInit::nndsvda && svd.total() > nmf.total() ? svd : nmf;
}

// Why the CUDA backend cannot train this job, or empty when it can; *device receives the device to use.
std::string cuda_unusable(const RatingMatrix& ratings, const TrainOptions& o, CudaDevice* device) {
  if (std::string why = engine::first_cuda_device(device); !why.empty()) return why;
  if (ratings.nnz() > engine::kCudaMaxNnz) {
    return fmt::format("{} ratings exceed the CUDA backend's int32 index range", ratings.nnz());
  }
  if (o.algorithm == Algorithm::nmf && o.objective == NmfObjective::masked && o.rank > engine::kCudaMaxMaskedRank) {
    return fmt::format("rank {} exceeds the CUDA masked NMF's maximum {}", o.rank, engine::kCudaMaxMaskedRank);
  }
  if (const auto plan = cuda_plan(ratings, o)) {
    try {
      engine::require_cuda_memory(*plan, device->free_memory, fmt::format("training on cuda:{}", device->index));
    } catch (const CudaOutOfMemory& e) {
      return e.what();
    }
  }
  return {};
}

// The backend for options.device: auto takes the first CUDA device when the build has CUDA, a device
// is present and the job fits into its free memory, and says in one log line which backend it took and why.
std::unique_ptr<Factorizer> select_backend(const RatingMatrix& ratings, const TrainOptions& o) {
  if (o.device == Device::cpu) return engine::make_cpu_factorizer(o.threads);
  CudaDevice device;
  const std::string why_not = cuda_unusable(ratings, o, &device);
  if (o.device == Device::cuda) {
    if (!why_not.empty()) throw Error("--device cuda: no usable CUDA device: " + why_not);
    return engine::make_cuda_factorizer(device.index);
  }
  if (why_not.empty()) {
    try {
      auto backend = engine::make_cuda_factorizer(device.index);
      spdlog::info("device auto: training on cuda:{} ({}, {:.1f} GiB free)", device.index, device.name,
                   static_cast<double>(device.free_memory) / static_cast<double>(std::int64_t{1} << 30));
      return backend;
    } catch (const CudaError& e) {
      spdlog::info("device auto: training on the CPU (cuda:{} failed to initialize: {})", device.index, e.what());
      return engine::make_cpu_factorizer(o.threads);
    }
  }
  spdlog::info("device auto: training on the CPU ({})", why_not);
  return engine::make_cpu_factorizer(o.threads);
}

// Wraps the caller's callback with a progress bar over the iteration budget.
engine::IterationControl iteration_control(const TrainOptions& o, Progress& progress) {
  engine::IterationControl control;
  control.max_iterations = o.max_iterations;
  control.tolerance = o.tolerance;
  control.on_iteration = [&progress, callback = o.on_iteration](const IterationInfo& info) {
    progress.set(info.iteration);
    if (callback) callback(info);
  };
  return control;
}

engine::SvdSettings svd_settings(const TrainOptions& o, bool center) {
  return {o.rank, o.oversamples, o.power_iterations, center, o.seed};
}

engine::NmfFactors nmf_initial(const RatingMatrix& ratings, const TrainOptions& o, Factorizer& backend) {
  // scikit-learn's scale: the mean of the zero-filled matrix.
  const double zero_filled_mean =
      ratings.global_mean() * static_cast<double>(ratings.nnz()) /
      (static_cast<double>(ratings.n_users()) * static_cast<double>(ratings.n_movies()));
  if (o.init == NmfInit::random) {
    const double mean = o.objective == NmfObjective::zero ? zero_filled_mean : ratings.global_mean();
    return engine::nmf_init_random(ratings.n_users(), ratings.n_movies(), o.rank, mean, o.seed, o.threads);
  }
  return engine::nmf_init_nndsvda(backend.truncated_svd(ratings, svd_settings(o, false)), zero_filled_mean);
}

engine::IterationLog train_nmf(const RatingMatrix& ratings, const TrainOptions& o, Factorizer& backend, Model& model,
                               Progress& progress) {
  model.objective = o.objective;
  engine::NmfFactors factors = nmf_initial(ratings, o, backend);
  const auto control = iteration_control(o, progress);
  engine::IterationLog log;
  if (o.objective == NmfObjective::zero) {
    log = backend.nmf_zero(ratings, factors, control);
  } else {
    engine::MaskedNmfState state;
    state.global_offset = o.biases ? static_cast<float>(ratings.global_mean()) : 0.0f;
    engine::fit_scale_to_observed(ratings, state.global_offset, factors, o.threads);
    state.factors = std::move(factors);
    log = backend.nmf_masked(ratings, {o.l2_user, o.l2_movie, o.biases, o.l2_bias}, state, control);
    factors = std::move(state.factors);
    model.global_offset = state.global_offset;
    model.user_bias = std::move(state.user_bias);
    model.movie_bias = std::move(state.movie_bias);
  }
  model.user_factors = std::move(factors.w);
  model.movie_factors = std::move(factors.ht);
  return log;
}

void train_svd(const RatingMatrix& ratings, const TrainOptions& o, Factorizer& backend, Model& model) {
  engine::SvdResult svd = backend.truncated_svd(ratings, svd_settings(o, o.center));
  // user_factors = U Sigma, so prediction = offset + <U Sigma, V>.
  for (std::int64_t u = 0; u < svd.u.rows; ++u) {
    auto row = svd.u.row(u);
    for (std::size_t c = 0; c < row.size(); ++c) row[c] *= svd.sigma[c];
  }
  model.user_factors = std::move(svd.u);
  model.movie_factors = std::move(svd.v);
  model.singular_values = std::move(svd.sigma);
  model.global_offset = svd.offset;
}

nlohmann::json hyperparameters(const TrainOptions& o, int iterations) {
  nlohmann::json h = nlohmann::json::object();
  switch (o.algorithm) {
    case Algorithm::mean:
    case Algorithm::popularity:
      break;
    case Algorithm::bias:
      h = {{"l2_bias", o.l2_bias}, {"max_iterations", o.max_iterations}, {"tolerance", o.tolerance}};
      break;
    case Algorithm::nmf:
      h = {{"rank", o.rank},
           {"objective", objective_name(o.objective)},
           {"init", init_name(o.init)},
           {"max_iterations", o.max_iterations},
           {"tolerance", o.tolerance},
           {"seed", o.seed}};
      if (o.init == NmfInit::nndsvda) {
        h["oversamples"] = o.oversamples;
        h["power_iterations"] = o.power_iterations;
      }
      if (o.objective == NmfObjective::masked) {
        h["l2_user"] = o.l2_user;
        h["l2_movie"] = o.l2_movie;
        h["biases"] = o.biases;
        if (o.biases) h["l2_bias"] = o.l2_bias;
      }
      break;
    case Algorithm::svd:
      h = {{"rank", o.rank},
           {"oversamples", o.oversamples},
           {"power_iterations", o.power_iterations},
           {"center", o.center},
           {"seed", o.seed}};
      break;
  }
  if (iterations > 0) h["iterations_run"] = iterations;
  return h;
}

}  // namespace

std::string_view device_name(Device device) noexcept {
  switch (device) {
    case Device::automatic:
      return "auto";
    case Device::cpu:
      return "cpu";
    case Device::cuda:
      return "cuda";
  }
  return "unknown";
}

Model train(const RatingMatrix& ratings, const TrainOptions& options, TrainReport* report) {
  const auto start = std::chrono::steady_clock::now();
  validate(ratings, options);
  auto backend = select_backend(ratings, options);
  Model model;
  model.algorithm = options.algorithm;
  engine::IterationLog log;
  {
    const bool iterative = options.algorithm == Algorithm::nmf || options.algorithm == Algorithm::bias;
    Progress progress(fmt::format("training {}", algorithm_name(options.algorithm)),
                      iterative ? options.max_iterations : 0, "it");
    switch (options.algorithm) {
      case Algorithm::mean:
        model = engine::train_mean(ratings);
        break;
      case Algorithm::popularity:
        model = engine::train_popularity(ratings);
        break;
      case Algorithm::bias:
        model = engine::train_bias(ratings, options.l2_bias, iteration_control(options, progress), &log);
        break;
      case Algorithm::nmf:
        log = train_nmf(ratings, options, *backend, model, progress);
        break;
      case Algorithm::svd:
        train_svd(ratings, options, *backend, model);
        break;
    }
    if (iterative) progress.finish();  // closed-form algorithms show no iteration count
  }
  model.user_ids.assign(ratings.user_ids().begin(), ratings.user_ids().end());
  model.movie_ids.assign(ratings.movie_ids().begin(), ratings.movie_ids().end());
  model.data_fingerprint = fingerprint(ratings);
  model.hyperparameters = hyperparameters(options, log.iterations);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  spdlog::info("trained {} on {} users x {} movies ({} ratings) in {:.2f} s{}", algorithm_name(options.algorithm),
               ratings.n_users(), ratings.n_movies(), ratings.nnz(), seconds,
               log.iterations > 0 ? fmt::format(", {} iterations, final loss {:.6g}", log.iterations,
                                                log.loss_history.back())
                                  : std::string());
  if (report) {
    report->device = backend->device_description();
    report->iterations = log.iterations;
    report->loss_history = std::move(log.loss_history);
    report->seconds = seconds;
  }
  return model;
}

}  // namespace cinefactor
