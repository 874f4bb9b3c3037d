// CpuBackend::rank_top_k: blocks of users scored by one dense product each (Eigen, one thread per block),
// then the host top-k selection per user.
#include <Eigen/Core>
#include <algorithm>
#include <limits>

#include "cinefactor/error.hpp"
#include "cpu_backend.hpp"
#include "engine/top_k.hpp"

namespace cinefactor::engine::cpu {

std::vector<std::int32_t> CpuBackend::rank_top_k(const RankingJob& job) {
  check_ranking_job(job);
  if (job.block_users < 1) throw InvalidArgument("block_users must be >= 1");
  const SparseMatrix& excluded = *job.excluded;
  const auto n_movies = static_cast<std::int32_t>(excluded.cols);
  const auto n_users = static_cast<std::int64_t>(job.users.size());
  const auto k = static_cast<std::size_t>(job.k);
  std::vector<std::int32_t> lists(job.users.size() * k, -1);
  if (n_users == 0 || n_movies == 0) return lists;

  const auto rank = static_cast<Eigen::Index>(job.movie_factors->cols);
  const auto block = static_cast<std::int64_t>(job.block_users);
  const auto n_blocks = (n_users + block - 1) / block;
  using ColMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;
  // movie_factors is n_movies x rank row-major, i.e. the rank x n_movies column-major transpose.
  const Eigen::Map<const ColMajor> movies_t(job.movie_factors->data.data(), rank, rank > 0 ? n_movies : 0);
  const Eigen::Map<const RowMajorMatrixF> user_factors(job.user_factors->data.data(), job.user_factors->rows,
                                                       rank);
  const Eigen::Map<const Eigen::RowVectorXf> offset(job.movie_offset.data(), n_movies);
#pragma omp parallel num_threads(resolve_threads(threads_))
  {
    RowMajorMatrixF block_factors(block, rank);
    RowMajorMatrixF scores(block, n_movies);
    std::vector<ScoredMovie> heap;
    std::vector<std::int32_t> ranked;
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t b = 0; b < n_blocks; ++b) {
      const auto first = b * block;
      const auto count = std::min(block, n_users - first);
      if (rank > 0) {
        for (std::int64_t i = 0; i < count; ++i) {
          block_factors.row(i) = user_factors.row(job.users[static_cast<std::size_t>(first + i)]);
        }
        // Inside a parallel region Eigen runs the product on this thread only.
        scores.topRows(count).noalias() = block_factors.topRows(count) * movies_t;
        scores.topRows(count).rowwise() += offset;
      } else {
        scores.topRows(count).rowwise() = offset;
      }
      for (std::int64_t i = 0; i < count; ++i) {
        const auto u = job.users[static_cast<std::size_t>(first + i)];
        const std::span<const std::int32_t> skip(excluded.indices.data() + excluded.row_begin(u),
                                                 static_cast<std::size_t>(excluded.row_nnz(u)));
        select_top_k(scores.row(i).data(), n_movies, skip, job.k, heap, ranked);
        std::copy(ranked.begin(), ranked.end(),
                  lists.begin() + static_cast<std::ptrdiff_t>((first + i) * job.k));
      }
      if (job.on_batch) job.on_batch(count);
    }
  }
  return lists;
}

}  // namespace cinefactor::engine::cpu
