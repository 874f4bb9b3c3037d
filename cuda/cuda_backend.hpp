// The CUDA backend: the Backend interface on one device, with the same algorithms, update order and seeds
// as the CPU backend (cpu/), returning the same host structs. It owns one CudaContext (stream + cuBLAS /
// cuSPARSE / cuSOLVER handles) for its lifetime: every factorization and ranking of a command reuses it.
// The algorithms live in nmf.cpp, als.cpp, svd.cpp and ranking.cpp, as in cpu/.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cuda_context.hpp"
#include "engine/backend.hpp"
#include "engine/cuda_planning.hpp"
#include "engine/cuda_profile.hpp"
#include "kernel_timer.hpp"

namespace cinefactor::engine::cuda {

class CudaBackend final : public Backend, public CudaKernelProfile {
 public:
  explicit CudaBackend(int device);
  std::string device_description() const override;

  IterationLog nmf_zero(const RatingMatrix& ratings, NmfFactors& factors,
                        const IterationControl& control) override;
  IterationLog nmf_zero_across(const RatingMatrix& ratings, NmfFactors& factors,
                               const IterationControl& control, ProcessSums& across) override;
  IterationLog nmf_masked(const RatingMatrix& ratings, const MaskedNmfSettings& settings,
                          MaskedNmfState& state, const IterationControl& control) override;
  IterationLog implicit_als(const RatingMatrix& ratings, const AlsSettings& settings, AlsFactors& factors,
                            const IterationControl& control) override;
  SvdResult truncated_svd(const RatingMatrix& ratings, const SvdSettings& settings) override;
  std::vector<std::int32_t> rank_top_k(const RankingJob& job) override;

  void set_kernel_timing(bool on) override { timing_ = on; }
  std::vector<CudaKernelStats> kernel_stats() const override {
    return {zero_users_.stats, zero_movies_.stats, masked_users_.stats, masked_movies_.stats};
  }
  void reset_kernel_stats() override {
    for (KernelTimer* t : {&zero_users_, &zero_movies_, &masked_users_, &masked_movies_}) {
      t->stats.launches = 0;
      t->stats.seconds = 0.0;
      t->stats.bytes = 0.0;
    }
  }
  double peak_bandwidth_bytes_per_second() const override;

 private:
  void require_memory(const CudaWorkload& w, const std::string& what);
  // nmf_zero (across: null) and nmf_zero_across.
  IterationLog nmf_zero_run(const RatingMatrix& ratings, NmfFactors& factors, const IterationControl& control,
                            ProcessSums* across);
  void collect_timers();

  CudaContext ctx_;  // one stream and one set of library handles for the backend's lifetime
  bool timing_ = false;
  KernelTimer zero_users_;
  KernelTimer zero_movies_;
  KernelTimer masked_users_;
  KernelTimer masked_movies_;
};

}  // namespace cinefactor::engine::cuda
