// The split masks of a process that holds some users' rows (eval/split_masks.hpp, what a distributed
// evaluation uses) equal the slices of the mask one process computes for the whole matrix, for every split
// kind and the k-fold assignment. The "processes" here are threads, each with every third user (so
// their rows interleave in the whole matrix's order), reducing through shared memory.
#include <gtest/gtest.h>

#include <barrier>
#include <thread>

#include "cinefactor/error.hpp"
#include "cinefactor/evaluation.hpp"
#include "eval/split_masks.hpp"
#include "evaluation_support.hpp"

namespace cinefactor {
namespace {

constexpr int kProcesses = 3;

// Processes as threads: a reduction writes each thread's values to its slot, waits for every thread, and
// combines the slots in process order (so every thread computes the same result).
class ThreadGroup final : public eval::ProcessGroup {
 public:
  struct Shared {
    std::barrier<> barrier{kProcesses};
    std::vector<std::int64_t> slots_i64[kProcesses];
    std::vector<double> slots_f64[kProcesses];
    std::vector<std::int32_t> slots_i32[kProcesses];
  };
  ThreadGroup(Shared& shared, int index) : shared_(shared), index_(index) {}

  void sum(std::span<std::int64_t> v) override {
    reduce(shared_.slots_i64, v, [](auto a, auto b) { return a + b; });
  }
  void sum(std::span<double> v) override {
    reduce(shared_.slots_f64, v, [](auto a, auto b) { return a + b; });
  }
  void max(std::span<std::int64_t> v) override {
    reduce(shared_.slots_i64, v, [](auto a, auto b) { return std::max(a, b); });
  }
  void min(std::span<std::int32_t> v) override {
    reduce(shared_.slots_i32, v, [](auto a, auto b) { return std::min(a, b); });
  }

 private:
  template <class T, class Op>
  void reduce(std::vector<T> (&slots)[kProcesses], std::span<T> values, Op op) {
    slots[index_].assign(values.begin(), values.end());
    shared_.barrier.arrive_and_wait();
    for (std::size_t i = 0; i < values.size(); ++i) {
      T combined = slots[0][i];
      for (int p = 1; p < kProcesses; ++p) combined = op(combined, slots[p][i]);
      values[i] = combined;
    }
    shared_.barrier.arrive_and_wait();  // nobody overwrites a slot another thread still reads
  }

  Shared& shared_;
  int index_;
};

// Process p's part: users u with u % kProcesses == p, every movie, and where its rows sit in `whole`.
struct Part {
  RatingMatrix ratings;
  eval::RowPlacement placement;
  std::vector<std::int64_t> positions;  // of each local rating in `whole`
};

Part part_of(const RatingMatrix& whole, int p) {
  const auto& csr = whole.by_user();
  SparseMatrix rows;
  rows.cols = whole.n_movies();
  rows.indptr.push_back(0);
  std::vector<std::uint32_t> timestamps;
  std::vector<std::int64_t> user_ids;
  Part out;
  out.placement.total_ratings = whole.nnz();
  for (std::int32_t u = p; u < whole.n_users(); u += kProcesses) {
    for (auto q = csr.row_begin(u); q < csr.row_end(u); ++q) {
      rows.indices.push_back(csr.indices[static_cast<std::size_t>(q)]);
      rows.values.push_back(csr.values[static_cast<std::size_t>(q)]);
      timestamps.push_back(whole.timestamps()[static_cast<std::size_t>(q)]);
      out.positions.push_back(q);
    }
    rows.indptr.push_back(static_cast<std::int64_t>(rows.indices.size()));
    user_ids.push_back(whole.user_ids()[static_cast<std::size_t>(u)]);
    out.placement.first_position.push_back(csr.row_begin(u));
  }
  rows.rows = static_cast<std::int32_t>(user_ids.size());
  const std::vector<std::int64_t> movie_ids(whole.movie_ids().begin(), whole.movie_ids().end());
  out.ratings =
      RatingMatrix::from_csr(std::move(rows), std::move(timestamps), std::move(user_ids), movie_ids);
  return out;
}

// mask(ratings, placement, group) of every part, computed by the parts together, equals the slice of the
// whole matrix's mask.
template <class Mask>
void expect_slices_of_the_whole(const RatingMatrix& whole, Mask mask) {
  eval::ProcessGroup one_process;
  const auto reference = mask(whole, eval::whole_matrix_placement(whole), one_process);
  std::vector<Part> parts;
  for (int p = 0; p < kProcesses; ++p) parts.push_back(part_of(whole, p));
  std::vector<std::vector<std::uint8_t>> masks(kProcesses);
  ThreadGroup::Shared shared;
  std::vector<std::thread> threads;
  for (int p = 0; p < kProcesses; ++p) {
    threads.emplace_back([&, p] {
      ThreadGroup group(shared, p);
      masks[static_cast<std::size_t>(p)] = mask(parts[static_cast<std::size_t>(p)].ratings,
                                                parts[static_cast<std::size_t>(p)].placement, group);
    });
  }
  for (auto& t : threads) t.join();
  std::int64_t compared = 0;
  for (int p = 0; p < kProcesses; ++p) {
    const auto& part = parts[static_cast<std::size_t>(p)];
    ASSERT_EQ(masks[static_cast<std::size_t>(p)].size(), part.positions.size());
    for (std::size_t i = 0; i < part.positions.size(); ++i) {
      ASSERT_EQ(masks[static_cast<std::size_t>(p)][i], reference[static_cast<std::size_t>(part.positions[i])])
          << "process " << p << ", rating " << part.positions[i];
      ++compared;
    }
  }
  EXPECT_EQ(compared, whole.nnz());
}

TEST(SplitMasks, EveryProcessGetsItsSliceOfTheWholeSplit) {
  // Timestamps in [1, 6]: the global time cut falls among many ties, which the parts must break alike.
  const auto whole = test::random_matrix(301, 90, 40, 11, 6);
  for (const auto kind :
       {SplitKind::random, SplitKind::per_user, SplitKind::temporal, SplitKind::temporal_global}) {
    for (const double fraction : {0.2, 0.5}) {
      SCOPED_TRACE(std::string(split_kind_name(kind)) + " " + std::to_string(fraction));
      const SplitOptions options{kind, fraction, 9};
      expect_slices_of_the_whole(
          whole, [&](const RatingMatrix& m, const eval::RowPlacement& where, eval::ProcessGroup& group) {
            return eval::holdout_mask(m, where, options, group);
          });
    }
  }
}

TEST(SplitMasks, EveryProcessGetsItsSliceOfTheFoldAssignment) {
  const auto whole = test::random_matrix(200, 70, 30, 12);
  expect_slices_of_the_whole(whole, [](const RatingMatrix& m, const eval::RowPlacement& where,
                                       eval::ProcessGroup&) { return eval::kfold_mask(m, where, 4, 5); });
}

TEST(SplitMasks, ThePublicSplitsAreTheWholeMatrixMasks) {
  const auto m = test::random_matrix(80, 60, 25, 13, 4);
  eval::ProcessGroup one_process;
  const auto where = eval::whole_matrix_placement(m);
  const SplitOptions options{SplitKind::temporal_global, 0.3, 1};
  const auto mask = eval::holdout_mask(m, where, options, one_process);
  EXPECT_EQ(fingerprint(holdout_split(m, options).test), fingerprint(split_by_mask(m, mask).test));
  EXPECT_EQ(kfold_assignment(m, 3, 2), eval::kfold_mask(m, where, 3, 2));
}

TEST(SplitMasks, APlacementThatDoesNotFitIsRefused) {
  const auto m = test::random_matrix(10, 10, 5, 14);
  auto where = eval::whole_matrix_placement(m);
  where.total_ratings -= 1;
  EXPECT_THROW(eval::kfold_mask(m, where, 2, 1), InvalidArgument);
  where = eval::whole_matrix_placement(m);
  where.first_position.pop_back();
  EXPECT_THROW(eval::kfold_mask(m, where, 2, 1), InvalidArgument);
}

}  // namespace
}  // namespace cinefactor
