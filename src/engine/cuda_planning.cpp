// The CUDA backend's limits and device-memory estimates (see cuda_planning.hpp): arithmetic only.
#include "engine/cuda_planning.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "cinefactor/error.hpp"

namespace cinefactor::engine {
namespace {

constexpr std::int64_t kFloat = 4;
constexpr std::int64_t kIndex = 4;
constexpr std::int64_t kDouble = 8;
// Reduction scalars a job keeps on the device (loss terms, partial sums).
constexpr std::int64_t kScalarSlots = 8;

double gib(std::int64_t bytes) {
  return static_cast<double>(bytes) / static_cast<double>(std::int64_t{1} << 30);
}

}  // namespace

CudaMemoryPlan estimate_cuda_memory(const CudaWorkload& w) {
  CudaMemoryPlan plan;
  // Both views: (rows + 1) offsets, nnz column indices, nnz values each.
  plan.matrix_bytes = (w.users + 1 + w.movies + 1) * kIndex + 2 * w.nnz * (kIndex + kFloat);
  const std::int64_t k = w.rank;
  const std::int64_t larger = std::max(w.users, w.movies);
  switch (w.job) {
    case CudaJob::nmf_zero:
      plan.factor_bytes = (w.users + w.movies) * k * kFloat;
      // Numerator (sparse product) and denominator (dense product) of the side being updated, both Gram
      // matrices in float and in double, and the per-block Gram products they are summed from.
      plan.work_bytes = 2 * larger * k * kFloat + 2 * k * k * (kFloat + kDouble) +
                        kCudaGramBlocks * k * k * kFloat + kScalarSlots * kDouble;
      break;
    case CudaJob::nmf_masked:
      plan.factor_bytes = (w.users + w.movies) * k * kFloat + (w.biases ? (w.users + w.movies) * kFloat : 0);
      // The fused kernels keep numerators and denominators in registers; the lists of long rows take at
      // most one index per row.
      plan.work_bytes = (w.users + w.movies) * kIndex + kScalarSlots * kDouble;
      break;
    case CudaJob::als:
      plan.factor_bytes = (w.users + w.movies) * k * kFloat;
      // The regularized Gram matrix in float and double, and the per-block Gram products; the CG vectors
      // live in registers.
      plan.work_bytes =
          k * k * (kFloat + kDouble) + kCudaGramBlocks * k * k * kFloat + kScalarSlots * kDouble;
      break;
    case CudaJob::svd: {
      const std::int64_t l = std::min<std::int64_t>(k + w.oversamples, std::min(w.users, w.movies));
      // Omega (movies x l) is freed before Z (movies x l) is allocated; Y (users x l); the QR's tau; the
      // l x k rotations of the small SVD (float), and its input, U, V^T, sigma and rwork (double).
      plan.work_bytes = (w.movies * l + w.users * l + l + 2 * l * k) * kFloat + (3 * l * l + 2 * l) * kDouble;
      plan.factor_bytes = (w.users + w.movies) * k * kFloat;
      break;
    }
  }
  return plan;
}

std::string cuda_memory_shortfall(const CudaMemoryPlan& plan, std::int64_t free_bytes,
                                  const std::string& what) {
  const std::int64_t needed = plan.total();
  if (needed <= free_bytes) return {};
  return fmt::format(
      "{} needs {} bytes ({:.2f} GiB: matrix {}, factors {}, work {}, library reserve {}) on the device "
      "but only {} bytes ({:.2f} GiB) are free",
      what, needed, gib(needed), plan.matrix_bytes, plan.factor_bytes, plan.work_bytes, plan.reserve_bytes,
      free_bytes, gib(free_bytes));
}

void require_cuda_memory(const CudaMemoryPlan& plan, std::int64_t free_bytes, const std::string& what) {
  if (std::string why = cuda_memory_shortfall(plan, free_bytes, what); !why.empty()) {
    throw CudaOutOfMemory(plan.total(), free_bytes, why);
  }
}

std::string cuda_unsupported(const CudaWorkload& w) {
  if (w.nnz > kCudaMaxNnz)
    return fmt::format("{} ratings exceed the CUDA backend's int32 index range", w.nnz);
  if (w.job == CudaJob::nmf_masked && w.rank > kCudaMaxMaskedRank) {
    return fmt::format("rank {} exceeds the CUDA masked NMF's maximum {}", w.rank, kCudaMaxMaskedRank);
  }
  if (w.job == CudaJob::als && w.rank > kCudaMaxAlsRank)
    return fmt::format("rank {} exceeds the CUDA implicit ALS's maximum {}", w.rank, kCudaMaxAlsRank);
  return {};
}

std::int64_t cuda_ranking_list_capacity(int k) {
  constexpr std::int64_t kSmallestList = 16;
  std::int64_t capacity = kSmallestList;
  while (capacity < k) capacity *= 2;
  return capacity;
}

namespace {

// Users of a batch that fit into free_bytes (may be < 1), and the plan of one user for the message.
struct RankingFit {
  std::int64_t users = 0;
  CudaMemoryPlan one_user;
};

RankingFit ranking_fit(const CudaRankingWorkload& w, std::int64_t free_bytes) {
  constexpr std::int64_t kListEntry = kFloat + kIndex;
  const std::int64_t lists =
      cuda_ranking_list_capacity(w.k) * kListEntry * kCudaRankingThreadsPerMultiprocessor * w.multiprocessors;
  const std::int64_t fixed = w.movies * (w.rank + 1) * kFloat + (w.users + 1 + w.excluded) * kIndex + lists +
                             kCudaLibraryReserveBytes;
  const std::int64_t per_user = (w.movies + w.rank) * kFloat + (w.k + 1) * kIndex;
  RankingFit fit;
  fit.users = free_bytes > fixed ? (free_bytes - fixed) / per_user : 0;
  fit.one_user.matrix_bytes = (w.users + 1 + w.excluded) * kIndex;
  fit.one_user.factor_bytes = w.movies * (w.rank + 1) * kFloat;
  fit.one_user.work_bytes = lists + per_user;
  return fit;
}

constexpr const char* kRankingOneUser = "ranking one user";

}  // namespace

std::int64_t cuda_ranking_batch(const CudaRankingWorkload& w, std::int64_t free_bytes) {
  const RankingFit fit = ranking_fit(w, free_bytes);
  if (fit.users < 1) require_cuda_memory(fit.one_user, free_bytes, kRankingOneUser);
  return std::max<std::int64_t>(
      1, std::min({fit.users, kCudaMaxRankingBatch, std::max<std::int64_t>(1, w.ranked_users)}));
}

std::string cuda_ranking_shortfall(const CudaRankingWorkload& w, std::int64_t free_bytes) {
  const RankingFit fit = ranking_fit(w, free_bytes);
  return fit.users < 1 ? cuda_memory_shortfall(fit.one_user, free_bytes, kRankingOneUser) : std::string();
}

std::string cuda_ranking_unsupported(const CudaRankingWorkload& w) {
  if (w.k > kCudaMaxRankingK) {
    return fmt::format("a ranking cut-off of {} exceeds the CUDA ranking's maximum {}", w.k,
                       kCudaMaxRankingK);
  }
  if (w.movies > kCudaMaxRankingMovies) {
    return fmt::format("{} movies exceed the CUDA ranking's maximum {}", w.movies, kCudaMaxRankingMovies);
  }
  if (w.excluded > kCudaMaxNnz) {
    return fmt::format("{} training ratings exceed the CUDA backend's int32 index range", w.excluded);
  }
  return {};
}

}  // namespace cinefactor::engine
