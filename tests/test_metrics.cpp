#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "cinefactor/error.hpp"
#include "cinefactor/evaluation.hpp"
#include "cinefactor/metrics.hpp"
#include "cinefactor/train.hpp"
#include "evaluation_support.hpp"
#include "test_support.hpp"
#include "top_k_select.hpp"

namespace cinefactor {
namespace {

using test::Cell;
using test::make_matrix;
using test::score_model;

// Hand-computed values are exact up to double rounding.
constexpr double kExact = 1e-12;
// Golden values come from numpy in double precision over float32 scores; sums differ in order only.
constexpr double kGolden = 1e-9;

RankingOptions quiet(std::vector<int> ks, float threshold = 4.0f) {
  RankingOptions o;
  o.ks = std::move(ks);
  o.relevance_threshold = threshold;
  o.show_progress = false;
  return o;
}

TEST(UserRankingMetrics, RelNonRelAtThree) {
  // ranked: 7 (relevant), 3 (not), 5 (relevant); relevant = {5, 7}
  const std::vector<std::int32_t> ranked{7, 3, 5};
  const std::vector<std::int32_t> relevant{5, 7};
  const auto m = user_ranking_metrics(ranked, relevant, 3);
  EXPECT_NEAR(m.precision, 2.0 / 3.0, kExact);
  EXPECT_NEAR(m.recall, 1.0, kExact);
  EXPECT_NEAR(m.ndcg, (1.0 + 1.0 / std::log2(4.0)) / (1.0 + 1.0 / std::log2(3.0)), kExact);
  EXPECT_NEAR(m.average_precision, (1.0 + 2.0 / 3.0) / 2.0, kExact);
  EXPECT_EQ(m.hit, 1.0);

  const auto at1 = user_ranking_metrics(ranked, relevant, 1);
  EXPECT_NEAR(at1.precision, 1.0, kExact);
  EXPECT_NEAR(at1.recall, 0.5, kExact);
  EXPECT_NEAR(at1.ndcg, 1.0, kExact);
  EXPECT_NEAR(at1.average_precision, 1.0, kExact);
}

TEST(UserRankingMetrics, MoreRelevantThanRankedAndShortLists) {
  // relevant {5, 7, 9}: 9 is never ranked. Ideal DCG over min(3, 3) = 3 positions.
  const std::vector<std::int32_t> ranked{7, 3, 5};
  const std::vector<std::int32_t> relevant{5, 7, 9};
  const auto m = user_ranking_metrics(ranked, relevant, 3);
  EXPECT_NEAR(m.recall, 2.0 / 3.0, kExact);
  EXPECT_NEAR(m.ndcg, (1.0 + 0.5) / (1.0 + 1.0 / std::log2(3.0) + 0.5), kExact);
  EXPECT_NEAR(m.average_precision, (1.0 + 2.0 / 3.0) / 3.0, kExact);

  // A list shorter than k: precision still divides by k; ideal DCG over min(5, 1) = 1 position.
  const std::vector<std::int32_t> short_list{4, 8};
  const std::vector<std::int32_t> one{8};
  const auto s = user_ranking_metrics(short_list, one, 5);
  EXPECT_NEAR(s.precision, 1.0 / 5.0, kExact);
  EXPECT_NEAR(s.recall, 1.0, kExact);
  EXPECT_NEAR(s.ndcg, 1.0 / std::log2(3.0), kExact);
  EXPECT_NEAR(s.average_precision, 0.5, kExact);

  const std::vector<std::int32_t> miss{1, 2, 3};
  const auto z = user_ranking_metrics(miss, one, 3);
  EXPECT_EQ(z.precision, 0.0);
  EXPECT_EQ(z.ndcg, 0.0);
  EXPECT_EQ(z.average_precision, 0.0);
  EXPECT_EQ(z.hit, 0.0);

  EXPECT_THROW(user_ranking_metrics(ranked, std::vector<std::int32_t>{}, 3), InvalidArgument);
  EXPECT_THROW(user_ranking_metrics(ranked, relevant, 0), InvalidArgument);
}

TEST(TopK, TiesGoToTheLowerIndexAndExcludedNeverAppear) {
  const std::vector<float> scores{0.5f, 0.9f, 0.9f, 0.1f, 0.9f};
  EXPECT_EQ(top_k(scores, std::vector<std::int32_t>{}, 3), (std::vector<std::int32_t>{1, 2, 4}));
  EXPECT_EQ(top_k(scores, std::vector<std::int32_t>{2}, 3), (std::vector<std::int32_t>{1, 4, 0}));
  EXPECT_EQ(top_k(scores, std::vector<std::int32_t>{1, 2, 4}, 10), (std::vector<std::int32_t>{0, 3}));
  EXPECT_TRUE(top_k(scores, std::vector<std::int32_t>{0, 1, 2, 3, 4}, 2).empty());
  EXPECT_TRUE(top_k(scores, std::vector<std::int32_t>{}, 0).empty());
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> with_nan{nan, 1.0f, nan, 0.0f, -std::numeric_limits<float>::infinity()};
  EXPECT_EQ(top_k(with_nan, std::vector<std::int32_t>{}, 5), (std::vector<std::int32_t>{1, 3, 0, 2, 4}));
  EXPECT_EQ(top_k(with_nan, std::vector<std::int32_t>{}, 2), (std::vector<std::int32_t>{1, 3}));
  EXPECT_THROW(top_k(scores, std::vector<std::int32_t>{3, 1}, 2), InvalidArgument);
}

TEST(TopK, AgreesWithAFullSortOnRandomScores) {
  std::mt19937_64 rng(3);
  for (int trial = 0; trial < 50; ++trial) {
    const int n = 1 + static_cast<int>(rng() % 200);
    std::vector<float> scores(static_cast<std::size_t>(n));
    for (auto& s : scores) s = static_cast<float>(rng() % 7);  // many ties
    std::vector<std::int32_t> excluded;
    for (int j = 0; j < n; ++j) {
      if (rng() % 4 == 0) excluded.push_back(j);
    }
    const int k = 1 + static_cast<int>(rng() % 30);
    std::vector<std::int32_t> all;
    for (int j = 0; j < n; ++j) {
      if (!std::binary_search(excluded.begin(), excluded.end(), j)) all.push_back(j);
    }
    std::stable_sort(all.begin(), all.end(), [&](std::int32_t a, std::int32_t b) {
      return scores[static_cast<std::size_t>(a)] > scores[static_cast<std::size_t>(b)];
    });
    all.resize(std::min(all.size(), static_cast<std::size_t>(k)));
    EXPECT_EQ(top_k(scores, excluded, k), all) << "trial " << trial;
  }
}

// The GPU top-k's selection (cuda/top_k_select.hpp, the functions the kernel in cuda/ranking_kernels.cu
// calls), run on the host the way the kernel runs it: `threads` threads each keep the best k of the
// movies j = t, t + threads, ... that are not excluded; then k rounds take the best head of all the
// threads' lists and advance the owner's head.
std::vector<std::int32_t> kernel_top_k(const std::vector<float>& scores,
                                       const std::vector<std::int32_t>& excluded, int k, int threads) {
  const auto n = static_cast<std::int32_t>(scores.size());
  std::vector<std::vector<engine::RankedCandidate>> lists(
      static_cast<std::size_t>(threads), std::vector<engine::RankedCandidate>(static_cast<std::size_t>(k)));
  std::vector<int> lengths(static_cast<std::size_t>(threads), 0);
  for (int t = 0; t < threads; ++t) {
    for (std::int32_t j = t; j < n; j += threads) {
      if (std::binary_search(excluded.begin(), excluded.end(), j)) continue;
      engine::insert_candidate(lists[static_cast<std::size_t>(t)].data(),
                               &lengths[static_cast<std::size_t>(t)], k,
                               {engine::ranking_score(scores[static_cast<std::size_t>(j)]), j});
    }
  }
  std::vector<int> heads(static_cast<std::size_t>(threads), 0);
  std::vector<std::int32_t> out;
  for (int r = 0; r < k; ++r) {
    engine::RankedCandidate best = engine::no_candidate();
    int owner = -1;
    for (int t = 0; t < threads; ++t) {
      const auto at = static_cast<std::size_t>(t);
      const auto head =
          heads[at] < lengths[at] ? lists[at][static_cast<std::size_t>(heads[at])] : engine::no_candidate();
      if (engine::ranks_before(head, best)) {
        best = head;
        owner = t;
      }
    }
    if (owner < 0) break;
    ++heads[static_cast<std::size_t>(owner)];
    out.push_back(best.movie);
  }
  return out;
}

TEST(GpuTopKSelection, InsertKeepsTheBestFirstAndDropsTheRest) {
  std::vector<engine::RankedCandidate> list(3);
  int length = 0;
  for (const engine::RankedCandidate c :
       {engine::RankedCandidate{1.0f, 4}, {2.0f, 9}, {1.0f, 2}, {0.5f, 1}, {2.0f, 3}}) {
    engine::insert_candidate(list.data(), &length, 3, c);
  }
  ASSERT_EQ(length, 3);
  EXPECT_EQ(list[0].movie, 3);  // 2.0, lower index first
  EXPECT_EQ(list[1].movie, 9);
  EXPECT_EQ(list[2].movie, 2);  // 1.0 at index 2 displaced 1.0 at index 4; 0.5 never entered
  EXPECT_EQ(engine::ranking_score(std::numeric_limits<float>::quiet_NaN()),
            -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(engine::ranks_before({-std::numeric_limits<float>::infinity(), 7}, engine::no_candidate()));
}

// The kernel's algorithm gives exactly top_k's lists: ties, NaN, -inf, exclusions, lists shorter than k,
// more threads than movies and fewer.
TEST(GpuTopKSelection, ThreadListsMergedGiveExactlyTheCpuList) {
  std::mt19937_64 rng(8);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  for (int trial = 0; trial < 200; ++trial) {
    const int n = 1 + static_cast<int>(rng() % 1500);
    std::vector<float> scores(static_cast<std::size_t>(n));
    for (auto& s : scores) {
      const auto pick = rng() % 20;
      s = pick == 0 ? nan : pick == 1 ? -inf : static_cast<float>(rng() % 9) * 0.25f;  // many ties
    }
    std::vector<std::int32_t> excluded;
    const auto every = 1 + rng() % 6;
    for (int j = 0; j < n; ++j) {
      if (rng() % every == 0) excluded.push_back(j);
    }
    const int k = 1 + static_cast<int>(rng() % 60);
    for (const int threads : {1, 7, 256}) {
      EXPECT_EQ(kernel_top_k(scores, excluded, k, threads), top_k(scores, excluded, k))
          << "trial " << trial << ", n " << n << ", k " << k << ", threads " << threads;
    }
  }
}

// 3 users x 4 movies with dyadic scores (exact in float). Hand-ranked lists:
//   user 0 (train: 0) candidates 1 (0.75), 2 (0.125), 3 (0.5) -> [1, 3, 2]; relevant {3}
//   user 1 (train: 1) candidates 0 (0.25), 2 (0.5625), 3 (0.375) -> [2, 3, 0]; relevant {0, 2}
//   user 2: held-out rating 3.0 only -> not evaluated
struct HandCase {
  RatingMatrix train = make_matrix(3, 4, {{0, 0, 5.0f}, {1, 1, 3.0f}, {2, 1, 4.0f}});
  RatingMatrix test =
      make_matrix(3, 4, {{0, 3, 5.0f}, {0, 2, 2.0f}, {1, 2, 4.5f}, {1, 0, 4.0f}, {2, 0, 3.0f}});
  Model model;
  HandCase() {
    DenseMatrix s(3, 4);
    const float rows[3][4] = {{0.875f, 0.75f, 0.125f, 0.5f}, {0.25f, 0.625f, 0.5625f, 0.375f}, {0, 0, 0, 0}};
    for (int u = 0; u < 3; ++u) {
      for (int j = 0; j < 4; ++j) s(u, j) = rows[u][j];
    }
    model = score_model(train, s);
  }
};

TEST(RankingMetrics, HandCaseAtOneAndTwo) {
  HandCase c;
  const auto r = ranking_metrics(c.model, c.train, c.test, quiet({2, 1}));
  EXPECT_EQ(r.users_evaluated, 2);
  ASSERT_EQ(r.at_k.size(), 2u);
  const auto& at1 = r.at_k[0];
  EXPECT_EQ(at1.k, 1);
  EXPECT_NEAR(at1.precision, (0.0 + 1.0) / 2, kExact);
  EXPECT_NEAR(at1.recall, (0.0 + 0.5) / 2, kExact);
  EXPECT_NEAR(at1.ndcg, (0.0 + 1.0) / 2, kExact);
  EXPECT_NEAR(at1.map, (0.0 + 1.0) / 2, kExact);
  EXPECT_NEAR(at1.hitrate, 0.5, kExact);
  EXPECT_NEAR(at1.coverage, 2.0 / 4.0, kExact);  // movies 1 and 2
  const auto& at2 = r.at_k[1];
  EXPECT_EQ(at2.k, 2);
  EXPECT_NEAR(at2.precision, (0.5 + 0.5) / 2, kExact);
  EXPECT_NEAR(at2.recall, (1.0 + 0.5) / 2, kExact);
  EXPECT_NEAR(at2.ndcg, (1.0 / std::log2(3.0) + 1.0 / (1.0 + 1.0 / std::log2(3.0))) / 2, kExact);
  EXPECT_NEAR(at2.map, (0.5 + 0.5) / 2, kExact);
  EXPECT_NEAR(at2.hitrate, 1.0, kExact);
  EXPECT_NEAR(at2.coverage, 3.0 / 4.0, kExact);  // movies 1, 3, 2
}

TEST(RankingMetrics, MoviesBelowThePopularityFloorRankLast) {
  // Training counts: movie 0: 1, movie 1: 2, movies 2 and 3: 0. With a floor of 1, user 0 ranks
  // [1, 2] (movie 3, relevant, now ranks after 2 by the tie rule) and user 1 ranks [0, 2].
  HandCase c;
  auto options = quiet({2});
  EXPECT_NEAR(ranking_metrics(c.model, c.train, c.test, options).at_k[0].recall, (1.0 + 0.5) / 2, kExact);
  options.min_ratings = 1;
  EXPECT_NEAR(ranking_metrics(c.model, c.train, c.test, options).at_k[0].recall, (0.0 + 1.0) / 2, kExact);
}

TEST(RankingMetrics, MovieBiasRanksButUserConstantsDoNot) {
  HandCase c;
  c.model.movie_bias = {0.0f, 0.0f, 0.0f, 10.0f};  // movie 3 first for everybody
  c.model.user_bias = {-100.0f, 100.0f, 0.0f};
  c.model.global_offset = 3.0f;
  const auto r = ranking_metrics(c.model, c.train, c.test, quiet({1}));
  EXPECT_NEAR(r.at_k[0].precision, 0.5, kExact);  // user 0 hits (3 relevant), user 1 misses
  EXPECT_NEAR(r.at_k[0].coverage, 0.25, kExact);
}

TEST(RankingMetrics, TrainingMoviesAreNeverRecommendedEvenWhenScoredHighest) {
  const auto ratings = test::random_matrix(40, 60, 25, 11);
  // Split by hand: even positions train, odd test.
  std::vector<Cell> train_cells, test_cells;
  const auto& csr = ratings.by_user();
  for (std::int32_t u = 0; u < ratings.n_users(); ++u) {
    for (auto p = csr.row_begin(u); p < csr.row_end(u); ++p) {
      const auto q = static_cast<std::size_t>(p);
      ((p - csr.row_begin(u)) % 2 == 0 ? train_cells : test_cells)
          .push_back({u, csr.indices[q], csr.values[q]});
    }
  }
  const auto train = make_matrix(40, 60, train_cells);
  const auto test = make_matrix(40, 60, test_cells);
  std::mt19937_64 rng(5);
  DenseMatrix high(40, 60);
  DenseMatrix low(40, 60);
  for (std::int32_t u = 0; u < 40; ++u) {
    for (std::int32_t j = 0; j < 60; ++j) high(u, j) = low(u, j) = static_cast<float>(rng() % 1000) / 1000.0f;
  }
  for (const auto& cell : train_cells) {
    high(cell.user, cell.movie) = 100.0f;
    low(cell.user, cell.movie) = -100.0f;
  }
  const auto a = ranking_metrics(score_model(train, high), train, test, quiet({1, 5, 10}));
  const auto b = ranking_metrics(score_model(train, low), train, test, quiet({1, 5, 10}));
  ASSERT_EQ(a.at_k.size(), b.at_k.size());
  for (std::size_t i = 0; i < a.at_k.size(); ++i) {
    EXPECT_EQ(a.at_k[i].precision, b.at_k[i].precision);
    EXPECT_EQ(a.at_k[i].ndcg, b.at_k[i].ndcg);
    EXPECT_EQ(a.at_k[i].coverage, b.at_k[i].coverage);
  }
  // And directly: no user's top-10 holds one of their training movies.
  for (std::int32_t u = 0; u < 40; ++u) {
    const auto& tr = train.by_user();
    const std::span<const std::int32_t> seen(tr.indices.data() + tr.row_begin(u),
                                             static_cast<std::size_t>(tr.row_nnz(u)));
    for (const auto j : top_k(high.row(u), seen, 10)) {
      EXPECT_FALSE(std::binary_search(seen.begin(), seen.end(), j)) << "user " << u << " movie " << j;
    }
  }
}

TEST(RatingErrors, HandCase) {
  HandCase c;
  // errors: 0.125-2, 0.5-5, 0.25-4, 0.5625-4.5, 0-3
  const auto e = rating_errors(c.model, c.test);
  EXPECT_EQ(e.count, 5);
  const double sq = 1.875 * 1.875 + 4.5 * 4.5 + 3.75 * 3.75 + 3.9375 * 3.9375 + 3.0 * 3.0;
  EXPECT_NEAR(e.rmse, std::sqrt(sq / 5.0), kExact);
  EXPECT_NEAR(e.mae, (1.875 + 4.5 + 3.75 + 3.9375 + 3.0) / 5.0, kExact);
}

// A split that holds out every rating of movies 3 and 7 and of user 5: the masked NMF has never seen them,
// and predicts them by the training mean plus whatever biases exist (without biases it used to predict 0).
struct ColdSplit {
  static constexpr std::int32_t kUsers = 24;
  static constexpr std::int32_t kMovies = 16;
  static bool cold(std::int32_t u, std::int32_t j) { return u == 5 || j == 3 || j == 7; }
  TrainTestSplit split;
  ColdSplit() {
    std::mt19937 rng(7);
    std::uniform_int_distribution<int> half_stars(1, 10);
    std::vector<Cell> cells;
    for (std::int32_t u = 0; u < kUsers; ++u) {
      for (std::int32_t j = 0; j < kMovies; ++j) {
        if ((u + j) % 3 != 0) cells.push_back({u, j, 0.5f * static_cast<float>(half_stars(rng))});
      }
    }
    const auto ratings = make_matrix(kUsers, kMovies, cells);
    std::vector<std::uint8_t> in_test(static_cast<std::size_t>(ratings.nnz()), 0);
    const auto& csr = ratings.by_user();
    for (std::int32_t u = 0; u < kUsers; ++u) {
      for (std::int64_t p = csr.row_begin(u); p < csr.row_end(u); ++p) {
        const auto q = static_cast<std::size_t>(p);
        in_test[q] = cold(u, csr.indices[q]) || p % 5 == 0;
      }
    }
    split = split_by_mask(ratings, in_test);
  }
  Model train_masked(bool biases) const {
    TrainOptions o;
    o.algorithm = Algorithm::nmf;
    o.objective = NmfObjective::masked;
    o.biases = biases;
    o.rank = 3;
    o.max_iterations = 50;
    o.threads = 1;
    return train(split.train, o);
  }
};

TEST(RatingErrors, UnseenMoviesAndUsersFallBackToTheTrainingMean) {
  const ColdSplit c;
  ASSERT_EQ(c.split.train.movie_count(3), 0);
  ASSERT_EQ(c.split.train.movie_count(7), 0);
  ASSERT_EQ(c.split.train.by_user().row_nnz(5), 0);
  const auto mean = static_cast<float>(c.split.train.global_mean());
  for (const bool biases : {false, true}) {
    SCOPED_TRACE(biases ? "with biases" : "without biases");
    const Model model = c.train_masked(biases);
    const auto& test = c.split.test.by_user();
    // Only the cold entries, and the errors the mean predictor makes on them.
    std::vector<Cell> cold_cells;
    double squared = 0.0;
    std::int64_t warm = 0;
    for (std::int32_t u = 0; u < ColdSplit::kUsers; ++u) {
      for (std::int64_t p = test.row_begin(u); p < test.row_end(u); ++p) {
        const auto q = static_cast<std::size_t>(p);
        const std::int32_t j = test.indices[q];
        if (!ColdSplit::cold(u, j)) {
          ++warm;
          EXPECT_NE(model.predict(u, j), mean);
          continue;
        }
        float expected = mean;
        if (biases)
          expected +=
              model.user_bias[static_cast<std::size_t>(u)] + model.movie_bias[static_cast<std::size_t>(j)];
        EXPECT_FLOAT_EQ(model.predict(u, j), expected) << "user " << u << " movie " << j;
        cold_cells.push_back({u, j, test.values[q]});
        squared += std::pow(static_cast<double>(expected) - test.values[q], 2);
      }
    }
    ASSERT_GT(warm, 0);
    ASSERT_GT(cold_cells.size(), 10u);
    const auto cold_test = make_matrix(ColdSplit::kUsers, ColdSplit::kMovies, cold_cells);
    EXPECT_NEAR(rating_errors(model, cold_test).rmse,
                std::sqrt(squared / static_cast<double>(cold_cells.size())), 1e-6);
    // Scoring a whole row follows the same rule: the unseen user gets it on every movie.
    std::vector<float> row(static_cast<std::size_t>(ColdSplit::kMovies));
    model.score_user(5, row);
    for (std::int32_t j = 0; j < ColdSplit::kMovies; ++j)
      EXPECT_FLOAT_EQ(row[static_cast<std::size_t>(j)], model.predict(5, j)) << j;
  }
}

// Ranking ranks by the same predictions: an unseen movie is scored by the fallback, not by 0. In the hand
// case movies 2 and 3 have no training rating; as trained, their factor rows are zero.
TEST(RankingMetrics, UnseenMoviesAreRankedByTheFallback) {
  HandCase c;
  c.model.movie_factors(2, 2) = 0.0f;
  c.model.movie_factors(3, 3) = 0.0f;
  // Scored 0: user 0 ranks [1, 2, 3] (misses 3 at k = 2), user 1 ranks [0, 2, 3] (finds both).
  EXPECT_NEAR(ranking_metrics(c.model, c.train, c.test, quiet({2})).at_k[0].recall, (0.0 + 1.0) / 2, kExact);
  // Scored by the training mean 1.0: user 0 ranks [2, 3, 1] (finds 3), user 1 ranks [2, 3, 0] (finds 2).
  c.model.training_mean = 1.0f;
  c.model.user_rating_counts = {1, 1, 1};
  c.model.movie_rating_counts = {1, 2, 0, 0};
  EXPECT_NEAR(ranking_metrics(c.model, c.train, c.test, quiet({2})).at_k[0].recall, (1.0 + 0.5) / 2, kExact);
}

TEST(RankingMetrics, RejectsAModelOfAnotherShape) {
  HandCase c;
  const auto other = make_matrix(3, 5, {{0, 0, 5.0f}});
  EXPECT_THROW(ranking_metrics(c.model, other, other, quiet({1})), InvalidArgument);
  EXPECT_THROW(rating_errors(c.model, other), InvalidArgument);
  EXPECT_THROW(ranking_metrics(c.model, c.train, c.test, quiet({0})), InvalidArgument);
  EXPECT_THROW(ranking_metrics(c.model, c.train, c.test, quiet({})), InvalidArgument);
}

// Independent reference: scripts/golden/make_metrics_golden.py (numpy; NDCG cross-checked with
// sklearn.metrics.ndcg_score inside the script).
TEST(RankingMetrics, MatchesTheNumpyGolden) {
  std::ifstream in(std::string(CINEFACTOR_SOURCE_DIR) + "/tests/golden/ranking_metrics.json");
  ASSERT_TRUE(in) << "tests/golden/ranking_metrics.json is missing";
  const auto golden = nlohmann::json::parse(in);
  ASSERT_GE(golden.at("cases").size(), 3u);
  for (const auto& c : golden.at("cases")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    const int n_users = c.at("n_users");
    const int n_movies = c.at("n_movies");
    auto cells = [&](const nlohmann::json& list) {
      std::vector<Cell> out;
      for (const auto& t : list)
        out.push_back({t[0].get<std::int32_t>(), t[1].get<std::int32_t>(), t[2].get<float>()});
      return out;
    };
    const auto train = make_matrix(n_users, n_movies, cells(c.at("train")));
    const auto test = make_matrix(n_users, n_movies, cells(c.at("test")));
    DenseMatrix scores(n_users, n_movies);
    for (int u = 0; u < n_users; ++u) {
      for (int j = 0; j < n_movies; ++j)
        scores(u, j) = c.at("scores")[static_cast<std::size_t>(u)][static_cast<std::size_t>(j)].get<float>();
    }
    const auto model = score_model(train, scores);
    const auto& expected = c.at("expected");

    const auto errors = rating_errors(model, test);
    EXPECT_NEAR(errors.rmse, expected.at("rmse").get<double>(), kGolden);
    EXPECT_NEAR(errors.mae, expected.at("mae").get<double>(), kGolden);

    // The result must not depend on the block size or the thread count.
    for (const auto& [block, threads] : {std::pair{64, 0}, std::pair{1, 1}, std::pair{7, 2}}) {
      auto options = quiet(c.at("ks").get<std::vector<int>>(), c.at("threshold").get<float>());
      options.block_users = block;
      options.threads = threads;
      const auto r = ranking_metrics(model, train, test, options);
      EXPECT_EQ(r.users_evaluated, expected.at("users_evaluated").get<std::int64_t>());
      ASSERT_EQ(r.at_k.size(), expected.at("at_k").size());
      for (std::size_t i = 0; i < r.at_k.size(); ++i) {
        const auto& e = expected.at("at_k")[i];
        SCOPED_TRACE("k = " + std::to_string(r.at_k[i].k) + ", block " + std::to_string(block));
        EXPECT_EQ(r.at_k[i].k, e.at("k").get<int>());
        EXPECT_NEAR(r.at_k[i].precision, e.at("precision").get<double>(), kGolden);
        EXPECT_NEAR(r.at_k[i].recall, e.at("recall").get<double>(), kGolden);
        EXPECT_NEAR(r.at_k[i].ndcg, e.at("ndcg").get<double>(), kGolden);
        EXPECT_NEAR(r.at_k[i].map, e.at("map").get<double>(), kGolden);
        EXPECT_NEAR(r.at_k[i].hitrate, e.at("hitrate").get<double>(), kGolden);
        EXPECT_NEAR(r.at_k[i].coverage, e.at("coverage").get<double>(), kGolden);
      }
    }
  }
}

}  // namespace
}  // namespace cinefactor
