// The implicit-ALS conjugate-gradient kernel (see als_kernels.cuh): one warp per row, the row's vectors
// spread over the lanes as warp_row.cuh lays them out, the same arithmetic and step order as the
// CPU backend (cpu/als.cpp).
#include <algorithm>
#include <string>

#include "als_kernels.cuh"
#include "cuda_check.hpp"
#include "warp_row.cuh"

namespace cinefactor::engine::cuda {
namespace {

constexpr int kBlockThreads = 256;
constexpr int kWarpsPerBlock = kBlockThreads / kWarp;
constexpr int kMaxFactorsPerLane = kAlsKernelMaxRank / kWarp;
// CG stops once the squared residual norm falls below this (as cpu/als.cpp).
constexpr float kCgResidualFloor = 1e-10f;

template <int PerLane>
__device__ __forceinline__ float warp_dot(const float (&a)[PerLane], const float (&b)[PerLane]) {
  float s = 0.0f;
#pragma unroll
  for (int i = 0; i < PerLane; ++i) s += a[i] * b[i];
  return warp_sum(s);
}

// out = (G + l2 I) v: factor f of out is sum_a G[a][f] v_a (G symmetric, so lanes read G's row a
// contiguously); v_a is broadcast from its lane.
template <int PerLane>
__device__ __forceinline__ void regularized_gram_times(const AlsSideArgs& a, int lane,
                                                       const float (&v)[PerLane], float (&out)[PerLane]) {
#pragma unroll
  for (int i = 0; i < PerLane; ++i) out[i] = 0.0f;
#pragma unroll
  for (int slot = 0; slot < PerLane; ++slot) {
    for (int src = 0; src < kWarp; ++src) {
      const int row = slot * kWarp + src;
      const float va = __shfl_sync(kFullMask, v[slot], src);
      if (row >= a.k) break;  // uniform over the warp
      const float* __restrict__ g = a.gram + static_cast<std::int64_t>(row) * a.k;
#pragma unroll
      for (int i = 0; i < PerLane; ++i) {
        const int f = lane + i * kWarp;
        if (f < a.k) out[i] += va * __ldg(g + f);
      }
    }
  }
#pragma unroll
  for (int i = 0; i < PerLane; ++i) out[i] += a.l2 * v[i];
}

template <int PerLane>
__device__ __forceinline__ void load_row(const AlsSideArgs& a, std::int32_t column, int lane,
                                         float (&y)[PerLane]) {
  const float* __restrict__ row = a.other + static_cast<std::int64_t>(column) * a.k;
#pragma unroll
  for (int i = 0; i < PerLane; ++i) {
    const int f = lane + i * kWarp;
    y[i] = f < a.k ? __ldg(row + f) : 0.0f;
  }
}

template <int PerLane>
__global__ void __launch_bounds__(kBlockThreads) als_side_kernel(AlsSideArgs a) {
  const int lane = static_cast<int>(threadIdx.x) % kWarp;
  const std::int64_t warp_global = (static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / kWarp;
  const std::int64_t warps = static_cast<std::int64_t>(gridDim.x) * blockDim.x / kWarp;
  const float c1 = a.confidence - 1.0f;
  double acc[1] = {0.0};
  for (std::int64_t r = warp_global; r < a.rows; r += warps) {
    float* __restrict__ srow = a.self + r * a.k;
    const std::int32_t begin = a.indptr[r];
    const std::int32_t end = a.indptr[r + 1];
    bool any = false;
    for (std::int32_t e = begin; e < end && !any; ++e) any = a.values[e] >= a.threshold;
    float x[PerLane];
    if (!any) {
#pragma unroll
      for (int i = 0; i < PerLane; ++i) {
        const int f = lane + i * kWarp;
        if (f < a.k) srow[f] = 0.0f;  // (G + l2 I) x = 0 has the unique solution 0
      }
      continue;
    }
#pragma unroll
    for (int i = 0; i < PerLane; ++i) {
      const int f = lane + i * kWarp;
      x[i] = f < a.k ? srow[f] : 0.0f;
    }
    float y[PerLane];
    float res[PerLane];
    float p[PerLane];
    float ap[PerLane];
    // res = b - A x.
    regularized_gram_times<PerLane>(a, lane, x, res);
#pragma unroll
    for (int i = 0; i < PerLane; ++i) res[i] = -res[i];
    for (std::int32_t e = begin; e < end; ++e) {
      if (a.values[e] < a.threshold) continue;
      load_row<PerLane>(a, a.indices[e], lane, y);
      const float w = a.confidence - c1 * warp_dot<PerLane>(y, x);
#pragma unroll
      for (int i = 0; i < PerLane; ++i) res[i] += w * y[i];
    }
#pragma unroll
    for (int i = 0; i < PerLane; ++i) p[i] = res[i];
    float rs_old = warp_dot<PerLane>(res, res);
    for (int step = 0; step < a.cg_steps && rs_old >= kCgResidualFloor; ++step) {
      regularized_gram_times<PerLane>(a, lane, p, ap);
      for (std::int32_t e = begin; e < end; ++e) {
        if (a.values[e] < a.threshold) continue;
        load_row<PerLane>(a, a.indices[e], lane, y);
        const float w = c1 * warp_dot<PerLane>(y, p);
#pragma unroll
        for (int i = 0; i < PerLane; ++i) ap[i] += w * y[i];
      }
      const float step_length = rs_old / warp_dot<PerLane>(p, ap);
#pragma unroll
      for (int i = 0; i < PerLane; ++i) {
        x[i] += step_length * p[i];
        res[i] -= step_length * ap[i];
      }
      const float rs_new = warp_dot<PerLane>(res, res);
      if (rs_new < kCgResidualFloor) break;
      const float beta = rs_new / rs_old;
#pragma unroll
      for (int i = 0; i < PerLane; ++i) p[i] = res[i] + beta * p[i];
      rs_old = rs_new;
    }
#pragma unroll
    for (int i = 0; i < PerLane; ++i) {
      const int f = lane + i * kWarp;
      if (f < a.k) srow[f] = x[i];
    }
    if (a.positives != nullptr) {
      for (std::int32_t e = begin; e < end; ++e) {
        if (a.values[e] < a.threshold) continue;
        load_row<PerLane>(a, a.indices[e], lane, y);
        const double s = warp_dot<PerLane>(y, x);
        const double err = 1.0 - s;
        acc[0] += static_cast<double>(a.confidence) * err * err - s * s;
      }
    }
  }
  if (a.positives != nullptr) block_accumulate<kWarpsPerBlock, 1>(acc, a.positives);
}

template <int PerLane>
void launch_for(cudaStream_t stream, const AlsSideArgs& a) {
  const int grid =
      static_cast<int>(std::max<std::int64_t>(1, (a.rows + kWarpsPerBlock - 1) / kWarpsPerBlock));
  clear_stale_error();
  als_side_kernel<PerLane><<<grid, kBlockThreads, 0, stream>>>(a);
  CINEFACTOR_CUDA_CHECK_LAUNCH();
}

}  // namespace

void launch_als_side(cudaStream_t stream, const AlsSideArgs& a) {
  const bool launched = dispatch_factors_per_lane<kMaxFactorsPerLane>(
      a.k, [&](auto per_lane) { launch_for<decltype(per_lane)::value>(stream, a); });
  if (!launched) {
    throw InvalidArgument("the CUDA implicit ALS supports rank <= " + std::to_string(kAlsKernelMaxRank) +
                          ", got " + std::to_string(a.k));
  }
}

}  // namespace cinefactor::engine::cuda
