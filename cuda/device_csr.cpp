// DeviceCsr and SpmmPlan (see device_csr.hpp).
#include "device_csr.hpp"

#include <algorithm>

#include "device_ops.hpp"

namespace cinefactor::engine::cuda {

DeviceBuffer<std::int32_t> upload_offsets(CudaContext& ctx, const std::vector<std::int64_t>& indptr) {
  std::vector<std::int32_t> offsets(indptr.size());
  std::transform(indptr.begin(), indptr.end(), offsets.begin(),
                 [](std::int64_t v) { return static_cast<std::int32_t>(v); });
  DeviceBuffer<std::int32_t> d(offsets.size(), ctx.stream());
  d.upload(offsets);
  return d;
}

DeviceCsr::DeviceCsr(CudaContext& ctx, const SparseMatrix& x, float shift)
    : rows(x.rows),
      cols(x.cols),
      nnz(x.nnz()),
      indptr(upload_offsets(ctx, x.indptr)),
      indices(static_cast<std::size_t>(x.nnz()), ctx.stream()),
      values(static_cast<std::size_t>(x.nnz()), ctx.stream()) {
  to_int32(nnz, "the number of ratings");
  indices.upload(x.indices);
  if (shift == 0.0f) {
    values.upload(x.values);
  } else {
    std::vector<float> shifted(x.values.size());
    std::transform(x.values.begin(), x.values.end(), shifted.begin(), [shift](float v) { return v - shift; });
    values.upload(shifted);
  }
  CINEFACTOR_CUDA_CHECK(cusparseCreateConstCsr(&descr, rows, cols, nnz, indptr.data(), indices.data(),
                                               values.data(), CUSPARSE_INDEX_32I, CUSPARSE_INDEX_32I,
                                               CUSPARSE_INDEX_BASE_ZERO, CUDA_R_32F));
}

DeviceCsr::~DeviceCsr() {
  if (descr) static_cast<void>(cusparseDestroySpMat(descr));
}

SpmmPlan::SpmmPlan(CudaContext& ctx, const DeviceCsr& a, const float* b, float* c, std::int64_t width,
                   cusparseOrder_t order)
    : ctx_(ctx),
      a_(a),
      // The algorithms cuSPARSE documents as fastest for each dense layout (CSR ALG2: row-major, ALG1 through
      // the default: column-major). Neither is documented as bit-wise deterministic: GPU runs may differ
      // from one another in the last bits, like the atomics of the fused kernels.
      alg_(order == CUSPARSE_ORDER_ROW ? CUSPARSE_SPMM_CSR_ALG2 : CUSPARSE_SPMM_ALG_DEFAULT) {
  try {
    const std::int64_t ldb = order == CUSPARSE_ORDER_ROW ? width : a.cols;
    const std::int64_t ldc = order == CUSPARSE_ORDER_ROW ? width : a.rows;
    CINEFACTOR_CUDA_CHECK(cusparseCreateConstDnMat(&b_, a.cols, width, ldb, b, CUDA_R_32F, order));
    CINEFACTOR_CUDA_CHECK(cusparseCreateDnMat(&c_, a.rows, width, ldc, c, CUDA_R_32F, order));
    const float one = 1.0f;
    const float zero = 0.0f;
    std::size_t bytes = 0;
    CINEFACTOR_CUDA_CHECK(cusparseSpMM_bufferSize(ctx.cusparse(), CUSPARSE_OPERATION_NON_TRANSPOSE,
                                                  CUSPARSE_OPERATION_NON_TRANSPOSE, &one, a.descr, b_, &zero,
                                                  c_, CUDA_R_32F, alg_, &bytes));
    buffer_ = DeviceBuffer<std::uint8_t>(bytes, ctx.stream());
  } catch (...) {
    // The destructor does not run for a constructor that throws.
    destroy_descriptors();
    throw;
  }
}

void SpmmPlan::destroy_descriptors() noexcept {
  if (b_) static_cast<void>(cusparseDestroyDnMat(b_));
  if (c_) static_cast<void>(cusparseDestroyDnMat(c_));
  b_ = nullptr;
  c_ = nullptr;
}

SpmmPlan::~SpmmPlan() {
  destroy_descriptors();
}

void SpmmPlan::run() {
  const float one = 1.0f;
  const float zero = 0.0f;
  CINEFACTOR_CUDA_CHECK(cusparseSpMM(ctx_.cusparse(), CUSPARSE_OPERATION_NON_TRANSPOSE,
                                     CUSPARSE_OPERATION_NON_TRANSPOSE, &one, a_.descr, b_, &zero, c_,
                                     CUDA_R_32F, alg_, buffer_.data()));
}

}  // namespace cinefactor::engine::cuda
