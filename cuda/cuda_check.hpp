// One check-macro family for the CUDA runtime and the CUDA libraries: CINEFACTOR_CUDA_CHECK(call)
// evaluates the call once and, on any status other than success, throws cinefactor::CudaError with the
// call's text, the status name and description, file and line. The status type picks the library's
// naming functions through StatusTraits (the style of ggml's CUDA_CHECK_GEN and raft's *_TRY macros).
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cusolverDn.h>
#include <cusparse.h>

#include <string>
#include <type_traits>

#include "cinefactor/error.hpp"

namespace cinefactor::engine::cuda {

template <typename Status>
struct StatusTraits;

template <>
struct StatusTraits<cudaError_t> {
  static constexpr cudaError_t kSuccess = cudaSuccess;
  static std::string name(cudaError_t s) { return cudaGetErrorName(s); }
  static std::string text(cudaError_t s) { return cudaGetErrorString(s); }
};

template <>
struct StatusTraits<cublasStatus_t> {
  static constexpr cublasStatus_t kSuccess = CUBLAS_STATUS_SUCCESS;
  static std::string name(cublasStatus_t s) { return cublasGetStatusName(s); }
  static std::string text(cublasStatus_t s) { return cublasGetStatusString(s); }
};

template <>
struct StatusTraits<cusparseStatus_t> {
  static constexpr cusparseStatus_t kSuccess = CUSPARSE_STATUS_SUCCESS;
  static std::string name(cusparseStatus_t s) { return cusparseGetErrorName(s); }
  static std::string text(cusparseStatus_t s) { return cusparseGetErrorString(s); }
};

// cuSOLVER has no status-to-string function.
const char* cusolver_status_name(cusolverStatus_t s) noexcept;
const char* cusolver_status_text(cusolverStatus_t s) noexcept;

template <>
struct StatusTraits<cusolverStatus_t> {
  static constexpr cusolverStatus_t kSuccess = CUSOLVER_STATUS_SUCCESS;
  static std::string name(cusolverStatus_t s) { return cusolver_status_name(s); }
  static std::string text(cusolverStatus_t s) { return cusolver_status_text(s); }
};

template <typename Status>
[[noreturn]] void throw_cuda_error(Status status, const char* call, const char* file, int line) {
  if constexpr (std::is_same_v<Status, cudaError_t>) cudaGetLastError();  // clear a non-sticky runtime error
  throw CudaError(call, StatusTraits<Status>::name(status), StatusTraits<Status>::text(status), file, line);
}

template <typename Status>
inline void check_status(Status status, const char* call, const char* file, int line) {
  if (status != StatusTraits<Status>::kSuccess) throw_cuda_error(status, call, file, line);
}

// Before a kernel launch: cudaGetLastError reports the last error of ANY earlier runtime call on this
// thread, so one that was already handled (a probe on a machine without a device, a failed free in a
// destructor) is cleared first and the check after the launch reports the launch's own error.
inline void clear_stale_error() noexcept {
  static_cast<void>(cudaGetLastError());
}

}  // namespace cinefactor::engine::cuda

#define CINEFACTOR_CUDA_CHECK(call) \
  ::cinefactor::engine::cuda::check_status((call), #call, __FILE__, __LINE__)
// After a kernel launch: the launch configuration error, if any.
#define CINEFACTOR_CUDA_CHECK_LAUNCH() CINEFACTOR_CUDA_CHECK(cudaGetLastError())
