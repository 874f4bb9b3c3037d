// The distributed train() (see distributed_train.hpp).
#include "dist/distributed_train.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>

#include "cinefactor/error.hpp"
#include "cinefactor/progress.hpp"
#include "dist/factorization.hpp"
#if CINEFACTOR_HAS_NCCL
#include "dist/cuda_ranks.hpp"
#endif
#include "engine/model_record.hpp"
#include "engine/nmf_init.hpp"
#include "engine/train_steps.hpp"

namespace cinefactor::dist {
namespace {

// The single-process checks, and what a distributed job does not do yet.
void validate(const Partition& part, const TrainOptions& o) {
  if (!distributed_algorithm(o.algorithm)) {
    throw InvalidArgument(
        fmt::format("--algo {} does not run distributed yet; under mpirun: nmf, svd, bias, mean, popularity",
                    algorithm_name(o.algorithm)));
  }
  check_device(o);
  if (o.initial_user_factors.rows > 0 || o.initial_movie_factors.rows > 0)
    throw InvalidArgument("initial factors are not supported in a distributed job");
  engine::validate_train_options(o, part.n_users(), part.n_movies(), part.total_ratings);
}

using engine::iteration_control;
using engine::svd_settings;

engine::NmfFactors nmf_initial(Communicator& comm, const Partition& part, const TrainOptions& o,
                               int threads) {
  const double zero_filled_mean =
      engine::zero_filled_mean(part.global_mean, part.total_ratings, part.n_users(), part.n_movies());
  if (o.init == NmfInit::random) {
    const double mean = o.objective == NmfObjective::zero ? zero_filled_mean : part.global_mean;
    return engine::nmf_init_random(part.n_users(), part.n_movies(), o.rank, mean, o.seed, threads,
                                   &part.local_users);
  }
  return engine::nmf_init_nndsvda(distributed_svd(comm, part, svd_settings(o, false), threads),
                                  zero_filled_mean, [&comm](std::span<double> sums) { comm.sum(sums); });
}

// Rows of every rank's users, in the single-process user order, on rank 0 (rows_per_user floats each).
std::vector<float> gather_user_rows(Communicator& comm, const Partition& part, std::span<const float> mine,
                                    std::int64_t width) {
  const auto rows = comm.gather_records<float>(mine, 0);
  const auto users = comm.gather_records<std::int32_t>(part.local_users, 0);
  if (!comm.root()) return {};
  std::vector<float> ordered(static_cast<std::size_t>(part.n_users() * width));
  for (std::size_t i = 0; i < users.size(); ++i) {
    std::copy_n(rows.begin() + static_cast<std::ptrdiff_t>(i * static_cast<std::size_t>(width)), width,
                ordered.begin() + static_cast<std::ptrdiff_t>(users[i]) * width);
  }
  return ordered;
}

}  // namespace

void check_device(const TrainOptions& o) {
  if (o.device == Device::cuda) {
    if (!CINEFACTOR_HAS_NCCL)
      throw InvalidArgument(
          "--device cuda: this build has no CUDA ranks (they need the CUDA backend and NCCL: configure with "
          "CINEFACTOR_CUDA=ON and CINEFACTOR_NCCL=ON); use --device cpu");
    if (o.algorithm != Algorithm::nmf || o.objective != NmfObjective::zero)
      throw InvalidArgument(
          "--device cuda: under mpirun only NMF with the zero objective runs on CUDA ranks so far; use "
          "--device cpu");
  }
}

bool distributed_algorithm(Algorithm algorithm) noexcept {
  return algorithm != Algorithm::als;
}

DistributedFit fit_distributed(Communicator& comm, const Partition& part, const TrainOptions& o) {
  validate(part, o);
  if (o.device == Device::cuda) {
    std::int64_t idle[1] = {part.data.ratings.n_users() == 0 ? 1 : 0};
    comm.sum(idle);
    if (idle[0] > 0)
      throw InvalidArgument(fmt::format("--device cuda: {} of the {} ranks hold no users; start fewer ranks",
                                        idle[0], comm.size()));
  }
  const int threads = std::max(1, o.threads);
  DistributedFit fit;
  Model& model = fit.model;
  model.algorithm = o.algorithm;
  engine::IterationLog& log = fit.log;
  {
    const bool iterative = o.algorithm == Algorithm::nmf || o.algorithm == Algorithm::bias;
    Progress progress(fmt::format("training {} on {} ranks", algorithm_name(o.algorithm), comm.size()),
                      iterative ? o.max_iterations : 0, "it");
    if (o.algorithm == Algorithm::mean || o.algorithm == Algorithm::popularity ||
        o.algorithm == Algorithm::bias) {
      // The baselines: no factors (k = 0), the global mean as offset (mean, bias), biases.
      fit.user_factors = DenseMatrix(part.data.ratings.n_users(), 0);
      model.movie_factors = DenseMatrix(part.n_movies(), 0);
      if (o.algorithm != Algorithm::popularity) model.global_offset = static_cast<float>(part.global_mean);
      if (o.algorithm == Algorithm::popularity) {
        model.movie_bias.assign(part.movie_counts.begin(), part.movie_counts.end());
      } else if (o.algorithm == Algorithm::bias) {
        log = distributed_bias(comm, part, o.l2_bias, fit.user_bias, model.movie_bias,
                               iteration_control(o, progress));
        progress.finish();
      }
    } else if (o.algorithm == Algorithm::nmf) {
      model.objective = o.objective;
      engine::NmfFactors factors = nmf_initial(comm, part, o, threads);
      const auto control = iteration_control(o, progress);
      if (o.objective == NmfObjective::zero && o.device == Device::cuda) {
#if CINEFACTOR_HAS_NCCL
        log = cuda_nmf_zero(comm, part, factors, control, fit.device_traffic);
#endif
      } else if (o.objective == NmfObjective::zero) {
        log = distributed_nmf_zero(comm, part, factors, control, threads);
      } else {
        engine::MaskedNmfState state;
        state.global_offset = o.biases ? static_cast<float>(part.global_mean) : 0.0f;
        engine::fit_scale_to_observed(part.data.ratings, state.global_offset, factors, threads,
                                      [&comm](std::span<double> sums) { comm.sum(sums); });
        state.factors = std::move(factors);
        log = distributed_nmf_masked(comm, part, {o.l2_user, o.l2_movie, o.biases, o.l2_bias}, state, control,
                                     threads);
        factors = std::move(state.factors);
        model.global_offset = state.global_offset;
        fit.user_bias = std::move(state.user_bias);
        model.movie_bias = std::move(state.movie_bias);
      }
      fit.user_factors = std::move(factors.w);
      model.movie_factors = std::move(factors.ht);
      progress.finish();
    } else {
      engine::SvdResult svd = distributed_svd(comm, part, svd_settings(o, o.center), threads);
      engine::scale_columns(svd.u, svd.sigma);
      fit.user_factors = std::move(svd.u);
      model.movie_factors = std::move(svd.v);
      model.singular_values = std::move(svd.sigma);
      model.global_offset = svd.offset;
    }
  }
  // What every process's model knows of the training data and options.
  model.movie_ids.assign(part.data.ratings.movie_ids().begin(), part.data.ratings.movie_ids().end());
  model.training_mean = static_cast<float>(part.global_mean);
  model.movie_rating_counts.assign(part.movie_counts.begin(), part.movie_counts.end());
  model.hyperparameters = training_hyperparameters(o, log.iterations);
  return fit;
}

Model local_model(const Partition& part, DistributedFit fit) {
  Model model = std::move(fit.model);
  const auto& local = part.data.ratings;
  model.user_ids.assign(local.user_ids().begin(), local.user_ids().end());
  model.user_factors = std::move(fit.user_factors);
  model.user_bias = std::move(fit.user_bias);
  model.user_rating_counts.resize(static_cast<std::size_t>(local.n_users()));
  for (std::int32_t u = 0; u < local.n_users(); ++u)
    model.user_rating_counts[static_cast<std::size_t>(u)] =
        static_cast<std::int32_t>(local.by_user().row_nnz(u));
  return model;
}

Model train_distributed(Communicator& comm, const Partition& part, const DistributedTrainOptions& options,
                        TrainReport* report, Traffic* device_traffic) {
  const auto start = std::chrono::steady_clock::now();
  const TrainOptions& o = options.train;
  DistributedFit fit = fit_distributed(comm, part, o);
  Model model = std::move(fit.model);
  engine::IterationLog log = std::move(fit.log);
  if (device_traffic) *device_traffic = fit.device_traffic;

  // Rank 0 assembles the model of one process.
  const auto& local = part.data.ratings;
  std::vector<std::int32_t> my_counts(static_cast<std::size_t>(local.n_users()));
  std::vector<std::uint64_t> my_fingerprints(static_cast<std::size_t>(local.n_users()));
  for (std::int32_t u = 0; u < local.n_users(); ++u) {
    my_counts[static_cast<std::size_t>(u)] = static_cast<std::int32_t>(local.by_user().row_nnz(u));
    my_fingerprints[static_cast<std::size_t>(u)] = row_fingerprint(local.by_user(), u);
  }
  const auto counts = comm.gather_records<std::int32_t>(my_counts, 0);
  const auto fingerprints = comm.gather_records<std::uint64_t>(my_fingerprints, 0);
  const auto order = comm.gather_records<std::int32_t>(part.local_users, 0);
  std::vector<float> user_rows;
  std::vector<float> user_bias;
  const std::int64_t k = model.movie_factors.cols;
  if (options.gather_users) {
    user_rows = gather_user_rows(comm, part, fit.user_factors.data, k);
    const bool user_biases =
        o.algorithm == Algorithm::bias ||
        (o.algorithm == Algorithm::nmf && o.objective == NmfObjective::masked && o.biases);
    if (user_biases) user_bias = gather_user_rows(comm, part, fit.user_bias, 1);
  }
  if (comm.root()) {
    model.user_ids = part.user_ids;
    std::vector<std::uint64_t> ordered_fingerprints(order.size());
    model.user_rating_counts.assign(order.size(), 0);
    for (std::size_t i = 0; i < order.size(); ++i) {
      ordered_fingerprints[static_cast<std::size_t>(order[i])] = fingerprints[i];
      model.user_rating_counts[static_cast<std::size_t>(order[i])] = counts[i];
    }
    model.data_fingerprint = combine_fingerprint(model.user_ids, model.movie_ids, ordered_fingerprints);
    if (options.gather_users) {
      model.user_factors.rows = part.n_users();
      model.user_factors.cols = k;
      model.user_factors.data = std::move(user_rows);
      model.user_bias = std::move(user_bias);
    } else {
      model.user_factors = DenseMatrix(0, k);
    }
    model.catalog.reserve(static_cast<std::size_t>(model.n_movies()));
    for (std::int32_t j = 0; j < model.n_movies(); ++j) {
      model.catalog.push_back({part.data.column_movie(j),
                               static_cast<std::int32_t>(part.movie_counts[static_cast<std::size_t>(j)]),
                               part.movie_means[static_cast<std::size_t>(j)]});
    }
  } else {
    model = Model();
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (comm.root()) {
    spdlog::info("trained {} on {} users x {} movies ({} ratings) on {} ranks in {:.2f} s{}",
                 algorithm_name(o.algorithm), part.n_users(), part.n_movies(), part.total_ratings,
                 comm.size(), seconds,
                 log.iterations > 0 ? fmt::format(", {} iterations, final loss {:.6g}", log.iterations,
                                                  log.loss_history.back())
                                    : std::string());
  }
  if (report) {
    report->device = fmt::format("{} x {} ranks", o.device == Device::cuda ? "cuda" : "cpu", comm.size());
    report->iterations = log.iterations;
    report->loss_history = std::move(log.loss_history);
    report->seconds = seconds;
  }
  return model;
}

}  // namespace cinefactor::dist
