// The CUDA backend's planning, free of CUDA headers: its limits, and the device-memory estimates that
// decide, before anything is allocated, whether a job fits on the device (the device policy asks them;
// the backend checks them again against the memory free when it starts). Plain arithmetic, compiled in
// every build and unit-tested.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cinefactor/device.hpp"

namespace cinefactor::engine {

// Room kept for what the estimate cannot know in advance: the CUDA context's own allocations, the cuBLAS
// workspace (tens of MiB on Hopper), cuSPARSE SpMM buffers and the cuSOLVER workspaces.
inline constexpr std::int64_t kCudaLibraryReserveBytes = std::int64_t{256} << 20;

// The device kernels index ratings with int32 (cuSPARSE CUSPARSE_INDEX_32I offsets and columns).
inline constexpr std::int64_t kCudaMaxNnz = 2147483647;

// The widest rank the masked-NMF kernel keeps in registers (32 lanes x 8 factors per lane).
inline constexpr int kCudaMaxMaskedRank = 256;
// The same limit for the implicit-ALS conjugate-gradient kernel (x, r, p and Ap per lane in registers).
inline constexpr int kCudaMaxAlsRank = 256;

enum class CudaJob { nmf_zero, nmf_masked, svd, als };

struct CudaWorkload {
  CudaJob job = CudaJob::nmf_zero;
  std::int64_t users = 0;
  std::int64_t movies = 0;
  std::int64_t nnz = 0;
  int rank = 0;
  int oversamples = 0;  // svd: sketch width = min(rank + oversamples, min(users, movies))
  bool biases = false;  // nmf_masked
};

// Gram matrices are summed from at most this many row blocks (float products, added in double).
inline constexpr std::int64_t kCudaGramBlocks = 256;

// Device bytes one job needs, by kind. Every array the job allocates itself is counted at its size (the
// long-row lists at their largest); the libraries' own workspaces (cuBLAS, cuSPARSE SpMM buffers, the
// cuSOLVER QR and SVD work arrays) are what the reserve is for.
struct CudaMemoryPlan {
  std::int64_t matrix_bytes = 0;  // CSR + CSC: int32 offsets, int32 indices, float32 values
  std::int64_t factor_bytes = 0;  // the factor matrices (and biases) the job returns
  std::int64_t work_bytes = 0;    // per-job work arrays (SpMM outputs, Gram matrices, sketches, ...)
  std::int64_t reserve_bytes = kCudaLibraryReserveBytes;
  std::int64_t total() const noexcept { return matrix_bytes + factor_bytes + work_bytes + reserve_bytes; }
};

CudaMemoryPlan estimate_cuda_memory(const CudaWorkload& workload);

// "<what> needs N bytes (X GiB: ...) on the device but only M bytes (Y GiB) are free" when the plan does
// not fit into free_bytes, empty when it does.
std::string cuda_memory_shortfall(const CudaMemoryPlan& plan, std::int64_t free_bytes,
                                  const std::string& what);
// Throws CudaOutOfMemory with cuda_memory_shortfall's message when the plan does not fit.
void require_cuda_memory(const CudaMemoryPlan& plan, std::int64_t free_bytes, const std::string& what);

// Why the CUDA backend cannot run this job at all (an index range or a kernel limit), or empty.
std::string cuda_unsupported(const CudaWorkload& workload);

// ---------------------------------------------------------------------------------------------------
// Ranking on the device (the evaluation's batch scoring + top-k; see ranking_metrics)

// The longest list the GPU top-k keeps (each thread of a block keeps a best-first list of that size).
inline constexpr int kCudaMaxRankingK = 256;
// A user's excluded movies are a bitmap in shared memory: the 48 KiB a launch may take without opting in,
// less 128 bytes for the kernel's static shared memory.
inline constexpr std::int64_t kCudaMaxRankingMovies = (std::int64_t{48} * 1024 - 128) * 8;
// Each thread of the top-k kernel keeps its list (8-byte entries, capacity k rounded up to a power of two,
// at least 16) in local memory, which the driver reserves for every thread that can be resident.
inline constexpr std::int64_t kCudaRankingThreadsPerMultiprocessor = 2048;
std::int64_t cuda_ranking_list_capacity(int k);
// Users scored by one dense product; fewer when the device memory is short.
inline constexpr std::int64_t kCudaMaxRankingBatch = 4096;

struct CudaRankingWorkload {
  std::int64_t users = 0;  // rows of the user factors and of the excluded-movies matrix
  std::int64_t movies = 0;
  std::int64_t excluded = 0;  // entries of the excluded-movies matrix (the training ratings)
  int rank = 0;
  int k = 0;  // list length
  std::int64_t ranked_users = 0;
  int multiprocessors = 0;  // of the device: its local-memory reservation for the lists
};

// Users per batch so that everything fits into free_bytes (at most kCudaMaxRankingBatch and
// ranked_users): the movie factors and offsets, the excluded-movies CSR (offsets and indices), the
// kernel's local memory (lists of every resident thread) and the library reserve once, then per batch
// user a row of scores, its factors, its list and its index.
// Throws CudaOutOfMemory when not even one user fits.
std::int64_t cuda_ranking_batch(const CudaRankingWorkload& workload, std::int64_t free_bytes);
// Why not even one user fits into free_bytes (cuda_memory_shortfall's message), or empty.
std::string cuda_ranking_shortfall(const CudaRankingWorkload& workload, std::int64_t free_bytes);

// Why the GPU top-k cannot take this workload (k or movies over the limits above), or empty.
std::string cuda_ranking_unsupported(const CudaRankingWorkload& workload);

}  // namespace cinefactor::engine
