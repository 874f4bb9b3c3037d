// The GPU top-k (see ranking_kernels.cuh). One block ranks one user: the user's excluded movies become a
// bitmap in shared memory, each thread walks the movies j = thread, thread + 256, ... (coalesced reads of
// the score row) keeping its own best-first list of k candidates, and k rounds of a block-wide "best list
// head" pick the user's list in order; the thread that owned the winner advances its head. The union of
// the threads' k best holds the user's k best, and every comparison uses the one total order of
// top_k_select.hpp, so the list is exactly the CPU's for the same scores.
#include <algorithm>
#include <string>

#include "cinefactor/error.hpp"
#include "cuda_check.hpp"
#include "ranking_kernels.cuh"
#include "top_k_select.hpp"

namespace cinefactor::engine::cuda {
namespace {

constexpr int kWarp = 32;
constexpr unsigned kFullMask = 0xffffffffu;
constexpr int kRankingThreads = 256;
constexpr int kRankingWarps = kRankingThreads / kWarp;
constexpr int kBitsPerWord = 32;

__device__ inline RankedCandidate warp_best(RankedCandidate c) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2) {
    const RankedCandidate other{__shfl_xor_sync(kFullMask, c.score, offset),
                                __shfl_xor_sync(kFullMask, c.movie, offset)};
    if (ranks_before(other, c)) c = other;
  }
  return c;
}

template <int Capacity>
__global__ void __launch_bounds__(kRankingThreads) top_k_kernel(TopKArgs a) {
  extern __shared__ unsigned excluded_bits[];
  __shared__ RankedCandidate warp_heads[kRankingWarps];
  __shared__ RankedCandidate winner;
  const int lane = static_cast<int>(threadIdx.x) % kWarp;
  const int warp = static_cast<int>(threadIdx.x) / kWarp;
  const int words = (a.movies + kBitsPerWord - 1) / kBitsPerWord;
  for (int i = static_cast<int>(threadIdx.x); i < words; i += kRankingThreads) excluded_bits[i] = 0u;
  __syncthreads();
  const std::int32_t user = a.users[blockIdx.x];
  const std::int64_t excluded_end = a.excluded_indptr[user + 1];
  for (std::int64_t e = a.excluded_indptr[user] + static_cast<std::int64_t>(threadIdx.x); e < excluded_end;
       e += kRankingThreads) {
    const std::int32_t j = a.excluded_indices[e];
    atomicOr(&excluded_bits[j / kBitsPerWord], 1u << (j % kBitsPerWord));
  }
  __syncthreads();

  RankedCandidate list[Capacity];
  int length = 0;
  const float* __restrict__ row = a.scores + static_cast<std::int64_t>(blockIdx.x) * a.movies;
  for (std::int32_t j = static_cast<std::int32_t>(threadIdx.x); j < a.movies; j += kRankingThreads) {
    if (excluded_bits[j / kBitsPerWord] & (1u << (j % kBitsPerWord))) continue;
    insert_candidate(list, &length, a.k, RankedCandidate{ranking_score(row[j] + a.movie_offset[j]), j});
  }

  std::int32_t* out = a.out + static_cast<std::int64_t>(blockIdx.x) * a.k;
  int head = 0;
  for (int r = 0; r < a.k; ++r) {
    const RankedCandidate best = warp_best(head < length ? list[head] : no_candidate());
    if (lane == 0) warp_heads[warp] = best;
    __syncthreads();
    if (threadIdx.x == 0) {
      RankedCandidate b = warp_heads[0];
      for (int w = 1; w < kRankingWarps; ++w) {
        if (ranks_before(warp_heads[w], b)) b = warp_heads[w];
      }
      winner = b;
      out[r] = b.movie == kNoCandidate ? -1 : b.movie;
    }
    __syncthreads();
    // A movie belongs to one thread's list only, so exactly its owner advances.
    if (head < length && list[head].movie == winner.movie) ++head;
  }
}

template <int Capacity>
void launch_for(cudaStream_t stream, std::int32_t batch, const TopKArgs& a) {
  const auto shared =
      static_cast<std::size_t>((a.movies + kBitsPerWord - 1) / kBitsPerWord) * sizeof(unsigned);
  clear_stale_error();
  top_k_kernel<Capacity><<<batch, kRankingThreads, shared, stream>>>(a);
  CINEFACTOR_CUDA_CHECK_LAUNCH();
}

}  // namespace

void launch_top_k(cudaStream_t stream, std::int32_t batch, const TopKArgs& a) {
  if (batch <= 0) return;
  if (a.k < 1 || a.k > kTopKMaxK) {
    throw InvalidArgument("the CUDA top-k keeps 1 to " + std::to_string(kTopKMaxK) + " movies, got " +
                          std::to_string(a.k));
  }
  if (a.k <= 16) return launch_for<16>(stream, batch, a);
  if (a.k <= 32) return launch_for<32>(stream, batch, a);
  if (a.k <= 64) return launch_for<64>(stream, batch, a);
  if (a.k <= 128) return launch_for<128>(stream, batch, a);
  return launch_for<kTopKMaxK>(stream, batch, a);
}

}  // namespace cinefactor::engine::cuda
