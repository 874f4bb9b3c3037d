// The bias baseline over a 1D partition by users (see factorization.hpp): engine/baselines.cpp's
// alternating exact minimization, the user side local, the movie side's residual sums reduced.
#include "cinefactor/error.hpp"
#include "dist/factorization.hpp"
#include "dist/replicated.hpp"
#include "engine/baselines.hpp"

namespace cinefactor::dist {

engine::IterationLog distributed_bias(Communicator& comm, const Partition& part, float l2,
                                      std::vector<float>& user_bias, std::vector<float>& movie_bias,
                                      const engine::IterationControl& control) {
  if (!(l2 >= 0.0f)) throw InvalidArgument("l2_bias must be >= 0");
  const auto& xu = part.data.ratings.by_user();
  const auto& xm = part.data.ratings.by_movie();
  const double mu = part.global_mean;
  const std::int64_t n = part.n_movies();
  user_bias.assign(static_cast<std::size_t>(xu.rows), 0.0f);
  movie_bias.assign(static_cast<std::size_t>(n), 0.0f);
  const auto offsets = row_blocks_of_ranks(n, comm.size());
  const std::int64_t begin = offsets[static_cast<std::size_t>(comm.rank())];
  const std::int64_t end = offsets[static_cast<std::size_t>(comm.rank()) + 1];
  std::vector<double> sums(static_cast<std::size_t>(2 * n));
  std::vector<double> my_sums(static_cast<std::size_t>(2 * (end - begin)));
  engine::IterationTracker tracker(control);
  while (true) {
    engine::BiasSweep users;
    for (std::int32_t u = 0; u < xu.rows; ++u) {
      double sum = 0.0;
      double sum_sq = 0.0;
      engine::bias_residual_sums(xu, u, mu, movie_bias, sum, sum_sq);
      user_bias[static_cast<std::size_t>(u)] =
          engine::bias_update(sum, sum_sq, static_cast<double>(xu.row_nnz(u)), l2, users);
    }
    // Movies: their residual sums over every rank's users, each rank refitting its block of movies.
    for (std::int32_t j = 0; j < static_cast<std::int32_t>(n); ++j) {
      double sum = 0.0;
      double sum_sq = 0.0;
      engine::bias_residual_sums(xm, j, mu, user_bias, sum, sum_sq);
      sums[static_cast<std::size_t>(2 * j)] = sum;
      sums[static_cast<std::size_t>(2 * j + 1)] = sum_sq;
    }
    comm.reduce_scatter_sum(sums, my_sums, scaled(offsets, 2));
    engine::BiasSweep movies;
    for (std::int64_t j = begin; j < end; ++j) {
      const auto i = static_cast<std::size_t>(2 * (j - begin));
      movie_bias[static_cast<std::size_t>(j)] = engine::bias_update(
          my_sums[i], my_sums[i + 1], static_cast<double>(part.movie_counts[static_cast<std::size_t>(j)]), l2,
          movies);
    }
    comm.all_gather(movie_bias, offsets);
    double terms[2] = {movies.sse, users.bias_norm + movies.bias_norm};
    comm.sum(terms);
    if (tracker.record(terms[0] + l2 * terms[1])) break;
  }
  return tracker.take();
}

}  // namespace cinefactor::dist
