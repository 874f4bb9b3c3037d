// What the CUDA backend's one-row-per-warp kernels share: the lane layout (factor f of a row in lane
// f % 32, register slot f / 32), the launch-time dispatch on the number of slots, and the reductions:
// each warp reduces with shuffles, each block sums its warps in shared memory in warp order, and one double
// atomicAdd per block and slot adds the block's total (so the order of the final sum varies from run to
// run only in the last bits of a double). Included by .cu files only.
#pragma once

#include <cuda_runtime.h>

#include <type_traits>
#include <utility>

namespace cinefactor::engine::cuda {

inline constexpr int kWarp = 32;
inline constexpr unsigned kFullMask = 0xffffffffu;

__device__ inline float warp_sum(float v) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2) v += __shfl_xor_sync(kFullMask, v, offset);
  return v;
}

// Sums `values[0..slots)` of every warp's lane 0 over a block of WarpsPerBlock warps and adds the totals
// to out[0..slots). Every thread of the block must call it.
template <int WarpsPerBlock, int Slots>
__device__ void block_accumulate(const double (&values)[Slots], double* out) {
  __shared__ double partial[WarpsPerBlock][Slots];
  const int lane = static_cast<int>(threadIdx.x) % kWarp;
  const int warp = static_cast<int>(threadIdx.x) / kWarp;
  if (lane == 0) {
    for (int s = 0; s < Slots; ++s) partial[warp][s] = values[s];
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int s = 0; s < Slots; ++s) {
      double total = 0.0;
      for (int w = 0; w < WarpsPerBlock; ++w) total += partial[w][s];
      atomicAdd(out + s, total);
    }
  }
}

// Calls launch(std::integral_constant<int, P>{}) with P = ceil(k / 32) factors per lane, for
// 1 <= P <= MaxPerLane (at most 8); returns false when k needs more.
template <int MaxPerLane, typename Launch>
bool dispatch_factors_per_lane(int k, Launch&& launch) {
  static_assert(MaxPerLane >= 1 && MaxPerLane <= 8);
  const int per_lane = (k + kWarp - 1) / kWarp;
  if (per_lane < 1 || per_lane > MaxPerLane) return false;
  bool done = false;
  [&]<int... P>(std::integer_sequence<int, P...>) {
    ((per_lane == P + 1 ? (launch(std::integral_constant<int, P + 1>{}), done = true) : false), ...);
  }
  (std::make_integer_sequence<int, MaxPerLane>{});
  return done;
}

}  // namespace cinefactor::engine::cuda
