// The ranks of a distributed job and the collectives the distributed algorithms use, over MPI
// (MPI_COMM_WORLD). Every collective is called by every rank in the same order; a result that a rank
// takes a decision on (a loss, a count, a Gram matrix) is bit-identical on every rank (reduced on one
// rank and broadcast, or reduce-scattered and gathered), so no two ranks can decide differently.
//
// Traffic: every call adds the bytes this rank contributes to it (its payload, not the wire bytes the
// MPI library's algorithm moves) to counters, for the communication figures of bench/README.md.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <exception>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "cinefactor/error.hpp"

namespace cinefactor::dist {

// Throws Error("MPI: <call> failed: <MPI's text>") unless status is MPI_SUCCESS (MPI_COMM_WORLD returns
// errors instead of aborting: see Communicator).
void check_mpi(int status, const char* call);

struct Traffic {
  std::int64_t calls = 0;
  std::int64_t bytes = 0;  // this rank's payload
  double seconds = 0.0;    // wall time inside MPI calls, waiting included
};

// A failure every rank of the job throws alike (Communicator::agree).
class SharedFailure : public Error {
 public:
  using Error::Error;
};

class Communicator {
 public:
  // MPI_Init_thread (funneled: only the thread that calls these methods ever enters MPI); the
  // destructor finalizes.
  Communicator(int* argc, char*** argv);
  ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const noexcept { return rank_; }
  // This rank's place among the ranks on its node (shared memory), and how many there are.
  struct NodePlace {
    int rank = 0;
    int size = 1;
  };
  NodePlace node_place() const;
  int size() const noexcept { return size_; }
  bool root() const noexcept { return rank_ == 0; }

  // In-place sums, identical on every rank (reduced on rank 0, then broadcast): scalars, k x k Grams.
  void sum(std::span<double> values);
  void sum(std::span<std::int64_t> values);
  // In-place element-wise maximum or minimum (identical on every rank).
  void max(std::span<std::uint8_t> values);
  void max(std::span<std::int64_t> values);
  void min(std::span<std::int32_t> values);
  // The sum of `value` over the ranks below this one (0 on rank 0).
  std::int64_t exclusive_sum(std::int64_t value);

  // Large sums for a replicated result: every rank contributes a full `values` array; rank r receives
  // the sum of its block, elements [offsets[r], offsets[r + 1]) (reduce-scatter, one rank computes each
  // block), into `block`.
  void reduce_scatter_sum(std::span<const float> values, std::span<float> block,
                          const std::vector<std::int64_t>& offsets);
  void reduce_scatter_sum(std::span<const double> values, std::span<double> block,
                          const std::vector<std::int64_t>& offsets);
  // Every rank's block [offsets[r], offsets[r + 1]) of `values`, already in place, copied to every
  // other rank (all-gather): afterwards `values` is identical everywhere.
  void all_gather(std::span<float> values, const std::vector<std::int64_t>& offsets);
  void all_gather(std::span<double> values, const std::vector<std::int64_t>& offsets);

  // Records of a trivially copyable type: every rank's `mine`, concatenated in rank order, on every rank.
  template <class T>
  std::vector<T> all_gather_records(std::span<const T> mine);
  // Records of a trivially copyable type: every rank's `mine`, concatenated in rank order, on rank `root`
  // only (empty elsewhere).
  template <class T>
  std::vector<T> gather_records(std::span<const T> mine, int root);
  // Records to other ranks: to[r] goes to rank r; returns what every rank sent here, concatenated in
  // rank order (each sender's records in the order it listed them).
  template <class T>
  std::vector<T> exchange(const std::vector<std::vector<T>>& to);

  void broadcast(std::string& text, int from);
  void broadcast(std::span<double> values, int from);

  // Called by every rank after a step that may have failed on some of them (`error` null where it
  // succeeded). When any rank failed, every rank throws the same Error, "rank R: <what>", for the
  // failure that comes first: the lowest `order` (a data file's line number; 0 for failures without
  // one), then the lowest rank. No rank is left waiting in a collective for one that gave up. The Error
  // is a SharedFailure: every rank knows it, so one of them can report it for all.
  void agree(std::exception_ptr error, std::int64_t order = 0);

  // Ends the job now, from one rank, after an error in the middle of the collectives (the others may
  // be waiting in one): prints "cinefactor: rank R: <what>" and aborts every rank with exit status 1.
  [[noreturn]] void abort(const std::string& what) const;

  const Traffic& traffic() const noexcept { return traffic_; }
  void reset_traffic() noexcept { traffic_ = {}; }

 private:
  // MPI_Datatype of `bytes` contiguous bytes (committed once, freed at finalize), so record counts
  // and not byte counts travel in MPI's int arguments.
  MPI_Datatype record_type(std::size_t bytes);
  // One in-place MPI_Allreduce of `count` elements of `bytes` each, accounted.
  void all_reduce(void* values, std::size_t count, std::size_t bytes, MPI_Datatype type, MPI_Op op);
  void account(std::int64_t bytes, double seconds) noexcept;
  std::vector<int> block_counts(const std::vector<std::int64_t>& offsets) const;

  int rank_ = 0;
  int size_ = 1;
  Traffic traffic_;
  std::vector<std::pair<std::size_t, MPI_Datatype>> record_types_;
};

// ---- templates ----

template <class T>
std::vector<T> Communicator::all_gather_records(std::span<const T> mine) {
  static_assert(std::is_trivially_copyable_v<T>);
  const double start = MPI_Wtime();
  const MPI_Datatype type = record_type(sizeof(T));
  int count = static_cast<int>(mine.size());
  std::vector<int> counts(static_cast<std::size_t>(size_));
  check_mpi(MPI_Allgather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, MPI_COMM_WORLD), "MPI_Allgather");
  std::vector<int> displs(counts.size(), 0);
  std::int64_t total = 0;
  for (std::size_t r = 0; r < counts.size(); ++r) {
    displs[r] = static_cast<int>(total);
    total += counts[r];
  }
  std::vector<T> all(static_cast<std::size_t>(total));
  check_mpi(MPI_Allgatherv(mine.data(), count, type, all.data(), counts.data(), displs.data(), type,
                           MPI_COMM_WORLD),
            "MPI_Allgatherv");
  account(static_cast<std::int64_t>(mine.size_bytes()), MPI_Wtime() - start);
  return all;
}

template <class T>
std::vector<T> Communicator::gather_records(std::span<const T> mine, int root) {
  static_assert(std::is_trivially_copyable_v<T>);
  const double start = MPI_Wtime();
  const MPI_Datatype type = record_type(sizeof(T));
  int count = static_cast<int>(mine.size());
  std::vector<int> counts(static_cast<std::size_t>(size_));
  check_mpi(MPI_Gather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, root, MPI_COMM_WORLD), "MPI_Gather");
  std::vector<int> displs(counts.size(), 0);
  std::int64_t total = 0;
  for (std::size_t r = 0; r < counts.size(); ++r) {
    displs[r] = static_cast<int>(total);
    total += rank_ == root ? counts[r] : 0;
  }
  std::vector<T> all(static_cast<std::size_t>(total));
  check_mpi(MPI_Gatherv(mine.data(), count, type, all.data(), counts.data(), displs.data(), type, root,
                        MPI_COMM_WORLD),
            "MPI_Gatherv");
  account(static_cast<std::int64_t>(mine.size_bytes()), MPI_Wtime() - start);
  return all;
}

template <class T>
std::vector<T> Communicator::exchange(const std::vector<std::vector<T>>& to) {
  static_assert(std::is_trivially_copyable_v<T>);
  const double start = MPI_Wtime();
  const MPI_Datatype type = record_type(sizeof(T));
  const auto p = static_cast<std::size_t>(size_);
  std::vector<int> send_counts(p), send_displs(p), recv_counts(p), recv_displs(p);
  std::vector<T> send;
  std::int64_t bytes = 0;
  for (std::size_t r = 0; r < p; ++r) {
    send_counts[r] = static_cast<int>(to[r].size());
    send_displs[r] = static_cast<int>(send.size());
    send.insert(send.end(), to[r].begin(), to[r].end());
    if (static_cast<int>(r) != rank_) bytes += static_cast<std::int64_t>(to[r].size() * sizeof(T));
  }
  check_mpi(MPI_Alltoall(send_counts.data(), 1, MPI_INT, recv_counts.data(), 1, MPI_INT, MPI_COMM_WORLD),
            "MPI_Alltoall");
  std::int64_t total = 0;
  for (std::size_t r = 0; r < p; ++r) {
    recv_displs[r] = static_cast<int>(total);
    total += recv_counts[r];
  }
  std::vector<T> received(static_cast<std::size_t>(total));
  MPI_Alltoallv(send.data(), send_counts.data(), send_displs.data(), type, received.data(),
                recv_counts.data(), recv_displs.data(), type, MPI_COMM_WORLD);
  account(bytes, MPI_Wtime() - start);
  return received;
}

}  // namespace cinefactor::dist
