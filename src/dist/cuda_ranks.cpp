// NMF on CUDA ranks (see factorization.hpp): the CUDA backend's own iteration on this rank's users, its
// sums over users added across the ranks by NCCL on the device.
#include <fmt/format.h>

#include <exception>
#include <memory>

#include "cinefactor/device.hpp"
#include "cinefactor/error.hpp"
#include "dist/factorization.hpp"
#include "dist/nccl_sums.hpp"

namespace cinefactor::dist {

engine::IterationLog cuda_nmf_zero(Communicator& comm, const Partition& part, engine::NmfFactors& factors,
                                   const engine::IterationControl& control, Traffic& device_traffic) {
  // The node's devices, dealt out to the ranks placed on it by their rank on the node. A rank that cannot
  // have one stops every rank, with one message (agree).
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
  NcclSums sums(comm);  // after the backend: NCCL binds the device the backend made current
  auto log = backend->nmf_zero_across(part.data.ratings, factors, control, sums);
  device_traffic = sums.traffic();
  return log;
}

}  // namespace cinefactor::dist
