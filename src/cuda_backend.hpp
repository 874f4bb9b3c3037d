// The host-side face of the CUDA backend, free of CUDA headers: the factory (defined in cuda/ when the
// build has CUDA) and the device-memory estimate that decides, before anything is allocated, whether a
// run fits on the device. The estimate is plain arithmetic, compiled in every build and unit-tested.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "factorizer.hpp"

namespace cinefactor::engine {

// Room kept for what the estimate cannot know in advance: the CUDA context's own allocations, cuBLAS
// workspaces, cuSPARSE SpMM buffers and the cuSOLVER QR workspace (each a few MiB at k <= 256).
inline constexpr std::int64_t kCudaLibraryReserveBytes = std::int64_t{256} << 20;

// The device kernels index ratings with int32 (cuSPARSE CUSPARSE_INDEX_32I offsets and columns).
inline constexpr std::int64_t kCudaMaxNnz = 2147483647;

// The widest rank the masked-NMF kernel keeps in registers (32 lanes x 8 factors per lane).
inline constexpr int kCudaMaxMaskedRank = 256;

enum class CudaJob { nmf_zero, nmf_masked, svd };

struct CudaWorkload {
  CudaJob job = CudaJob::nmf_zero;
  std::int64_t users = 0;
  std::int64_t movies = 0;
  std::int64_t nnz = 0;
  int rank = 0;
  int oversamples = 0;  // svd: sketch width = min(rank + oversamples, min(users, movies))
  bool biases = false;  // nmf_masked
};

// Device bytes one job needs, by kind. Every device array is counted at its exact size.
struct CudaMemoryPlan {
  std::int64_t matrix_bytes = 0;   // CSR + CSC: int32 offsets, int32 indices, float32 values
  std::int64_t factor_bytes = 0;   // the factor matrices (and biases) the job returns
  std::int64_t work_bytes = 0;     // per-job work arrays (SpMM outputs, Gram matrices, sketches, ...)
  std::int64_t reserve_bytes = kCudaLibraryReserveBytes;
  std::int64_t total() const noexcept { return matrix_bytes + factor_bytes + work_bytes + reserve_bytes; }
};

CudaMemoryPlan estimate_cuda_memory(const CudaWorkload& workload);

// Throws CudaOutOfMemory("<what> needs N bytes (X GiB) on the device but only M bytes (Y GiB) are free")
// when the plan does not fit into free_bytes.
void require_cuda_memory(const CudaMemoryPlan& plan, std::int64_t free_bytes, const std::string& what);

// Per-kernel timing of the CUDA factorizer's own fused kernels (cudaEvent pairs around each launch),
// for the benchmarks: bytes are the kernel's logical traffic (every array element it reads or writes
// counted once per access, gathered factor rows included), so bytes / seconds is its effective bandwidth.
struct CudaKernelStats {
  std::string name;
  std::int64_t launches = 0;
  double seconds = 0.0;
  double bytes = 0.0;
};

// Implemented by the CUDA factorizer next to Factorizer (reach it with dynamic_cast).
class CudaKernelProfile {
 public:
  virtual ~CudaKernelProfile() = default;
  // Off by default: the events add a little host work per launch.
  virtual void set_kernel_timing(bool on) = 0;
  virtual std::vector<CudaKernelStats> kernel_stats() const = 0;
  virtual void reset_kernel_stats() = 0;
  // 2 x memory clock x bus width (double data rate), from cudaDeviceProp.
  virtual double peak_bandwidth_bytes_per_second() const = 0;
};

// The CUDA factorizer on device `device` (the build must have CUDA; the device must exist). Throws
// CudaError when the device cannot be initialized.
std::unique_ptr<Factorizer> make_cuda_factorizer(int device);

}  // namespace cinefactor::engine
