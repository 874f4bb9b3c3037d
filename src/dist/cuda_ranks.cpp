// CUDA ranks (see cuda_ranks.hpp): a GPU per rank, and NMF as the CUDA backend's own iteration on the rank's
// users, its sums over users added across the ranks by NCCL on the device.
#include "dist/cuda_ranks.hpp"

#include <fmt/format.h>

#include <exception>
#include <memory>

#include "cinefactor/device.hpp"
#include "cinefactor/error.hpp"
#include "dist/nccl_sums.hpp"

namespace cinefactor::dist {

std::unique_ptr<engine::Backend> cuda_rank_backend(Communicator& comm) {
  const auto place = comm.node_place();
  std::unique_ptr<engine::Backend> backend;
  std::exception_ptr error;
  try {
    const CudaProbe probe = probe_cuda();
    if (probe.devices.empty())
      throw Error(fmt::format("--device cuda: no usable CUDA device on this rank's node: {}", probe.reason));
    const auto devices = static_cast<int>(probe.devices.size());
    if (place.size > devices) {
      throw Error(fmt::format(
          "--device cuda: {} ranks on this node and {} CUDA device{}; NCCL needs one device per rank: start "
          "at most {} per node",
          place.size, devices, devices == 1 ? "" : "s", devices));
    }
    backend = engine::make_cuda_backend(probe.devices[static_cast<std::size_t>(place.rank)].index);
  } catch (...) {
    error = std::current_exception();
  }
  comm.agree(error);
  return backend;
}

engine::IterationLog cuda_nmf_zero(Communicator& comm, const Partition& part, engine::NmfFactors& factors,
                                   const engine::IterationControl& control, Traffic& device_traffic) {
  const std::unique_ptr<engine::Backend> backend = cuda_rank_backend(comm);
  NcclSums sums(comm);  // after the backend: NCCL binds the device the backend made current
  auto log = backend->nmf_zero_across(part.data.ratings, factors, control, sums);
  device_traffic = sums.traffic();
  return log;
}

}  // namespace cinefactor::dist
