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

namespace cinefactor {
namespace {

using engine::Backend;

constexpr EnumNames<Device, 3> kDeviceNames{"auto", "cpu", "cuda"};

bool has_initial_factors(const TrainOptions& o) {
  return o.initial_user_factors.rows > 0 || o.initial_movie_factors.rows > 0;
}

void validate_initial_factors(const RatingMatrix& ratings, const TrainOptions& o) {
  if (o.algorithm != Algorithm::nmf) throw InvalidArgument("initial factors are for NMF only");
  const auto check = [&](const DenseMatrix& m, std::string_view name, std::int64_t rows) {
    if (m.rows != rows || m.cols != o.rank || m.data.size() != static_cast<std::size_t>(rows * o.rank)) {
      throw InvalidArgument(fmt::format("initial {} factors must be {} x {} (rank), got {} x {}", name, rows,
                                        o.rank, m.rows, m.cols));
    }
    for (const float v : m.data) {
      if (!(v >= 0.0f) || !std::isfinite(v))
        throw InvalidArgument(fmt::format("initial {} factors must be finite and >= 0, got {}", name, v));
    }
  };
  check(o.initial_user_factors, "user", ratings.n_users());
  check(o.initial_movie_factors, "movie", ratings.n_movies());
}

void validate(const RatingMatrix& ratings, const TrainOptions& o) {
  if (ratings.nnz() == 0) throw InvalidArgument("cannot train on a rating matrix without ratings");
  if (o.threads < 0)
    throw InvalidArgument("threads must be >= 0 (0 = automatic), got " + std::to_string(o.threads));
  if (o.max_iterations < 1)
    throw InvalidArgument("max_iterations must be >= 1, got " + std::to_string(o.max_iterations));
  if (!(o.tolerance >= 0.0) || !std::isfinite(o.tolerance))
    throw InvalidArgument("tolerance must be a number >= 0");
  if (o.algorithm == Algorithm::als && o.rank < 1)
    throw InvalidArgument("rank must be >= 1, got " + std::to_string(o.rank));
  if (o.algorithm == Algorithm::als) {
    if (!(o.alpha >= 0.0f) || !std::isfinite(o.alpha)) throw InvalidArgument("alpha must be a number >= 0");
    if (!(o.als_l2 > 0.0f) || !std::isfinite(o.als_l2)) throw InvalidArgument("als_l2 must be a number > 0");
    if (!std::isfinite(o.positive_threshold))
      throw InvalidArgument("positive_threshold must be a finite number");
    if (o.cg_steps < 1) throw InvalidArgument("cg_steps must be >= 1, got " + std::to_string(o.cg_steps));
  }
  if (o.algorithm == Algorithm::nmf || o.algorithm == Algorithm::svd) {
    const int smaller = std::min(ratings.n_users(), ratings.n_movies());
    if (o.rank < 1) throw InvalidArgument("rank must be >= 1, got " + std::to_string(o.rank));
    const bool needs_svd =
        o.algorithm == Algorithm::svd || (o.init == NmfInit::nndsvda && !has_initial_factors(o));
    if (needs_svd && o.rank > smaller) {
      throw InvalidArgument(
          "rank " + std::to_string(o.rank) + " exceeds min(users, movies) = " + std::to_string(smaller) +
          (o.algorithm == Algorithm::nmf ? " (needed by the nndsvda init; use the random init)" : ""));
    }
  }
  if (has_initial_factors(o)) validate_initial_factors(ratings, o);
  for (const auto& [name, value] : {std::pair{"l2_user", o.l2_user}, std::pair{"l2_movie", o.l2_movie},
                                    std::pair{"l2_bias", o.l2_bias}}) {
    if (!(value >= 0.0f) || !std::isfinite(value))
      throw InvalidArgument(std::string(name) + " must be a number >= 0");
  }
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

engine::NmfFactors nmf_initial(const RatingMatrix& ratings, const TrainOptions& o, Backend& backend) {
  if (has_initial_factors(o)) return {o.initial_user_factors, o.initial_movie_factors};
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
