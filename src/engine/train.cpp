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
#include "core/enum_names.hpp"
#include "engine/backend.hpp"
#include "engine/baselines.hpp"
#include "engine/device_policy.hpp"
#include "engine/model_record.hpp"
#include "engine/nmf_init.hpp"
#include "engine/random.hpp"
#include "engine/train_steps.hpp"

namespace cinefactor {
namespace {

using engine::Backend;

constexpr EnumNames<Device, 3> kDeviceNames{"auto", "cpu", "cuda"};

bool has_initial_factors(const TrainOptions& o) {
  return o.initial_user_factors.rows > 0 || o.initial_movie_factors.rows > 0;
}

void validate(const RatingMatrix& ratings, const TrainOptions& o) {
  engine::validate_train_options(o, ratings.n_users(), ratings.n_movies(), ratings.nnz());
}

using engine::iteration_control;
using engine::svd_settings;

engine::NmfFactors nmf_initial(const RatingMatrix& ratings, const TrainOptions& o, Backend& backend) {
  if (has_initial_factors(o)) return {o.initial_user_factors, o.initial_movie_factors};
  const double zero_filled_mean =
      engine::zero_filled_mean(ratings.global_mean(), ratings.nnz(), ratings.n_users(), ratings.n_movies());
  if (o.init == NmfInit::random) {
    const double mean = o.objective == NmfObjective::zero ? zero_filled_mean : ratings.global_mean();
    return engine::nmf_init_random(ratings.n_users(), ratings.n_movies(), o.rank, mean, o.seed, o.threads);
  }
  return engine::nmf_init_nndsvda(backend.truncated_svd(ratings, svd_settings(o, false)), zero_filled_mean);
}

engine::IterationLog train_nmf(const RatingMatrix& ratings, const TrainOptions& o, Backend& backend,
                               Model& model, Progress& progress) {
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

// Both sides start from N(0, 0.01^2) entries, one random stream per row (thread-count independent); the
// first half-iteration then solves the users given the random movie factors.
engine::AlsFactors als_initial(const RatingMatrix& ratings, const TrainOptions& o) {
  constexpr double kInitScale = 0.01;
  engine::AlsFactors f{DenseMatrix(ratings.n_users(), o.rank), DenseMatrix(ratings.n_movies(), o.rank)};
  std::uint64_t stream = 0;
  for (DenseMatrix* m : {&f.users, &f.movies}) {
    for (std::int64_t r = 0; r < m->rows; ++r) {
      engine::NormalGenerator normal(engine::stream_seed(o.seed, stream++));
      for (float& v : m->row(r)) v = static_cast<float>(kInitScale * normal.next());
    }
  }
  return f;
}

engine::IterationLog train_als(const RatingMatrix& ratings, const TrainOptions& o, Backend& backend,
                               Model& model, Progress& progress) {
  engine::AlsFactors factors = als_initial(ratings, o);
  const engine::AlsSettings settings{o.alpha, o.als_l2, o.positive_threshold, o.cg_steps};
  engine::IterationLog log = backend.implicit_als(ratings, settings, factors, iteration_control(o, progress));
  model.user_factors = std::move(factors.users);
  model.movie_factors = std::move(factors.movies);
  return log;
}

void train_svd(const RatingMatrix& ratings, const TrainOptions& o, Backend& backend, Model& model) {
  engine::SvdResult svd = backend.truncated_svd(ratings, svd_settings(o, o.center));
  engine::scale_columns(svd.u, svd.sigma);
  model.user_factors = std::move(svd.u);
  model.movie_factors = std::move(svd.v);
  model.singular_values = std::move(svd.sigma);
  model.global_offset = svd.offset;
}

// What the fallback for unseen users and movies needs (Model::unseen_shift).
void record_training_counts(const RatingMatrix& ratings, Model& model) {
  model.training_mean = static_cast<float>(ratings.global_mean());
  model.user_rating_counts.resize(static_cast<std::size_t>(ratings.n_users()));
  for (std::int32_t u = 0; u < ratings.n_users(); ++u)
    model.user_rating_counts[static_cast<std::size_t>(u)] =
        static_cast<std::int32_t>(ratings.by_user().row_nnz(u));
  model.movie_rating_counts.resize(static_cast<std::size_t>(ratings.n_movies()));
  for (std::int32_t j = 0; j < ratings.n_movies(); ++j)
    model.movie_rating_counts[static_cast<std::size_t>(j)] = ratings.movie_count(j);
}

}  // namespace

CINEFACTOR_ENUM_NAME_FUNCTIONS(Device, device, kDeviceNames)

Hyperparameters training_hyperparameters(const TrainOptions& o, int iterations) {
  Hyperparameters h;
  switch (o.algorithm) {
    case Algorithm::mean:
    case Algorithm::popularity:
      break;
    case Algorithm::bias:
      h.l2_bias = o.l2_bias;
      h.max_iterations = o.max_iterations;
      h.tolerance = o.tolerance;
      break;
    case Algorithm::nmf:
      h.rank = o.rank;
      h.objective = o.objective;
      if (!has_initial_factors(o)) h.init = o.init;
      h.max_iterations = o.max_iterations;
      h.tolerance = o.tolerance;
      h.seed = o.seed;
      if (o.init == NmfInit::nndsvda && !has_initial_factors(o)) {
        h.oversamples = o.oversamples;
        h.power_iterations = o.power_iterations;
      }
      if (o.objective == NmfObjective::masked) {
        h.l2_user = o.l2_user;
        h.l2_movie = o.l2_movie;
        h.biases = o.biases;
        if (o.biases) h.l2_bias = o.l2_bias;
      }
      break;
    case Algorithm::svd:
      h.rank = o.rank;
      h.oversamples = o.oversamples;
      h.power_iterations = o.power_iterations;
      h.center = o.center;
      h.seed = o.seed;
      break;
    case Algorithm::als:
      h.rank = o.rank;
      h.max_iterations = o.max_iterations;
      h.tolerance = o.tolerance;
      h.seed = o.seed;
      h.alpha = o.alpha;
      h.als_l2 = o.als_l2;
      h.positive_threshold = o.positive_threshold;
      h.cg_steps = o.cg_steps;
      break;
  }
  if (iterations > 0) h.iterations_run = iterations;
  return h;
}

std::shared_ptr<engine::Backend> select_backend(const RatingMatrix& ratings, const TrainOptions& options,
                                                int ranking_k) {
  engine::DeviceWorkload workload = engine::training_workload(ratings, options);
  if (ranking_k > 0) workload.ranking = engine::ranking_workload(options.rank, ratings, ranking_k);
  return engine::select_backend(options.device, options.threads, workload);
}

Model train(const RatingMatrix& ratings, const TrainOptions& options, TrainReport* report) {
  const auto start = std::chrono::steady_clock::now();
  validate(ratings, options);
  // The baselines are host arithmetic: they never ask for a backend.
  const bool factorizes = options.algorithm == Algorithm::nmf || options.algorithm == Algorithm::svd ||
                          options.algorithm == Algorithm::als;
  std::shared_ptr<Backend> backend;
  if (factorizes) {
    backend = options.backend ? options.backend
                              : engine::select_backend(options.device, options.threads,
                                                       engine::training_workload(ratings, options));
  }
  Model model;
  model.algorithm = options.algorithm;
  engine::IterationLog log;
  {
    const bool iterative = options.algorithm == Algorithm::nmf || options.algorithm == Algorithm::bias ||
                           options.algorithm == Algorithm::als;
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
      case Algorithm::als:
        log = train_als(ratings, options, *backend, model, progress);
        break;
    }
    if (iterative) progress.finish();  // closed-form algorithms show no iteration count
  }
  model.user_ids.assign(ratings.user_ids().begin(), ratings.user_ids().end());
  model.movie_ids.assign(ratings.movie_ids().begin(), ratings.movie_ids().end());
  model.data_fingerprint = fingerprint(ratings);
  record_training_counts(ratings, model);
  model.hyperparameters = training_hyperparameters(options, log.iterations);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  spdlog::info(
      "trained {} on {} users x {} movies ({} ratings) in {:.2f} s{}", algorithm_name(options.algorithm),
      ratings.n_users(), ratings.n_movies(), ratings.nnz(), seconds,
      log.iterations > 0
          ? fmt::format(", {} iterations, final loss {:.6g}", log.iterations, log.loss_history.back())
          : std::string());
  if (report) {
    report->device = backend ? backend->device_description() : "cpu";
    report->iterations = log.iterations;
    report->loss_history = std::move(log.loss_history);
    report->seconds = seconds;
  }
  return model;
}

}  // namespace cinefactor
