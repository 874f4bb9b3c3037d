// The implicit-ALS kernel of the CUDA backend behind a plain launch function: a header free of the
// project's C++20 headers so that both nvcc (als_kernels.cu) and the host compiler (als.cpp) read it.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace cinefactor::engine::cuda {

// The kernel keeps x, r, p and Ap of a row in registers, 8 factors per lane at most: k <= 256.
inline constexpr int kAlsKernelMaxRank = 256;

struct AlsSideArgs {
  const std::int32_t* indptr;
  const std::int32_t* indices;
  const float* values;
  const float* other;  // the other side's factors, row-major (cols x k)
  float* self;         // this side's factors, row-major (rows x k), updated in place
  const float* gram;   // other^T other, k x k (symmetric)
  std::int32_t rows;
  int k;
  float l2;
  float confidence;  // of a positive entry (1 + alpha)
  float threshold;   // values >= threshold are positive
  int cg_steps;
  double* positives;  // when not null: += sum over positive entries of c (1 - s)^2 - s^2 after the update
};

// Updates every row of a.self by a.cg_steps warm-started conjugate-gradient steps on its system
// (G + l2 I + sum_e (c - 1) y_e y_e^T) x = sum_e c y_e, one warp per row. Throws InvalidArgument when
// a.k > kAlsKernelMaxRank.
void launch_als_side(cudaStream_t stream, const AlsSideArgs& a);

}  // namespace cinefactor::engine::cuda
