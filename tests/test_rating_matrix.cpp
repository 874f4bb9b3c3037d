#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

#include "cinefactor/error.hpp"
#include "cinefactor/rating_matrix.hpp"

namespace cinefactor {
namespace {

TEST(RatingMatrix, DenseIndicesFollowIdOrderAndViewsAgree) {
  std::vector<RatingEntry> entries{
      {10, 500, 4.0f, 1}, {3, 7, 2.5f, 2}, {10, 7, 5.0f, 3}, {3, 900000000, 1.0f, 4}};
  const auto m = RatingMatrix::from_entries(entries);
  ASSERT_EQ(m.n_users(), 2);
  ASSERT_EQ(m.n_movies(), 3);
  EXPECT_EQ(m.nnz(), 4);
  EXPECT_EQ(std::vector<std::int64_t>(m.user_ids().begin(), m.user_ids().end()),
            (std::vector<std::int64_t>{3, 10}));
  EXPECT_EQ(std::vector<std::int64_t>(m.movie_ids().begin(), m.movie_ids().end()),
            (std::vector<std::int64_t>{7, 500, 900000000}));
  EXPECT_EQ(*m.user_index(10), 1);
  EXPECT_FALSE(m.user_index(4).has_value());
  EXPECT_EQ(*m.movie_index(900000000), 2);
  // user 3: movies 7 (2.5) and 900000000 (1.0); user 10: movies 7 (5.0) and 500 (4.0)
  const auto& csr = m.by_user();
  EXPECT_EQ(csr.indptr, (std::vector<std::int64_t>{0, 2, 4}));
  EXPECT_EQ(csr.indices, (std::vector<std::int32_t>{0, 2, 0, 1}));
  EXPECT_EQ(csr.values, (std::vector<float>{2.5f, 1.0f, 5.0f, 4.0f}));
  EXPECT_EQ(std::vector<std::uint32_t>(m.timestamps().begin(), m.timestamps().end()),
            (std::vector<std::uint32_t>{2, 4, 3, 1}));
  const auto& csc = m.by_movie();
  EXPECT_EQ(csc.indptr, (std::vector<std::int64_t>{0, 2, 3, 4}));
  EXPECT_EQ(csc.indices, (std::vector<std::int32_t>{0, 1, 1, 0}));
  EXPECT_EQ(m.movie_count(0), 2);
  EXPECT_FLOAT_EQ(m.movie_means()[0], 3.75f);
  EXPECT_DOUBLE_EQ(m.global_mean(), 12.5 / 4);
}

TEST(RatingMatrix, DuplicatePairKeepsTheLastAndIsCounted) {
  std::vector<RatingEntry> entries{{1, 1, 1.0f, 0}, {1, 2, 2.0f, 0}, {1, 1, 3.0f, 0}, {1, 1, 4.5f, 0}};
  std::int64_t duplicates = -1;
  const auto m = RatingMatrix::from_entries(entries, &duplicates);
  EXPECT_EQ(duplicates, 2);
  EXPECT_EQ(m.nnz(), 2);
  EXPECT_EQ(m.by_user().values, (std::vector<float>{4.5f, 2.0f}));
  EXPECT_TRUE(m.timestamps().empty());
}

TEST(RatingMatrix, CsrAndCscDescribeTheSameRandomMatrix) {
  std::mt19937_64 rng(7);
  std::vector<RatingEntry> entries;
  std::map<std::pair<std::int64_t, std::int64_t>, float> truth;
  for (int i = 0; i < 20000; ++i) {
    RatingEntry e{static_cast<std::int64_t>(rng() % 300), static_cast<std::int64_t>(rng() % 1000),
                  0.5f * static_cast<float>(1 + rng() % 10), static_cast<std::uint32_t>(i + 1)};
    entries.push_back(e);
    truth[{e.user_id, e.movie_id}] = e.rating;
  }
  const auto m = RatingMatrix::from_entries(entries);
  m.by_user().validate();
  m.by_movie().validate();
  ASSERT_EQ(m.nnz(), static_cast<std::int64_t>(truth.size()));
  std::map<std::pair<std::int64_t, std::int64_t>, float> from_csc;
  const auto& csc = m.by_movie();
  for (std::int32_t j = 0; j < csc.rows; ++j) {
    for (auto p = csc.row_begin(j); p < csc.row_end(j); ++p) {
      from_csc[{m.user_ids()[static_cast<std::size_t>(csc.indices[static_cast<std::size_t>(p)])],
                m.movie_ids()[static_cast<std::size_t>(j)]}] = csc.values[static_cast<std::size_t>(p)];
    }
  }
  EXPECT_EQ(from_csc, truth);
}

TEST(RatingMatrix, FromCsrRejectsInconsistentParts) {
  SparseMatrix bad;
  bad.rows = 1;
  bad.cols = 2;
  bad.indptr = {0, 2};
  bad.indices = {1, 0};  // not increasing
  bad.values = {1.0f, 2.0f};
  EXPECT_THROW(RatingMatrix::from_csr(bad, {}, {1}, {1, 2}), FormatError);
  bad.indices = {0, 1};
  EXPECT_THROW(RatingMatrix::from_csr(bad, {}, {1}, {2, 1}), FormatError);
  EXPECT_THROW(RatingMatrix::from_csr(bad, {5}, {1}, {1, 2}), FormatError);
  EXPECT_NO_THROW(RatingMatrix::from_csr(bad, {}, {1}, {1, 2}));
}

TEST(RatingMatrix, SortedInputTakesTheFastPathWithTheSameResult) {
  // Strictly increasing (user, movie): the file order is the CSR order.
  std::mt19937_64 rng(11);
  std::vector<RatingEntry> sorted;
  for (std::int64_t u = 1; u <= 200; ++u) {
    std::int64_t movie = 0;
    for (int k = 0; k < 40; ++k) {
      movie += 1 + static_cast<std::int64_t>(rng() % 50);
      sorted.push_back({u * 3, movie, 0.5f * static_cast<float>(1 + rng() % 10),
                        static_cast<std::uint32_t>(rng() % 1000)});
    }
  }
  auto shuffled = sorted;
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  std::int64_t dup_sorted = -1;
  std::int64_t dup_shuffled = -1;
  const auto a = RatingMatrix::from_entries(sorted, &dup_sorted);
  const auto b = RatingMatrix::from_entries(shuffled, &dup_shuffled);
  EXPECT_EQ(dup_sorted, 0);
  EXPECT_EQ(dup_shuffled, 0);
  EXPECT_EQ(a.by_user().indptr, b.by_user().indptr);
  EXPECT_EQ(a.by_user().indices, b.by_user().indices);
  EXPECT_EQ(a.by_user().values, b.by_user().values);
  EXPECT_EQ(a.by_movie().indices, b.by_movie().indices);
  EXPECT_TRUE(std::ranges::equal(a.timestamps(), b.timestamps()));
  EXPECT_TRUE(std::ranges::equal(a.movie_ids(), b.movie_ids()));
}

TEST(RatingMatrix, TransposeWithManyColumnsKeepsRowsSortedAndPermutationRight) {
  // More columns than transpose buckets, and several threads' row blocks.
  std::mt19937_64 rng(5);
  std::vector<RatingEntry> entries;
  for (int i = 0; i < 50000; ++i) {
    entries.push_back({static_cast<std::int64_t>(rng() % 700), static_cast<std::int64_t>(rng() % 5000),
                       static_cast<float>(i % 10) * 0.5f + 0.5f, 0});
  }
  const auto m = RatingMatrix::from_entries(entries);
  std::vector<std::int64_t> permutation;
  const auto t = m.by_user().transposed(&permutation);
  t.validate();
  EXPECT_EQ(t.indptr, m.by_movie().indptr);
  EXPECT_EQ(t.indices, m.by_movie().indices);
  const auto& csr = m.by_user();
  for (std::int32_t j = 0; j < t.rows; ++j) {
    for (auto q = t.row_begin(j); q < t.row_end(j); ++q) {
      const auto p = static_cast<std::size_t>(permutation[static_cast<std::size_t>(q)]);
      ASSERT_EQ(csr.indices[p], j);
      ASSERT_EQ(csr.values[p], t.values[static_cast<std::size_t>(q)]);
    }
  }
}

TEST(RatingMatrix, FromCsrAndCscChecksThatTheViewsAgree) {
  std::vector<RatingEntry> entries{{1, 1, 4.0f, 0}, {1, 2, 3.0f, 0}, {2, 2, 5.0f, 0}};
  const auto m = RatingMatrix::from_entries(entries);
  auto ids = [](std::span<const std::int64_t> s) { return std::vector<std::int64_t>(s.begin(), s.end()); };
  const auto same =
      RatingMatrix::from_csr_and_csc(m.by_user(), m.by_movie(), {}, ids(m.user_ids()), ids(m.movie_ids()));
  EXPECT_EQ(same.by_movie().indices, m.by_movie().indices);
  EXPECT_FLOAT_EQ(same.movie_means()[1], 4.0f);
  EXPECT_DOUBLE_EQ(same.global_mean(), 4.0);
  auto other_value = m.by_movie();
  other_value.values[0] = 1.0f;
  EXPECT_THROW(
      RatingMatrix::from_csr_and_csc(m.by_user(), other_value, {}, ids(m.user_ids()), ids(m.movie_ids())),
      FormatError);
  auto swapped = m.by_movie();  // same counts per movie, but user 2 rated movie 1 instead of user 1
  swapped.indices[0] = 1;
  swapped.indices[1] = 0;
  EXPECT_THROW(
      RatingMatrix::from_csr_and_csc(m.by_user(), swapped, {}, ids(m.user_ids()), ids(m.movie_ids())),
      FormatError);
}

}  // namespace
}  // namespace cinefactor
