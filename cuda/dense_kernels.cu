// Kernels of dense_kernels.cuh. All are small (k x k or l x l elements, or a k x k sum over at most a few
// hundred blocks): plain grid-stride loops, one element per thread.
#include "cuda_check.hpp"
#include "dense_kernels.cuh"

namespace cinefactor::engine::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kWarp = 32;
constexpr unsigned kFullMask = 0xffffffffu;
constexpr std::int64_t kMaxBlocks = 1024;

int blocks_for(std::int64_t count) {
  const std::int64_t wanted = (count + kThreads - 1) / kThreads;
  return static_cast<int>(wanted < 1 ? 1 : wanted > kMaxBlocks ? kMaxBlocks : wanted);
}

__global__ void sum_blocks_kernel(const float* __restrict__ partial, int blocks, std::int64_t count,
                                  double* __restrict__ out_double, float* __restrict__ out_float) {
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    double total = 0.0;
    for (int b = 0; b < blocks; ++b) total += static_cast<double>(partial[b * count + i]);
    out_double[i] = total;
    out_float[i] = static_cast<float>(total);
  }
}

__global__ void to_float_kernel(const double* __restrict__ in, std::int64_t count, float* __restrict__ out) {
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    out[i] = static_cast<float>(in[i]);
  }
}

__global__ void frobenius_inner_kernel(const double* __restrict__ a, const double* __restrict__ b,
                                       std::int64_t count, double* out) {
  __shared__ double partial[kThreads / kWarp];
  double acc = 0.0;
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    acc += a[i] * b[i];
  }
  for (int offset = kWarp / 2; offset > 0; offset /= 2) acc += __shfl_xor_sync(kFullMask, acc, offset);
  if (threadIdx.x % kWarp == 0) partial[threadIdx.x / kWarp] = acc;
  __syncthreads();
  if (threadIdx.x == 0) {
    double total = 0.0;
    for (int w = 0; w < kThreads / kWarp; ++w) total += partial[w];
    atomicAdd(out, total);
  }
}

__global__ void transposed_triangle_kernel(const float* __restrict__ a, std::int64_t lda, int l,
                                           double* __restrict__ rt) {
  const std::int64_t count = static_cast<std::int64_t>(l) * l;
  for (std::int64_t idx = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; idx < count;
       idx += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t row = idx % l;  // of R^T
    const std::int64_t col = idx / l;
    // R^T(row, col) = R(col, row), stored at a[row * lda + col]; R is upper triangular: col <= row.
    rt[idx] = col <= row ? static_cast<double>(a[row * lda + col]) : 0.0;
  }
}

__global__ void leading_columns_kernel(const double* __restrict__ u, int l, int k, bool transposed,
                                       float* __restrict__ out) {
  const std::int64_t count = static_cast<std::int64_t>(l) * k;
  for (std::int64_t idx = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; idx < count;
       idx += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t row = idx % l;
    const std::int64_t col = idx / l;
    out[idx] = static_cast<float>(transposed ? u[row * l + col] : u[col * l + row]);
  }
}

}  // namespace

void launch_sum_blocks(cudaStream_t stream, const float* partial, int blocks, std::int64_t count,
                       double* out_double, float* out_float) {
  clear_stale_error();
  sum_blocks_kernel<<<blocks_for(count), kThreads, 0, stream>>>(partial, blocks, count, out_double,
                                                                out_float);
  CINEFACTOR_CUDA_CHECK_LAUNCH();
}

void launch_to_float(cudaStream_t stream, const double* in, std::int64_t count, float* out) {
  clear_stale_error();
  to_float_kernel<<<blocks_for(count), kThreads, 0, stream>>>(in, count, out);
  CINEFACTOR_CUDA_CHECK_LAUNCH();
}

void launch_frobenius_inner(cudaStream_t stream, const double* a, const double* b, std::int64_t count,
                            double* out) {
  clear_stale_error();
  // One block (k x k <= 65,536 elements): the sum is the same on every run.
  frobenius_inner_kernel<<<1, kThreads, 0, stream>>>(a, b, count, out);
  CINEFACTOR_CUDA_CHECK_LAUNCH();
}

void launch_transposed_triangle(cudaStream_t stream, const float* a, std::int64_t lda, int l, double* rt) {
  clear_stale_error();
  transposed_triangle_kernel<<<blocks_for(static_cast<std::int64_t>(l) * l), kThreads, 0, stream>>>(a, lda, l,
                                                                                                    rt);
  CINEFACTOR_CUDA_CHECK_LAUNCH();
}

void launch_leading_columns(cudaStream_t stream, const double* u, int l, int k, bool transposed, float* out) {
  clear_stale_error();
  leading_columns_kernel<<<blocks_for(static_cast<std::int64_t>(l) * k), kThreads, 0, stream>>>(
      u, l, k, transposed, out);
  CINEFACTOR_CUDA_CHECK_LAUNCH();
}

}  // namespace cinefactor::engine::cuda
