// CudaBackend::rank_top_k: the evaluation's ranking on the device. The movie factors and
// offsets and the excluded-movies CSR are uploaded once; then per batch of users their factor rows are
// gathered on the host and uploaded, one cuBLAS SGEMM writes the batch's score rows, and the top-k kernel
// (ranking_kernels.cu) turns each row into the user's list. Only the lists come back.
#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <vector>

#include "cinefactor/error.hpp"
#include "cuda_backend.hpp"
#include "device_csr.hpp"
#include "ranking_kernels.cuh"

namespace cinefactor::engine::cuda {

static_assert(kTopKMaxK == kCudaMaxRankingK, "the kernel's list capacity sets the documented maximum");

std::vector<std::int32_t> CudaBackend::rank_top_k(const RankingJob& in) {
  check_ranking_job(in);
  const DenseMatrix& user_factors = *in.user_factors;
  const DenseMatrix& movie_factors = *in.movie_factors;
  const SparseMatrix& excluded = *in.excluded;
  const auto movies = static_cast<std::int32_t>(excluded.cols);
  const auto rank = static_cast<int>(movie_factors.cols);
  CudaRankingWorkload workload{
      excluded.rows, movies, excluded.nnz(), rank, in.k, static_cast<std::int64_t>(in.users.size()), 0};
  if (const std::string why = cuda_ranking_unsupported(workload); !why.empty()) throw InvalidArgument(why);
  std::vector<std::int32_t> lists(in.users.size() * static_cast<std::size_t>(in.k), -1);
  if (in.users.empty() || movies == 0) return lists;

  CudaContext& ctx = ctx_;
  ctx.activate();
  workload.multiprocessors = ctx.properties().multiProcessorCount;
  const std::int64_t batch = cuda_ranking_batch(workload, ctx.free_memory());
  const cudaStream_t stream = ctx.stream();
  DeviceBuffer<float> movie_factors_d(movie_factors.data.size(), stream);
  movie_factors_d.upload(movie_factors.data);
  DeviceBuffer<float> offset_d(in.movie_offset.size(), stream);
  offset_d.upload(in.movie_offset);
  const DeviceBuffer<std::int32_t> indptr_d = upload_offsets(ctx, excluded.indptr);
  DeviceBuffer<std::int32_t> indices_d(excluded.indices.size(), stream);
  indices_d.upload(excluded.indices);

  const auto batch_size = static_cast<std::size_t>(batch);
  DeviceBuffer<float> batch_factors_d(batch_size * static_cast<std::size_t>(rank), stream);
  DeviceBuffer<float> scores_d(batch_size * static_cast<std::size_t>(movies), stream);
  DeviceBuffer<std::int32_t> users_d(batch_size, stream);
  DeviceBuffer<std::int32_t> lists_d(batch_size * static_cast<std::size_t>(in.k), stream);
  std::vector<float> batch_factors(batch_factors_d.size());
  if (rank == 0) scores_d.zero();  // the scores are the offsets alone
  const float one = 1.0f;
  const float zero = 0.0f;
  const auto total = static_cast<std::int64_t>(in.users.size());
  for (std::int64_t first = 0; first < total; first += batch) {
    const auto count = static_cast<std::int32_t>(std::min(batch, total - first));
    for (std::int32_t i = 0; rank > 0 && i < count; ++i) {
      const auto row = user_factors.row(in.users[static_cast<std::size_t>(first + i)]);
      std::copy(row.begin(), row.end(), batch_factors.begin() + static_cast<std::ptrdiff_t>(i) * rank);
    }
    batch_factors_d.upload(batch_factors.data(),
                           static_cast<std::size_t>(count) * static_cast<std::size_t>(rank));
    users_d.upload(in.users.data() + first, static_cast<std::size_t>(count));
    if (rank > 0) {
      // Row-major scores (count x movies) are column-major movies x count: V (column-major rank x movies,
      // the row-major movie factors) transposed, times the batch's factors (column-major rank x count).
      CINEFACTOR_CUDA_CHECK(cublasSgemm(ctx.cublas(), CUBLAS_OP_T, CUBLAS_OP_N, movies, count, rank, &one,
                                        movie_factors_d.data(), rank, batch_factors_d.data(), rank, &zero,
                                        scores_d.data(), movies));
    }
    const TopKArgs args{scores_d.data(),  offset_d.data(), users_d.data(), indptr_d.data(),
                        indices_d.data(), movies,          in.k,           lists_d.data()};
    launch_top_k(stream, count, args);
    lists_d.download(lists.data() + first * in.k,
                     static_cast<std::size_t>(count) * static_cast<std::size_t>(in.k));
    if (in.on_batch) in.on_batch(count);
  }
  return lists;
}

}  // namespace cinefactor::engine::cuda
