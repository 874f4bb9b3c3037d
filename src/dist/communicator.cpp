// MPI collectives of the distributed layer (see communicator.hpp).
#include "dist/communicator.hpp"

#include <fmt/format.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "cinefactor/error.hpp"
#include "core/text.hpp"

namespace cinefactor::dist {
namespace {

template <class T>
MPI_Datatype mpi_type();
template <>
MPI_Datatype mpi_type<float>() {
  return MPI_FLOAT;
}
template <>
MPI_Datatype mpi_type<double>() {
  return MPI_DOUBLE;
}

}  // namespace

void check_mpi(int status, const char* call) {
  if (status == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(status, text, &length);
  throw Error(fmt::format("MPI: {} failed: {}", call, std::string(text, static_cast<std::size_t>(length))));
}

Communicator::Communicator(int* argc, char*** argv) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    check_mpi(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  }
  // Errors come back as status codes (turned into exceptions above) instead of aborting inside MPI.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

Communicator::~Communicator() {
  for (auto& [bytes, type] : record_types_) MPI_Type_free(&type);
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

Communicator::NodePlace Communicator::node_place() const {
  MPI_Comm node = MPI_COMM_NULL;
  check_mpi(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node),
            "MPI_Comm_split_type");
  NodePlace place;
  MPI_Comm_rank(node, &place.rank);
  MPI_Comm_size(node, &place.size);
  MPI_Comm_free(&node);
  return place;
}

void Communicator::account(std::int64_t bytes, double seconds) noexcept {
  ++traffic_.calls;
  traffic_.bytes += bytes;
  traffic_.seconds += seconds;
}

MPI_Datatype Communicator::record_type(std::size_t bytes) {
  for (const auto& [size, type] : record_types_) {
    if (size == bytes) return type;
  }
  MPI_Datatype type = MPI_DATATYPE_NULL;
  check_mpi(MPI_Type_contiguous(static_cast<int>(bytes), MPI_BYTE, &type), "MPI_Type_contiguous");
  check_mpi(MPI_Type_commit(&type), "MPI_Type_commit");
  record_types_.emplace_back(bytes, type);
  return type;
}

void Communicator::sum(std::span<double> values) {
  const double start = MPI_Wtime();
  std::vector<double> total(values.size());
  check_mpi(MPI_Reduce(values.data(), total.data(), static_cast<int>(values.size()), MPI_DOUBLE, MPI_SUM, 0,
                       MPI_COMM_WORLD),
            "MPI_Reduce");
  if (rank_ == 0) std::copy(total.begin(), total.end(), values.begin());
  check_mpi(MPI_Bcast(values.data(), static_cast<int>(values.size()), MPI_DOUBLE, 0, MPI_COMM_WORLD),
            "MPI_Bcast");
  account(static_cast<std::int64_t>(values.size_bytes()), MPI_Wtime() - start);
}

void Communicator::all_reduce(void* values, std::size_t count, std::size_t bytes, MPI_Datatype type,
                              MPI_Op op) {
  const double start = MPI_Wtime();
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, values, static_cast<int>(count), type, op, MPI_COMM_WORLD),
            "MPI_Allreduce");
  account(static_cast<std::int64_t>(count * bytes), MPI_Wtime() - start);
}

void Communicator::sum(std::span<std::int64_t> values) {
  // Integer sums are exact in any order: one all-reduce.
  all_reduce(values.data(), values.size(), sizeof(std::int64_t), MPI_INT64_T, MPI_SUM);
}

void Communicator::max(std::span<std::uint8_t> values) {
  all_reduce(values.data(), values.size(), sizeof(std::uint8_t), MPI_UINT8_T, MPI_MAX);
}

void Communicator::max(std::span<std::int64_t> values) {
  all_reduce(values.data(), values.size(), sizeof(std::int64_t), MPI_INT64_T, MPI_MAX);
}

void Communicator::min(std::span<std::int32_t> values) {
  all_reduce(values.data(), values.size(), sizeof(std::int32_t), MPI_INT32_T, MPI_MIN);
}

std::int64_t Communicator::exclusive_sum(std::int64_t value) {
  std::int64_t below = 0;
  check_mpi(MPI_Exscan(&value, &below, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD), "MPI_Exscan");
  return rank_ == 0 ? 0 : below;  // MPI leaves rank 0's result undefined
}

std::vector<int> Communicator::block_counts(const std::vector<std::int64_t>& offsets) const {
  if (offsets.size() != static_cast<std::size_t>(size_) + 1)
    throw InvalidArgument("block offsets need one entry per rank plus one");
  std::vector<int> counts(static_cast<std::size_t>(size_));
  for (std::size_t r = 0; r < counts.size(); ++r) {
    const std::int64_t count = offsets[r + 1] - offsets[r];
    if (count < 0 || count > INT_MAX) throw InvalidArgument("block of a collective out of range");
    counts[r] = static_cast<int>(count);
  }
  return counts;
}

namespace {

template <class T>
void reduce_scatter_impl(std::span<const T> values, std::span<T> block, const std::vector<int>& counts,
                         int rank) {
  if (block.size() != static_cast<std::size_t>(counts[static_cast<std::size_t>(rank)]))
    throw InvalidArgument("reduce-scatter: this rank's block has the wrong size");
  check_mpi(
      MPI_Reduce_scatter(values.data(), block.data(), counts.data(), mpi_type<T>(), MPI_SUM, MPI_COMM_WORLD),
      "MPI_Reduce_scatter");
}

template <class T>
void all_gather_impl(std::span<T> values, const std::vector<int>& counts,
                     const std::vector<std::int64_t>& offsets) {
  std::vector<int> displs(counts.size());
  for (std::size_t r = 0; r < counts.size(); ++r) {
    if (offsets[r] > INT_MAX) throw InvalidArgument("all-gather: offset out of range");
    displs[r] = static_cast<int>(offsets[r]);
  }
  check_mpi(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, values.data(), counts.data(), displs.data(),
                           mpi_type<T>(), MPI_COMM_WORLD),
            "MPI_Allgatherv");
}

}  // namespace

void Communicator::reduce_scatter_sum(std::span<const float> values, std::span<float> block,
                                      const std::vector<std::int64_t>& offsets) {
  const double start = MPI_Wtime();
  reduce_scatter_impl(values, block, block_counts(offsets), rank_);
  account(static_cast<std::int64_t>(values.size_bytes()), MPI_Wtime() - start);
}

void Communicator::reduce_scatter_sum(std::span<const double> values, std::span<double> block,
                                      const std::vector<std::int64_t>& offsets) {
  const double start = MPI_Wtime();
  reduce_scatter_impl(values, block, block_counts(offsets), rank_);
  account(static_cast<std::int64_t>(values.size_bytes()), MPI_Wtime() - start);
}

void Communicator::all_gather(std::span<float> values, const std::vector<std::int64_t>& offsets) {
  const double start = MPI_Wtime();
  const auto counts = block_counts(offsets);
  all_gather_impl(values, counts, offsets);
  account(counts[static_cast<std::size_t>(rank_)] * static_cast<std::int64_t>(sizeof(float)),
          MPI_Wtime() - start);
}

void Communicator::all_gather(std::span<double> values, const std::vector<std::int64_t>& offsets) {
  const double start = MPI_Wtime();
  const auto counts = block_counts(offsets);
  all_gather_impl(values, counts, offsets);
  account(counts[static_cast<std::size_t>(rank_)] * static_cast<std::int64_t>(sizeof(double)),
          MPI_Wtime() - start);
}

void Communicator::broadcast(std::string& text, int from) {
  const double start = MPI_Wtime();
  std::int64_t length = static_cast<std::int64_t>(text.size());
  check_mpi(MPI_Bcast(&length, 1, MPI_INT64_T, from, MPI_COMM_WORLD), "MPI_Bcast");
  text.resize(static_cast<std::size_t>(length));
  check_mpi(MPI_Bcast(text.data(), static_cast<int>(length), MPI_CHAR, from, MPI_COMM_WORLD), "MPI_Bcast");
  account(rank_ == from ? length : 0, MPI_Wtime() - start);
}

void Communicator::broadcast(std::span<double> values, int from) {
  const double start = MPI_Wtime();
  check_mpi(MPI_Bcast(values.data(), static_cast<int>(values.size()), MPI_DOUBLE, from, MPI_COMM_WORLD),
            "MPI_Bcast");
  account(rank_ == from ? static_cast<std::int64_t>(values.size_bytes()) : 0, MPI_Wtime() - start);
}

void Communicator::agree(std::exception_ptr error, std::int64_t order) {
  struct {
    long key;
    int rank;
  } mine{error ? static_cast<long>(order) : LONG_MAX, rank_}, first{};
  check_mpi(MPI_Allreduce(&mine, &first, 1, MPI_LONG_INT, MPI_MINLOC, MPI_COMM_WORLD), "MPI_Allreduce");
  if (first.key == LONG_MAX) return;
  std::string what;
  if (first.rank == rank_) {
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
      what = "unknown error";
    }
  }
  broadcast(what, first.rank);
  throw SharedFailure(fmt::format("rank {}: {}", first.rank, what));
}

void Communicator::abort(const std::string& what) const {
  std::fprintf(stderr, "cinefactor: rank %d: %s\n", rank_, text::escape_control(what).c_str());
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, 1);
  std::_Exit(1);
}

}  // namespace cinefactor::dist
