// CudaContext and the cuSOLVER status names (see cuda_context.hpp, cuda_check.hpp).
#include "cuda_context.hpp"

namespace cinefactor::engine::cuda {

const char* cusolver_status_name(cusolverStatus_t s) noexcept {
  switch (s) {
    case CUSOLVER_STATUS_SUCCESS:
      return "CUSOLVER_STATUS_SUCCESS";
    case CUSOLVER_STATUS_NOT_INITIALIZED:
      return "CUSOLVER_STATUS_NOT_INITIALIZED";
    case CUSOLVER_STATUS_ALLOC_FAILED:
      return "CUSOLVER_STATUS_ALLOC_FAILED";
    case CUSOLVER_STATUS_INVALID_VALUE:
      return "CUSOLVER_STATUS_INVALID_VALUE";
    case CUSOLVER_STATUS_ARCH_MISMATCH:
      return "CUSOLVER_STATUS_ARCH_MISMATCH";
    case CUSOLVER_STATUS_EXECUTION_FAILED:
      return "CUSOLVER_STATUS_EXECUTION_FAILED";
    case CUSOLVER_STATUS_INTERNAL_ERROR:
      return "CUSOLVER_STATUS_INTERNAL_ERROR";
    case CUSOLVER_STATUS_MATRIX_TYPE_NOT_SUPPORTED:
      return "CUSOLVER_STATUS_MATRIX_TYPE_NOT_SUPPORTED";
    case CUSOLVER_STATUS_NOT_SUPPORTED:
      return "CUSOLVER_STATUS_NOT_SUPPORTED";
    default:
      return "CUSOLVER_STATUS_UNKNOWN";
  }
}

const char* cusolver_status_text(cusolverStatus_t s) noexcept {
  switch (s) {
    case CUSOLVER_STATUS_SUCCESS:
      return "success";
    case CUSOLVER_STATUS_NOT_INITIALIZED:
      return "the cuSOLVER library was not initialized";
    case CUSOLVER_STATUS_ALLOC_FAILED:
      return "resource allocation failed inside cuSOLVER";
    case CUSOLVER_STATUS_INVALID_VALUE:
      return "an unsupported value or parameter was passed";
    case CUSOLVER_STATUS_ARCH_MISMATCH:
      return "the device does not support the feature";
    case CUSOLVER_STATUS_EXECUTION_FAILED:
      return "the GPU program failed to execute";
    case CUSOLVER_STATUS_INTERNAL_ERROR:
      return "an internal cuSOLVER operation failed";
    case CUSOLVER_STATUS_MATRIX_TYPE_NOT_SUPPORTED:
      return "the matrix type is not supported";
    case CUSOLVER_STATUS_NOT_SUPPORTED:
      return "the operation is not supported";
    default:
      return "unknown cuSOLVER status";
  }
}

CudaContext::CudaContext(int device) : device_(device) {
  CINEFACTOR_CUDA_CHECK(cudaSetDevice(device));
  CINEFACTOR_CUDA_CHECK(cudaGetDeviceProperties(&properties_, device));
  CINEFACTOR_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
}

CudaContext::~CudaContext() {
  // Destructors cannot throw: wait for outstanding work, then release, ignoring failures.
  if (stream_) static_cast<void>(cudaStreamSynchronize(stream_));
  if (cusolver_) static_cast<void>(cusolverDnDestroy(cusolver_));
  if (cusparse_) static_cast<void>(cusparseDestroy(cusparse_));
  if (cublas_) static_cast<void>(cublasDestroy(cublas_));
  if (stream_) static_cast<void>(cudaStreamDestroy(stream_));
}

void CudaContext::activate() const {
  CINEFACTOR_CUDA_CHECK(cudaSetDevice(device_));
}

void CudaContext::synchronize() const {
  CINEFACTOR_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

std::int64_t CudaContext::free_memory() const {
  activate();
  // cudaFreeAsync returns memory to the pool only once the stream reaches the free; the pool releases
  // it to the device at the next synchronization.
  synchronize();
  std::size_t free_bytes = 0;
  std::size_t total_bytes = 0;
  CINEFACTOR_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
  return static_cast<std::int64_t>(free_bytes);
}

namespace {

// A library handle just created, configured by `configure`; destroyed again when configuring fails, so
// that no handle is ever kept without its stream or settings.
template <typename Handle, typename Destroy, typename Configure>
Handle configured(Handle handle, Destroy destroy, Configure configure) {
  try {
    configure(handle);
  } catch (...) {
    static_cast<void>(destroy(handle));
    throw;
  }
  return handle;
}

}  // namespace

cublasHandle_t CudaContext::cublas() {
  if (!cublas_) {
    cublasHandle_t handle = nullptr;
    CINEFACTOR_CUDA_CHECK(cublasCreate(&handle));
    cublas_ = configured(handle, cublasDestroy, [this](cublasHandle_t h) {
      CINEFACTOR_CUDA_CHECK(cublasSetStream(h, stream_));
      // Results must not depend on the run: no TF32 or other reduced-precision tensor-core paths.
      CINEFACTOR_CUDA_CHECK(cublasSetMathMode(h, CUBLAS_PEDANTIC_MATH));
    });
  }
  return cublas_;
}

cusparseHandle_t CudaContext::cusparse() {
  if (!cusparse_) {
    cusparseHandle_t handle = nullptr;
    CINEFACTOR_CUDA_CHECK(cusparseCreate(&handle));
    cusparse_ = configured(handle, cusparseDestroy, [this](cusparseHandle_t h) {
      CINEFACTOR_CUDA_CHECK(cusparseSetStream(h, stream_));
    });
  }
  return cusparse_;
}

cusolverDnHandle_t CudaContext::cusolver() {
  if (!cusolver_) {
    cusolverDnHandle_t handle = nullptr;
    CINEFACTOR_CUDA_CHECK(cusolverDnCreate(&handle));
    cusolver_ = configured(handle, cusolverDnDestroy, [this](cusolverDnHandle_t h) {
      CINEFACTOR_CUDA_CHECK(cusolverDnSetStream(h, stream_));
    });
  }
  return cusolver_;
}

}  // namespace cinefactor::engine::cuda
