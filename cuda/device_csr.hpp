// Sparse matrices on the device: a CSR view (int32 offsets and columns, float32 values) with its cuSPARSE
// descriptor, and the SpMM plan that multiplies it with a dense matrix.
#pragma once

#include <cstdint>
#include <vector>

#include "cinefactor/rating_matrix.hpp"
#include "cuda_context.hpp"

namespace cinefactor::engine::cuda {

// CSR row offsets (int64 on the host) as the int32 offsets the device code and cuSPARSE take; the caller
// has checked that the entries fit int32 (kCudaMaxNnz).
DeviceBuffer<std::int32_t> upload_offsets(CudaContext& ctx, const std::vector<std::int64_t>& indptr);

// A CSR matrix on the device (int32 offsets and columns, float32 values) and its cuSPARSE descriptor.
class DeviceCsr {
 public:
  // shift is subtracted from every stored value (implicit centering of the SVD).
  DeviceCsr(CudaContext& ctx, const SparseMatrix& x, float shift);
  ~DeviceCsr();
  DeviceCsr(const DeviceCsr&) = delete;
  DeviceCsr& operator=(const DeviceCsr&) = delete;

  std::int32_t rows = 0;
  std::int32_t cols = 0;
  std::int64_t nnz = 0;
  DeviceBuffer<std::int32_t> indptr;
  DeviceBuffer<std::int32_t> indices;
  DeviceBuffer<float> values;
  cusparseConstSpMatDescr_t descr = nullptr;
};

// C = A B with A sparse (rows x cols), B dense (cols x width) and C dense (rows x width), both in
// `order` with their pointers fixed at construction; the SpMM work buffer is allocated once here.
class SpmmPlan {
 public:
  SpmmPlan(CudaContext& ctx, const DeviceCsr& a, const float* b, float* c, std::int64_t width,
           cusparseOrder_t order);
  ~SpmmPlan();
  SpmmPlan(const SpmmPlan&) = delete;
  SpmmPlan& operator=(const SpmmPlan&) = delete;
  void run();

 private:
  void destroy_descriptors() noexcept;
  CudaContext& ctx_;
  const DeviceCsr& a_;
  cusparseConstDnMatDescr_t b_ = nullptr;
  cusparseDnMatDescr_t c_ = nullptr;
  cusparseSpMMAlg_t alg_;
  DeviceBuffer<std::uint8_t> buffer_;
};

}  // namespace cinefactor::engine::cuda
