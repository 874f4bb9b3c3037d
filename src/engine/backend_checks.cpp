// The argument checks every backend makes before it starts (see backend.hpp).
#include <algorithm>
#include <cmath>
#include <string>

#include "cinefactor/error.hpp"
#include "engine/backend.hpp"

namespace cinefactor::engine {

void check_nmf_factors(const RatingMatrix& ratings, const NmfFactors& f) {
  if (f.w.cols <= 0 || f.w.cols != f.ht.cols)
    throw InvalidArgument("NMF factors need the same rank >= 1 on both sides");
  if (f.w.rows != ratings.n_users() || f.ht.rows != ratings.n_movies()) {
    throw InvalidArgument("NMF factors do not match the rating matrix: W is " + std::to_string(f.w.rows) +
                          " x " + std::to_string(f.w.cols) + ", H^T " + std::to_string(f.ht.rows) + " x " +
                          std::to_string(f.ht.cols) + " for " + std::to_string(ratings.n_users()) +
                          " users x " + std::to_string(ratings.n_movies()) + " movies");
  }
}

void check_als_factors(const RatingMatrix& ratings, const AlsSettings& settings, const AlsFactors& f) {
  if (f.users.cols <= 0 || f.users.cols != f.movies.cols)
    throw InvalidArgument("ALS factors need the same rank >= 1 on both sides");
  if (f.users.rows != ratings.n_users() || f.movies.rows != ratings.n_movies()) {
    throw InvalidArgument("ALS factors do not match the rating matrix: X is " + std::to_string(f.users.rows) +
                          " x " + std::to_string(f.users.cols) + ", Y " + std::to_string(f.movies.rows) +
                          " x " + std::to_string(f.movies.cols) + " for " +
                          std::to_string(ratings.n_users()) + " users x " +
                          std::to_string(ratings.n_movies()) + " movies");
  }
  if (!(settings.alpha >= 0.0f) || !std::isfinite(settings.alpha))
    throw InvalidArgument("ALS alpha must be a number >= 0");
  if (!(settings.l2 > 0.0f) || !std::isfinite(settings.l2))
    throw InvalidArgument("ALS l2 must be a number > 0");
  if (!std::isfinite(settings.positive_threshold))
    throw InvalidArgument("ALS positive threshold must be a finite number");
  if (settings.cg_steps < 1) throw InvalidArgument("ALS cg_steps must be >= 1");
}

void check_svd_settings(const RatingMatrix& ratings, const SvdSettings& settings) {
  const std::int64_t smaller = std::min<std::int64_t>(ratings.n_users(), ratings.n_movies());
  if (settings.rank < 1 || settings.rank > smaller) {
    throw InvalidArgument("SVD rank must be between 1 and min(users, movies) = " + std::to_string(smaller) +
                          ", got " + std::to_string(settings.rank));
  }
  if (settings.oversamples < 0) throw InvalidArgument("SVD oversamples must be >= 0");
  if (settings.power_iterations < 0) throw InvalidArgument("SVD power iterations must be >= 0");
}

void check_ranking_job(const RankingJob& job) {
  if (!job.user_factors || !job.movie_factors || !job.excluded)
    throw InvalidArgument("rank_top_k: missing input");
  if (job.k < 1) throw InvalidArgument("rank_top_k: k must be >= 1");
  const auto movies = job.excluded->cols;
  if (static_cast<std::int64_t>(job.movie_offset.size()) != movies) {
    throw InvalidArgument("rank_top_k: one movie offset per movie is needed");
  }
  // A model without factors (rank 0, as loaded from a file: 0 x 0 factor matrices) ranks by its offsets
  // alone.
  const auto& u = *job.user_factors;
  const auto& v = *job.movie_factors;
  if (v.cols > 0 && (u.cols != v.cols || v.rows != movies || u.rows != job.excluded->rows)) {
    throw InvalidArgument("rank_top_k: the factors must be users x rank and movies x rank");
  }
  for (const auto user : job.users) {
    if (user < 0 || user >= job.excluded->rows) throw InvalidArgument("rank_top_k: user index out of range");
  }
}

IterationLog Backend::nmf_zero_across(const RatingMatrix& /*ratings*/, NmfFactors& /*factors*/,
                                      const IterationControl& /*control*/, ProcessSums& /*across*/) {
  throw InvalidArgument("the " + device_description() + " backend has no NMF with sums across processes");
}

}  // namespace cinefactor::engine
