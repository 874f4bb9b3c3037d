// Kernels of the CUDA backend's NMF (see nmf_kernels.cuh); lane layout and reductions as warp_row.cuh
// describes.
#include <algorithm>
#include <string>

#include "cuda_check.hpp"
#include "nmf_kernels.cuh"
#include "warp_row.cuh"

namespace cinefactor::engine::cuda {
namespace {

constexpr int kBlockThreads = kKernelBlockThreads;
constexpr int kWarpsPerBlock = kBlockThreads / kWarp;
constexpr int kMaxFactorsPerLane = kMaskedKernelMaxRank / kWarp;

// scikit-learn's MU step for one side of the zero-filled objective: self *= num / den, an exactly-zero
// denominator replaced by EPSILON; adds sum(num * self_new) (= tr(self^T X other) after the update) to
// *cross.
__global__ void nmf_zero_update_kernel(float* __restrict__ self, const float* __restrict__ num,
                                       const float* __restrict__ den, std::int64_t count, float epsilon,
                                       double* cross) {
  double acc = 0.0;
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const float d = den[i] == 0.0f ? epsilon : den[i];
    const float s = self[i] * (num[i] / d);
    self[i] = s;
    acc += static_cast<double>(num[i] * s);
  }
  for (int offset = kWarp / 2; offset > 0; offset /= 2) acc += __shfl_xor_sync(kFullMask, acc, offset);
  const double values[1] = {acc};
  block_accumulate<kWarpsPerBlock, 1>(values, cross);
}

// One observed entry e of a masked update, by one warp: <self, other_e> over the lanes, then the entry's
// share of the numerator and denominator (the target y split into its positive and negative parts).
template <int PerLane>
__device__ __forceinline__ void accumulate_masked_entry(const MaskedSideArgs& a, std::int64_t e, int lane,
                                                        float row_base, const float (&s)[PerLane],
                                                        float (&num)[PerLane], float (&den)[PerLane]) {
  const std::int32_t c = a.indices[e];
  const float* __restrict__ orow = a.other + static_cast<std::int64_t>(c) * a.k;
  float o[PerLane];
  float dot = 0.0f;
#pragma unroll
  for (int i = 0; i < PerLane; ++i) {
    const int f = lane + i * kWarp;
    o[i] = f < a.k ? orow[f] : 0.0f;
    dot += s[i] * o[i];
  }
  dot = warp_sum(dot);
  const float y = a.values[e] - row_base - (a.other_bias != nullptr ? a.other_bias[c] : 0.0f);
  const float y_pos = y > 0.0f ? y : 0.0f;
  const float d = dot + (y < 0.0f ? -y : 0.0f);
#pragma unroll
  for (int i = 0; i < PerLane; ++i) {
    num[i] += y_pos * o[i];
    den[i] += d * o[i];
  }
}

// The residual r_e - <self, other_e> - (offset + b_col, with biases) of entry e with the row's new factors,
// by one warp, in double (the second walk of a masked update).
template <int PerLane>
__device__ __forceinline__ double masked_residual(const MaskedSideArgs& a, std::int64_t e, int lane,
                                                  const float (&s)[PerLane]) {
  const std::int32_t c = a.indices[e];
  const float* __restrict__ orow = a.other + static_cast<std::int64_t>(c) * a.k;
  float dot = 0.0f;
#pragma unroll
  for (int i = 0; i < PerLane; ++i) {
    const int f = lane + i * kWarp;
    dot += s[i] * (f < a.k ? orow[f] : 0.0f);
  }
  dot = warp_sum(dot);
  return static_cast<double>(a.values[e]) - dot -
         (a.self_bias != nullptr ? static_cast<double>(a.offset) + a.other_bias[c] : 0.0);
}

// The row's bias refit in closed form from its residual sum, b = sum / (n + l2_bias) (0 without biases),
// and the row's squared error with that bias: sum (resid - b)^2 = sum_sq - 2 b sum + n b^2.
struct RowBias {
  double bias;
  double squared_error;
};

__device__ __forceinline__ RowBias refit_row_bias(const MaskedSideArgs& a, double sum, double sum_sq,
                                                  double n) {
  double b = 0.0;
  if (a.self_bias != nullptr) {
    const double denom = n + a.l2_bias;
    b = denom > 0.0 ? sum / denom : 0.0;
  }
  return {b, sum_sq - 2.0 * b * sum + n * b * b};
}

// One masked multiplicative update of every row of `self`, one warp per row, the row's factors spread
// over the lanes (factor f in lane f % 32, register f / 32). The update of cpu/nmf.cpp's mu_masked_side:
//   y_e = r_e - offset - b_row - b_col,  num = sum_e max(y_e, 0) other_e,
//   den = sum_e (<self, other_e> + max(-y_e, 0)) other_e + l2 n_row self + eps,  self *= num / den;
// then (second_walk) a walk over the row's entries with the new factors refits the row's bias in closed
// form, b = sum(resid) / (n + l2_bias), and yields the squared errors.
template <int PerLane>
__global__ void __launch_bounds__(kBlockThreads) nmf_masked_side_kernel(MaskedSideArgs a) {
  const int lane = static_cast<int>(threadIdx.x) % kWarp;
  const std::int64_t warp0 = (blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x) / kWarp;
  const std::int64_t warp_stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x / kWarp;
  const bool biases = a.self_bias != nullptr;
  double acc[3] = {0.0, 0.0, 0.0};  // sse, weighted_norm, bias_norm (meaningful in lane 0)
  for (std::int64_t r = warp0; r < a.rows; r += warp_stride) {
    float s[PerLane];
    float num[PerLane];
    float den[PerLane];
    float* __restrict__ srow = a.self + r * a.k;
#pragma unroll
    for (int i = 0; i < PerLane; ++i) {
      const int f = lane + i * kWarp;
      s[i] = f < a.k ? srow[f] : 0.0f;
      num[i] = 0.0f;
      den[i] = 0.0f;
    }
    const std::int32_t begin = a.indptr[r];
    const std::int32_t end = a.indptr[r + 1];
    if (end - begin > a.long_threshold) continue;  // nmf_masked_long_row_kernel's row
    const float row_base = biases ? a.offset + a.self_bias[r] : 0.0f;
    for (std::int32_t e = begin; e < end; ++e)
      accumulate_masked_entry<PerLane>(a, e, lane, row_base, s, num, den);
    const auto n = static_cast<float>(end - begin);
    const float reg = a.l2 * n;
    float norm = 0.0f;
#pragma unroll
    for (int i = 0; i < PerLane; ++i) {
      const int f = lane + i * kWarp;
      s[i] *= num[i] / (den[i] + reg * s[i] + a.epsilon);
      if (f < a.k) srow[f] = s[i];
      norm += s[i] * s[i];
    }
    norm = warp_sum(norm);
    acc[1] += static_cast<double>(n) * norm;
    if (!a.second_walk) continue;
    double sum = 0.0;
    double sum_sq = 0.0;
    for (std::int32_t e = begin; e < end; ++e) {
      const double resid = masked_residual<PerLane>(a, e, lane, s);
      sum += resid;
      sum_sq += resid * resid;
    }
    const RowBias fit = refit_row_bias(a, sum, sum_sq, static_cast<double>(n));
    if (biases) {
      if (lane == 0) a.self_bias[r] = static_cast<float>(fit.bias);
      acc[2] += fit.bias * fit.bias;
    }
    acc[0] += fit.squared_error;
  }
  block_accumulate<kWarpsPerBlock, 3>(acc, a.sums);
}

constexpr int kLongRowThreads = kLongRowWarps * kWarp;

// Replaces every warp's v (a row of k values spread over the lanes) by the sum of all warps' v, added in
// warp order. Every thread of the block must call it.
template <int PerLane>
__device__ void sum_over_warps(float (&v)[PerLane], float (*partial)[kMaskedKernelMaxRank], int lane,
                               int warp, int k) {
#pragma unroll
  for (int i = 0; i < PerLane; ++i) {
    const int f = lane + i * kWarp;
    if (f < k) partial[warp][f] = v[i];
  }
  __syncthreads();
#pragma unroll
  for (int i = 0; i < PerLane; ++i) {
    const int f = lane + i * kWarp;
    float total = 0.0f;
    if (f < k) {
      for (int w = 0; w < kLongRowWarps; ++w) total += partial[w][f];
    }
    v[i] = total;
  }
  __syncthreads();
}

// The same update as nmf_masked_side_kernel for one long row per block: warp w takes entries
// begin + w, begin + w + kLongRowWarps, ...; the warps' partial numerators, denominators and residual
// sums are added in warp order through shared memory (deterministic), and every warp then applies the
// identical update to its register copy of the row.
template <int PerLane>
__global__ void __launch_bounds__(kLongRowThreads) nmf_masked_long_row_kernel(MaskedSideArgs a) {
  __shared__ float partial[kLongRowWarps][kMaskedKernelMaxRank];
  __shared__ double partial_sums[kLongRowWarps][2];
  const int lane = static_cast<int>(threadIdx.x) % kWarp;
  const int warp = static_cast<int>(threadIdx.x) / kWarp;
  const bool biases = a.self_bias != nullptr;
  const std::int64_t r = a.long_rows[blockIdx.x];
  float* __restrict__ srow = a.self + r * a.k;
  float s[PerLane];
  float num[PerLane];
  float den[PerLane];
#pragma unroll
  for (int i = 0; i < PerLane; ++i) {
    const int f = lane + i * kWarp;
    s[i] = f < a.k ? srow[f] : 0.0f;
    num[i] = 0.0f;
    den[i] = 0.0f;
  }
  const std::int32_t begin = a.indptr[r];
  const std::int32_t end = a.indptr[r + 1];
  const float row_base = biases ? a.offset + a.self_bias[r] : 0.0f;
  // 64-bit: begin + warp + kLongRowWarps may pass INT32_MAX near the end of the largest matrices.
  for (std::int64_t e = begin + warp; e < end; e += kLongRowWarps) {
    accumulate_masked_entry<PerLane>(a, e, lane, row_base, s, num, den);
  }
  // Sum the warps' partials: numerators, then denominators, through one shared array.
  sum_over_warps<PerLane>(num, partial, lane, warp, a.k);
  sum_over_warps<PerLane>(den, partial, lane, warp, a.k);
  const auto n = static_cast<float>(end - begin);
  const float reg = a.l2 * n;
  float norm = 0.0f;
#pragma unroll
  for (int i = 0; i < PerLane; ++i) {
    const int f = lane + i * kWarp;
    s[i] *= num[i] / (den[i] + reg * s[i] + a.epsilon);
    if (warp == 0 && f < a.k) srow[f] = s[i];
    norm += s[i] * s[i];
  }
  norm = warp_sum(norm);
  double sum = 0.0;
  double sum_sq = 0.0;
  if (a.second_walk) {
    for (std::int64_t e = begin + warp; e < end; e += kLongRowWarps) {
      const double resid = masked_residual<PerLane>(a, e, lane, s);
      sum += resid;
      sum_sq += resid * resid;
    }
  }
  if (lane == 0) {
    partial_sums[warp][0] = sum;
    partial_sums[warp][1] = sum_sq;
  }
  __syncthreads();
  if (threadIdx.x != 0) return;
  atomicAdd(a.sums + 1, static_cast<double>(n) * norm);
  if (!a.second_walk) return;
  sum = 0.0;
  sum_sq = 0.0;
  for (int w = 0; w < kLongRowWarps; ++w) {
    sum += partial_sums[w][0];
    sum_sq += partial_sums[w][1];
  }
  const RowBias fit = refit_row_bias(a, sum, sum_sq, static_cast<double>(n));
  if (biases) {
    a.self_bias[r] = static_cast<float>(fit.bias);
    atomicAdd(a.sums + 2, fit.bias * fit.bias);
  }
  atomicAdd(a.sums, fit.squared_error);
}

}  // namespace

void launch_nmf_zero_update(cudaStream_t stream, int grid, float* self, const float* num, const float* den,
                            std::int64_t count, float epsilon, double* cross) {
  clear_stale_error();
  nmf_zero_update_kernel<<<grid, kBlockThreads, 0, stream>>>(self, num, den, count, epsilon, cross);
  CINEFACTOR_CUDA_CHECK_LAUNCH();
}

template <int PerLane>
void launch_masked_side_for(cudaStream_t stream, const MaskedSideArgs& a) {
  const int grid =
      static_cast<int>(std::max<std::int64_t>(1, (a.rows + kWarpsPerBlock - 1) / kWarpsPerBlock));
  clear_stale_error();
  nmf_masked_side_kernel<PerLane><<<grid, kBlockThreads, 0, stream>>>(a);
  CINEFACTOR_CUDA_CHECK_LAUNCH();
  if (a.long_count > 0) {
    nmf_masked_long_row_kernel<PerLane><<<a.long_count, kLongRowThreads, 0, stream>>>(a);
    CINEFACTOR_CUDA_CHECK_LAUNCH();
  }
}

void launch_masked_side(cudaStream_t stream, const MaskedSideArgs& a) {
  const bool launched = dispatch_factors_per_lane<kMaxFactorsPerLane>(
      a.k, [&](auto per_lane) { launch_masked_side_for<decltype(per_lane)::value>(stream, a); });
  if (!launched) {
    throw InvalidArgument("the CUDA masked NMF supports rank <= " + std::to_string(kMaskedKernelMaxRank) +
                          ", got " + std::to_string(a.k));
  }
}

}  // namespace cinefactor::engine::cuda
