// Host-side building blocks the CUDA backend's algorithms share: launch sizing, uploads, a column-major
// GEMM, and the blocked Gram matrices summed like the CPU backend's.
#pragma once

#include <cstdint>
#include <vector>

#include "cinefactor/model.hpp"
#include "cuda_context.hpp"

namespace cinefactor::engine::cuda {

// v as int32, or InvalidArgument("<what> exceeds the CUDA backend's int32 index range").
std::int32_t to_int32(std::int64_t v, const char* what);

// Blocks for a grid-stride kernel over work_items (at most a few per multiprocessor).
int grid_for(const CudaContext& ctx, std::int64_t work_items, int per_block);

bool all_finite(const std::vector<float>& v);

DeviceBuffer<float> upload_matrix(CudaContext& ctx, const DenseMatrix& m);

// C (rows x cols, column-major) = A (rows x inner) B (inner x cols), both column-major.
void gemm_nn(CudaContext& ctx, std::int64_t rows, std::int64_t cols, std::int64_t inner, const float* a,
             const float* b, float* c);

// Gram matrices G = F^T F (k x k) of a row-major rows x k factor matrix F (column-major k x rows for
// cuBLAS: G = F_cm F_cm^T), summed the way the CPU backend sums them: float products over at most
// kGramBlocks row blocks (of equal row counts here; the CPU balances its blocks by ratings), then the blocks
// added in double in block order. A single SGEMM over 162,541 rows would carry float rounding into the
// loss at the size of the default stopping tolerance.
class BlockedGram {
 public:
  BlockedGram(CudaContext& ctx, int k);
  // g_double and g_float (k x k) = F^T F.
  void run(const float* f, std::int64_t rows, double* g_double, float* g_float);

 private:
  CudaContext& ctx_;
  int k_;
  DeviceBuffer<float> partial_;
};

}  // namespace cinefactor::engine::cuda
