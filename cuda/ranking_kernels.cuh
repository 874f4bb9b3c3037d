// The GPU top-k of the evaluation's ranking, behind a plain launch function (see ranking_kernels.cu); a
// header that both nvcc and the host compiler read.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace cinefactor::engine::cuda {

// The longest list the kernel keeps (kCudaMaxRankingK in cuda_backend.hpp).
inline constexpr int kTopKMaxK = 256;

struct TopKArgs {
  const float* scores;                  // batch x movies, row-major: dot(user, movie) of each batch user
  const float* movie_offset;            // movies: added to every score (movie bias; -inf below the floor)
  const std::int32_t* users;            // batch: each batch row's user, a row of the excluded matrix
  const std::int32_t* excluded_indptr;  // CSR of the movies never ranked for a user (its training movies)
  const std::int32_t* excluded_indices;
  std::int32_t movies;
  int k;              // list length, <= kTopKMaxK
  std::int32_t* out;  // batch x k movie indices, best first, -1 after the last candidate
};

// One block per batch row; batch rows from 0 to batch - 1. Throws InvalidArgument for k outside
// [1, kTopKMaxK].
void launch_top_k(cudaStream_t stream, std::int32_t batch, const TopKArgs& args);

}  // namespace cinefactor::engine::cuda
