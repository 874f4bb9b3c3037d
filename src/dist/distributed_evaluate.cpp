// The distributed evaluate() (see distributed_evaluate.hpp).
#include "dist/distributed_evaluate.hpp"

#include <utility>

#include "cinefactor/error.hpp"
#include "dist/distributed_train.hpp"
#if CINEFACTOR_HAS_NCCL
#include "dist/cuda_ranks.hpp"
#endif
#include "eval/evaluation_protocol.hpp"

namespace cinefactor::dist {
namespace {

// The ranks of a job as the evaluation's process group.
class RankGroup final : public eval::ProcessGroup {
 public:
  explicit RankGroup(Communicator& comm) : comm_(comm) {}
  void sum(std::span<std::int64_t> values) override { comm_.sum(values); }
  void sum(std::span<double> values) override { comm_.sum(values); }
  void max(std::span<std::int64_t> values) override { comm_.max(values); }
  void min(std::span<std::int32_t> values) override { comm_.min(values); }

 private:
  Communicator& comm_;
};

// Where this rank's users sit in the single-process matrix: users in id order, each user's ratings
// together. O(users) per rank, like the user directory of the partition.
eval::RowPlacement placement_of(Communicator& comm, const Partition& part) {
  const auto& local = part.data.ratings;
  std::vector<std::int64_t> first(static_cast<std::size_t>(part.n_users()), 0);
  for (std::size_t r = 0; r < part.local_users.size(); ++r)
    first[static_cast<std::size_t>(part.local_users[r])] =
        local.by_user().row_nnz(static_cast<std::int32_t>(r));
  comm.sum(first);  // every user's rating count
  std::int64_t position = 0;
  for (auto& f : first) position += std::exchange(f, position);
  eval::RowPlacement placement{position, {}};
  placement.first_position.reserve(part.local_users.size());
  for (const auto u : part.local_users)
    placement.first_position.push_back(first[static_cast<std::size_t>(u)]);
  return placement;
}

}  // namespace

EvaluationResult evaluate_distributed(Communicator& comm, const Partition& part, const TrainOptions& train,
                                      const EvaluationOptions& options) {
  // The ranking's backend: each rank's CPU, or with --device cuda (CUDA ranks) its GPU.
  check_device(train);  // training's refusals, before the split and the device probe
  EvaluationOptions per_rank = options;
  per_rank.ranking.threads = std::max(1, train.threads);
  per_rank.ranking.backend = nullptr;
  per_rank.ranking.device = Device::cpu;
#if CINEFACTOR_HAS_NCCL
  if (train.device == Device::cuda) {
    per_rank.ranking.backend = cuda_rank_backend(comm);
    per_rank.ranking.device = Device::cuda;
  }
#endif
  RankGroup group(comm);
  const auto placement = placement_of(comm, part);
  const Trainer trainer = [&](const RatingMatrix& fold_train) {
    const Partition fold = with_ratings(comm, part, fold_train);
    return local_model(fold, fit_distributed(comm, fold, train));
  };
  return eval::evaluate_rows(part.data.ratings, placement, trainer, per_rank, group);
}

}  // namespace cinefactor::dist
