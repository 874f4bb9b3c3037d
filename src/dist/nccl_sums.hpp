// Sums over the ranks of a distributed job on the memory of each rank's GPU, through NCCL (built with
// CINEFACTOR_MPI and CINEFACTOR_CUDA when nccl.h is found: CINEFACTOR_WITH_NCCL; libnccl.so.2 is loaded
// when the first one is made). The NCCL communicator is bootstrapped by an MPI broadcast of rank 0's unique
// id and spans the same ranks as the Communicator; it uses the CUDA device current when it is made (the
// rank's backend's device).
#pragma once

#include <cstdint>
#include <memory>

#include "dist/communicator.hpp"
#include "engine/backend.hpp"

namespace cinefactor::dist {

class NcclSums final : public engine::ProcessSums {
 public:
  explicit NcclSums(Communicator& comm);
  ~NcclSums() override;
  NcclSums(const NcclSums&) = delete;
  NcclSums& operator=(const NcclSums&) = delete;

  // In place, on the device, on the backend's stream (ncclAllReduce; every rank gets the same values).
  void sum(float* device_values, std::int64_t count, void* stream) override;
  void sum(double* device_values, std::int64_t count, void* stream) override;
  // A host value, through MPI.
  double sum(double value) override;

  // What went through NCCL: calls and payload bytes (the time is the stream's, not measured here).
  const Traffic& traffic() const noexcept { return traffic_; }

 private:
  // One in-place ncclAllReduce (sum) of `count` elements of NCCL type `type` (an ncclDataType_t), accounted.
  void all_reduce(void* device_values, std::int64_t count, int type, std::size_t bytes, void* stream);

  struct State;
  Communicator& comm_;
  std::unique_ptr<State> state_;
  Traffic traffic_;
};

}  // namespace cinefactor::dist
