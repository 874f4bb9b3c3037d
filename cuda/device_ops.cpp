// Host-side building blocks of the CUDA backend (see device_ops.hpp).
#include "device_ops.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "cinefactor/error.hpp"
#include "dense_kernels.cuh"
#include "engine/cuda_planning.hpp"

namespace cinefactor::engine::cuda {
namespace {

// Blocks per multiprocessor the grid-stride element-wise kernels are launched with.
constexpr int kBlocksPerSm = 8;

}  // namespace

std::int32_t to_int32(std::int64_t v, const char* what) {
  if (v > kCudaMaxNnz)
    throw InvalidArgument(std::string(what) + " exceeds the CUDA backend's int32 index range");
  return static_cast<std::int32_t>(v);
}

int grid_for(const CudaContext& ctx, std::int64_t work_items, int per_block) {
  const std::int64_t wanted = (work_items + per_block - 1) / per_block;
  const std::int64_t cap = static_cast<std::int64_t>(ctx.properties().multiProcessorCount) * kBlocksPerSm;
  return static_cast<int>(std::max<std::int64_t>(1, std::min(wanted, cap)));
}

bool all_finite(const std::vector<float>& v) {
  return std::all_of(v.begin(), v.end(), [](float x) { return std::isfinite(x); });
}

DeviceBuffer<float> upload_matrix(CudaContext& ctx, const DenseMatrix& m) {
  DeviceBuffer<float> d(m.data.size(), ctx.stream());
  d.upload(m.data);
  return d;
}

// C (rows x cols, column-major) = A (rows x inner) B (inner x cols), both column-major.
void gemm_nn(CudaContext& ctx, std::int64_t rows, std::int64_t cols, std::int64_t inner, const float* a,
             const float* b, float* c) {
  const float one = 1.0f;
  const float zero = 0.0f;
  CINEFACTOR_CUDA_CHECK(cublasSgemm(ctx.cublas(), CUBLAS_OP_N, CUBLAS_OP_N, static_cast<int>(rows),
                                    static_cast<int>(cols), static_cast<int>(inner), &one, a,
                                    static_cast<int>(rows), b, static_cast<int>(inner), &zero, c,
                                    static_cast<int>(rows)));
}

BlockedGram::BlockedGram(CudaContext& ctx, int k)
    : ctx_(ctx), k_(k), partial_(static_cast<std::size_t>(kCudaGramBlocks) * k * k, ctx.stream()) {}

void BlockedGram::run(const float* f, std::int64_t rows, double* g_double, float* g_float) {
  constexpr std::int64_t kGramBlocks = kCudaGramBlocks;
  const float one = 1.0f;
  const float zero = 0.0f;
  const std::int64_t per_block = std::max<std::int64_t>(1, (rows + kGramBlocks - 1) / kGramBlocks);
  const std::int64_t full = rows / per_block;
  const std::int64_t rest = rows - full * per_block;
  const std::int64_t kk = static_cast<std::int64_t>(k_) * k_;
  if (full > 0) {
    CINEFACTOR_CUDA_CHECK(cublasSgemmStridedBatched(
        ctx_.cublas(), CUBLAS_OP_N, CUBLAS_OP_T, k_, k_, static_cast<int>(per_block), &one, f, k_,
        per_block * k_, f, k_, per_block * k_, &zero, partial_.data(), k_, kk, static_cast<int>(full)));
  }
  if (rest > 0) {
    const float* tail = f + full * per_block * k_;
    CINEFACTOR_CUDA_CHECK(cublasSgemm(ctx_.cublas(), CUBLAS_OP_N, CUBLAS_OP_T, k_, k_, static_cast<int>(rest),
                                      &one, tail, k_, tail, k_, &zero, partial_.data() + full * kk, k_));
  }
  launch_sum_blocks(ctx_.stream(), partial_.data(), static_cast<int>(full + (rest > 0 ? 1 : 0)), kk, g_double,
                    g_float);
}

}  // namespace cinefactor::engine::cuda
