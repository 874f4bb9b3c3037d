// The device policy (see device_policy.hpp).
#include "engine/device_policy.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cinefactor/error.hpp"

namespace cinefactor::engine {
namespace {

double gib(std::int64_t bytes) {
  return static_cast<double>(bytes) / static_cast<double>(std::int64_t{1} << 30);
}

// Why `workload` cannot run on `device`, or empty.
std::string unfit(const DeviceWorkload& workload, const CudaDevice& device) {
  const std::string where = fmt::format("cuda:{}", device.index);
  for (const CudaWorkload& job : workload.factorizations) {
    if (std::string why = cuda_unsupported(job); !why.empty()) return why;
    if (std::string why =
            cuda_memory_shortfall(estimate_cuda_memory(job), device.free_memory, "training on " + where);
        !why.empty()) {
      return why;
    }
  }
  if (workload.ranking) {
    CudaRankingWorkload ranking = *workload.ranking;
    ranking.multiprocessors = device.multiprocessors;
    if (std::string why = cuda_ranking_unsupported(ranking); !why.empty()) return why;
    if (std::string why = cuda_ranking_shortfall(ranking, device.free_memory); !why.empty()) return why;
  }
  return {};
}

}  // namespace

std::string first_cuda_device(CudaDevice* device) {
  if (!CINEFACTOR_HAS_CUDA) return "this build has no CUDA backend";
  const CudaProbe probe = probe_cuda();
  if (probe.devices.empty()) return probe.reason;
  *device = probe.devices.front();
  return {};
}

DeviceWorkload training_workload(const RatingMatrix& ratings, const TrainOptions& o) {
  DeviceWorkload w;
  if (o.algorithm == Algorithm::als) {
    w.factorizations.push_back(
        {CudaJob::als, ratings.n_users(), ratings.n_movies(), ratings.nnz(), o.rank, 0, false});
    return w;
  }
  if (o.algorithm != Algorithm::nmf && o.algorithm != Algorithm::svd) {
    w.host_only = true;
    return w;
  }
  const CudaWorkload svd{CudaJob::svd,  ratings.n_users(), ratings.n_movies(), ratings.nnz(), o.rank,
                         o.oversamples, o.biases};
  if (o.algorithm == Algorithm::svd || o.init == NmfInit::nndsvda) w.factorizations.push_back(svd);
  if (o.algorithm == Algorithm::nmf) {
    CudaWorkload nmf = svd;
    nmf.job = o.objective == NmfObjective::zero ? CudaJob::nmf_zero : CudaJob::nmf_masked;
    w.factorizations.push_back(nmf);
  }
  return w;
}

CudaRankingWorkload ranking_workload(std::int32_t rank, const RatingMatrix& train, int k) {
  return {train.n_users(), train.n_movies(), train.nnz(), rank, k, train.n_users(), 0};
}

CudaRankingWorkload ranking_workload(const Model& model, const RatingMatrix& train, int k) {
  return ranking_workload(model.rank(), train, k);
}

std::shared_ptr<Backend> select_backend(Device device, int threads, const CudaRankingWorkload& ranking) {
  DeviceWorkload w;
  w.ranking = ranking;
  return select_backend(device, threads, w);
}

std::shared_ptr<Backend> select_backend(Device device, int threads, const DeviceWorkload& workload) {
  if (device == Device::cpu || workload.host_only) return make_cpu_backend(threads);
  CudaDevice cuda;
  std::string why_not = first_cuda_device(&cuda);
  if (why_not.empty()) why_not = unfit(workload, cuda);
  if (why_not.empty()) {
    try {
      std::shared_ptr<Backend> backend = make_cuda_backend(cuda.index);
      if (device == Device::automatic) {
        spdlog::info("device auto: running on cuda:{} ({}, {:.1f} GiB free)", cuda.index, cuda.name,
                     gib(cuda.free_memory));
      }
      return backend;
    } catch (const CudaError& e) {
      if (device == Device::cuda) throw;
      why_not = fmt::format("cuda:{} failed to initialize: {}", cuda.index, e.what());
    }
  }
  if (device == Device::cuda) throw Error("--device cuda: no usable CUDA device: " + why_not);
  spdlog::info("device auto: running on the CPU ({})", why_not);
  return make_cpu_backend(threads);
}

}  // namespace cinefactor::engine
