// The steps train() shares with the distributed trainer (see train_steps.hpp).
#include "engine/train_steps.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "cinefactor/error.hpp"

namespace cinefactor::engine {
namespace {

bool has_initial_factors(const TrainOptions& o) {
  return o.initial_user_factors.rows > 0 || o.initial_movie_factors.rows > 0;
}

void validate_initial_factors(const TrainOptions& o, std::int32_t users, std::int32_t movies) {
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
  check(o.initial_user_factors, "user", users);
  check(o.initial_movie_factors, "movie", movies);
}

}  // namespace

void validate_train_options(const TrainOptions& o, std::int32_t users, std::int32_t movies,
                            std::int64_t ratings) {
  if (ratings == 0) throw InvalidArgument("cannot train on a rating matrix without ratings");
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
    const int smaller = std::min(users, movies);
    if (o.rank < 1) throw InvalidArgument("rank must be >= 1, got " + std::to_string(o.rank));
    const bool needs_svd =
        o.algorithm == Algorithm::svd || (o.init == NmfInit::nndsvda && !has_initial_factors(o));
    if (needs_svd && o.rank > smaller) {
      throw InvalidArgument(
          "rank " + std::to_string(o.rank) + " exceeds min(users, movies) = " + std::to_string(smaller) +
          (o.algorithm == Algorithm::nmf ? " (needed by the nndsvda init; use the random init)" : ""));
    }
  }
  if (has_initial_factors(o)) validate_initial_factors(o, users, movies);
  for (const auto& [name, value] : {std::pair{"l2_user", o.l2_user}, std::pair{"l2_movie", o.l2_movie},
                                    std::pair{"l2_bias", o.l2_bias}}) {
    if (!(value >= 0.0f) || !std::isfinite(value))
      throw InvalidArgument(std::string(name) + " must be a number >= 0");
  }
}

// Wraps the caller's callback with a progress bar over the iteration budget.
IterationControl iteration_control(const TrainOptions& o, Progress& progress) {
  IterationControl control;
  control.max_iterations = o.max_iterations;
  control.tolerance = o.tolerance;
  control.on_iteration = [&progress, callback = o.on_iteration](const IterationInfo& info) {
    progress.set(info.iteration);
    if (callback) callback(info);
  };
  return control;
}

SvdSettings svd_settings(const TrainOptions& o, bool center) {
  return {o.rank, o.oversamples, o.power_iterations, center, o.seed};
}

double zero_filled_mean(double mean, std::int64_t ratings, std::int32_t users, std::int32_t movies) {
  return mean * static_cast<double>(ratings) / (static_cast<double>(users) * static_cast<double>(movies));
}

void scale_columns(DenseMatrix& u, std::span<const float> sigma) {
  for (std::int64_t r = 0; r < u.rows; ++r) {
    auto row = u.row(r);
    for (std::size_t c = 0; c < row.size(); ++c) row[c] *= sigma[c];
  }
}

}  // namespace cinefactor::engine
