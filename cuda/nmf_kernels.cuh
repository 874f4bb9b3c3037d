// The CUDA backend's own kernels, behind plain launch functions: a header free of the project's C++20
// headers so that both nvcc (nmf_kernels.cu) and the host compiler (nmf.cpp) can read it.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace cinefactor::engine::cuda {

// Threads per block of every kernel here (8 warps).
inline constexpr int kKernelBlockThreads = 256;
// The masked kernel keeps a row's k factors in registers, 8 per lane at most: k <= 256.
inline constexpr int kMaskedKernelMaxRank = 256;
// A row with more ratings than this (a popular movie: up to ~80,000 in ML-25M) would keep one warp busy
// long after the others finish; such rows get a block of kLongRowWarps warps that split the entries.
inline constexpr std::int32_t kLongRowEntries = 1024;
inline constexpr int kLongRowWarps = 16;

struct MaskedSideArgs {
  const std::int32_t* indptr;
  const std::int32_t* indices;
  const float* values;
  const float* other;       // other side's factors, row-major (cols x k)
  float* self;              // this side's factors, row-major (rows x k)
  const float* other_bias;  // nullptr without biases
  float* self_bias;         // nullptr without biases
  std::int32_t rows;
  int k;
  float offset;
  float l2;
  float l2_bias;
  bool second_walk;
  float epsilon;  // added to every denominator
  double* sums;   // [sse, weighted_norm, bias_norm]
  // Rows with more than long_threshold entries are skipped by the warp-per-row kernel and updated by the
  // block-per-row kernel, one block each (long_rows lists them, long_count of them).
  const std::int32_t* long_rows;
  std::int32_t long_count;
  std::int32_t long_threshold;
};

// self *= num / den element-wise (an exactly-zero den replaced by epsilon), count elements, and
// *cross += sum num * self_new. grid: blocks of kKernelBlockThreads threads, grid-stride.
void launch_nmf_zero_update(cudaStream_t stream, int grid, float* self, const float* num, const float* den,
                            std::int64_t count, float epsilon, double* cross);

// One masked multiplicative update of every row of a.self (see nmf_kernels.cu); adds
// [sse, weighted_norm, bias_norm] to a.sums. Throws InvalidArgument when a.k > kMaskedKernelMaxRank.
void launch_masked_side(cudaStream_t stream, const MaskedSideArgs& a);

}  // namespace cinefactor::engine::cuda
