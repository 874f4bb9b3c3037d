#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>
#include <tuple>

#include "cinefactor/error.hpp"
#include "cinefactor/evaluation.hpp"
#include "evaluation_support.hpp"

namespace cinefactor {
namespace {

using test::make_matrix;
using test::random_matrix;
using test::score_model;

using Key = std::pair<std::int32_t, std::int32_t>;
using Value = std::pair<float, std::uint32_t>;

std::map<Key, Value> cells_of(const RatingMatrix& m) {
  std::map<Key, Value> out;
  const auto& csr = m.by_user();
  for (std::int32_t u = 0; u < m.n_users(); ++u) {
    for (auto p = csr.row_begin(u); p < csr.row_end(u); ++p) {
      const auto q = static_cast<std::size_t>(p);
      out[{u, csr.indices[q]}] = {csr.values[q], m.timestamps().empty() ? 0u : m.timestamps()[q]};
    }
  }
  return out;
}

// train and test have the input's shape and ids, are disjoint, and together hold every rating
// with its value and timestamp.
void expect_partition(const RatingMatrix& all, const TrainTestSplit& s) {
  for (const auto* part : {&s.train, &s.test}) {
    EXPECT_EQ(part->n_users(), all.n_users());
    EXPECT_EQ(part->n_movies(), all.n_movies());
    EXPECT_TRUE(std::equal(part->user_ids().begin(), part->user_ids().end(), all.user_ids().begin()));
    EXPECT_TRUE(std::equal(part->movie_ids().begin(), part->movie_ids().end(), all.movie_ids().begin()));
    EXPECT_EQ(part->timestamps().empty(), all.timestamps().empty());
  }
  const auto train = cells_of(s.train);
  const auto test = cells_of(s.test);
  auto merged = train;
  for (const auto& [k, v] : test) EXPECT_TRUE(merged.emplace(k, v).second) << "rating in both parts";
  EXPECT_EQ(merged, cells_of(all));
}

SplitOptions split(SplitKind kind, double fraction = 0.2, std::uint64_t seed = 42) {
  return {kind, fraction, seed};
}

TEST(Holdout, RandomIsAPartitionWithTheExactFraction) {
  const auto m = random_matrix(150, 200, 60, 1);
  const auto s = holdout_split(m, split(SplitKind::random, 0.25));
  expect_partition(m, s);
  EXPECT_EQ(s.test.nnz(), std::llround(0.25 * static_cast<double>(m.nnz())));
}

TEST(Holdout, PerUserHoldsOutAboutTheFractionOfEachUserAndKeepsOneInTrain) {
  const auto m = random_matrix(300, 200, 40, 2);
  for (const double f : {0.2, 0.5, 0.9}) {
    const auto s = holdout_split(m, split(SplitKind::per_user, f));
    expect_partition(m, s);
    for (std::int32_t u = 0; u < m.n_users(); ++u) {
      const auto n = m.by_user().row_nnz(u);
      const auto t = s.test.by_user().row_nnz(u);
      if (n < 2) {
        EXPECT_EQ(t, 0) << "user " << u << " with one rating";
      } else {
        EXPECT_GE(n - t, 1) << "user " << u;
        // floor(f n + U) is within 1 of f n, unless the keep-one cap applied
        if (t < n - 1) {
          EXPECT_LT(std::abs(static_cast<double>(t) - f * static_cast<double>(n)), 1.0) << "user " << u;
        }
      }
    }
    const double overall = static_cast<double>(s.test.nnz()) / static_cast<double>(m.nnz());
    if (f < 0.5) {
      EXPECT_NEAR(overall, f, 0.02);  // caps only bite at high fractions
    }
  }
}

TEST(Holdout, TemporalHoldsOutEachUsersLatestRatings) {
  const auto m = random_matrix(200, 150, 50, 3, 30);
  const auto s = holdout_split(m, split(SplitKind::temporal, 0.3));
  expect_partition(m, s);
  const auto ts_train = s.train.timestamps();
  const auto ts_test = s.test.timestamps();
  std::int64_t users_with_test = 0;
  for (std::int32_t u = 0; u < m.n_users(); ++u) {
    std::uint32_t latest_train = 0;
    std::uint32_t earliest_test = UINT32_MAX;
    for (auto p = s.train.by_user().row_begin(u); p < s.train.by_user().row_end(u); ++p) {
      latest_train = std::max(latest_train, ts_train[static_cast<std::size_t>(p)]);
    }
    for (auto p = s.test.by_user().row_begin(u); p < s.test.by_user().row_end(u); ++p) {
      earliest_test = std::min(earliest_test, ts_test[static_cast<std::size_t>(p)]);
    }
    if (s.test.by_user().row_nnz(u) > 0) {
      ++users_with_test;
      EXPECT_LE(latest_train, earliest_test) << "user " << u;
      EXPECT_GE(s.train.by_user().row_nnz(u), 1);
    }
  }
  EXPECT_GT(users_with_test, 150);
}

TEST(Holdout, GlobalTemporalCutsAtOneTime) {
  const auto m = random_matrix(200, 150, 50, 4, 40);
  const auto s = holdout_split(m, split(SplitKind::temporal_global, 0.2));
  expect_partition(m, s);
  EXPECT_EQ(s.test.nnz(), std::llround(0.2 * static_cast<double>(m.nnz())));
  const auto latest_train = *std::max_element(s.train.timestamps().begin(), s.train.timestamps().end());
  const auto earliest_test = *std::min_element(s.test.timestamps().begin(), s.test.timestamps().end());
  EXPECT_LE(latest_train, earliest_test);
}

TEST(Holdout, DeterministicForASeedAndDifferentAcrossSeeds) {
  const auto m = random_matrix(100, 120, 40, 5);
  for (const auto kind :
       {SplitKind::random, SplitKind::per_user, SplitKind::temporal, SplitKind::temporal_global}) {
    SCOPED_TRACE(std::string(split_kind_name(kind)));
    const auto a = holdout_split(m, split(kind, 0.2, 7));
    const auto b = holdout_split(m, split(kind, 0.2, 7));
    EXPECT_EQ(cells_of(a.test), cells_of(b.test));
    EXPECT_EQ(fingerprint(a.train), fingerprint(b.train));
    if (kind == SplitKind::random || kind == SplitKind::per_user) {
      EXPECT_NE(cells_of(holdout_split(m, split(kind, 0.2, 8)).test), cells_of(a.test));
    }
  }
}

TEST(Holdout, RejectsBadOptions) {
  const auto m = random_matrix(20, 30, 10, 6);
  EXPECT_THROW(holdout_split(m, split(SplitKind::random, 0.0)), InvalidArgument);
  EXPECT_THROW(holdout_split(m, split(SplitKind::random, 1.0)), InvalidArgument);
  EXPECT_THROW(holdout_split(m, split(SplitKind::per_user, std::nan(""))), InvalidArgument);
  const auto no_time = make_matrix(2, 2, {{0, 0, 4.0f}, {0, 1, 3.0f}, {1, 1, 5.0f}});
  EXPECT_THROW(holdout_split(no_time, split(SplitKind::temporal)), InvalidArgument);
  EXPECT_THROW(holdout_split(no_time, split(SplitKind::temporal_global)), InvalidArgument);
  EXPECT_NO_THROW(holdout_split(no_time, split(SplitKind::per_user)));
  EXPECT_EQ(parse_split_kind("per-user"), SplitKind::per_user);
  EXPECT_EQ(parse_split_kind("temporal-global"), SplitKind::temporal_global);
  EXPECT_FALSE(parse_split_kind("sideways").has_value());
}

TEST(KFold, EveryRatingIsInExactlyOneBalancedTestFold) {
  const auto m = random_matrix(120, 150, 50, 8);
  const int folds = 5;
  const auto assignment = kfold_assignment(m, folds, 3);
  ASSERT_EQ(assignment.size(), static_cast<std::size_t>(m.nnz()));
  std::map<Key, int> seen;
  std::int64_t smallest = m.nnz();
  std::int64_t largest = 0;
  for (int f = 0; f < folds; ++f) {
    const auto s = kfold_split(m, assignment, f);
    expect_partition(m, s);
    smallest = std::min(smallest, s.test.nnz());
    largest = std::max(largest, s.test.nnz());
    for (const auto& [k, v] : cells_of(s.test)) ++seen[k];
  }
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(m.nnz()));
  for (const auto& [k, count] : seen) EXPECT_EQ(count, 1);
  EXPECT_LE(largest - smallest, 1);
  EXPECT_EQ(kfold_assignment(m, folds, 3), assignment);
  EXPECT_NE(kfold_assignment(m, folds, 4), assignment);
  EXPECT_THROW(kfold_assignment(m, 1, 3), InvalidArgument);
  EXPECT_THROW(kfold_assignment(m, 256, 3), InvalidArgument);
  EXPECT_THROW(kfold_assignment(make_matrix(1, 2, {{0, 0, 4.0f}}), 2, 3), InvalidArgument);
}

// Scores every held-out rating with its true value and everything else 0: a perfect ranker.
Trainer oracle_trainer(const RatingMatrix& all) {
  return [&all](const RatingMatrix& train) {
    DenseMatrix s(all.n_users(), all.n_movies());
    const auto train_cells = cells_of(train);
    for (const auto& [k, v] : cells_of(all)) {
      if (!train_cells.contains(k)) s(k.first, k.second) = v.first;
    }
    return score_model(train, s);
  };
}

// The global mean of the training ratings for everything, built by hand (rank 0).
Model global_mean_model(const RatingMatrix& train) {
  Model m;
  m.algorithm = Algorithm::mean;
  m.global_offset = static_cast<float>(train.global_mean());
  m.user_ids.assign(train.user_ids().begin(), train.user_ids().end());
  m.movie_ids.assign(train.movie_ids().begin(), train.movie_ids().end());
  return m;
}

EvaluationOptions quiet_options(Protocol protocol, std::vector<int> ks = {10}) {
  EvaluationOptions o;
  o.protocol = protocol;
  o.ranking.ks = std::move(ks);
  o.ranking.show_progress = false;
  return o;
}

TEST(Evaluate, TheOracleReachesTheMaxima) {
  const auto m = random_matrix(80, 120, 60, 9);
  auto options = quiet_options(Protocol::holdout, {1, 5, 10});
  const auto result = evaluate(m, oracle_trainer(m), options);
  ASSERT_EQ(result.folds.size(), 1u);
  // Expected precision/recall from the split itself: the oracle puts all min(k, #relevant) relevant first.
  const auto s = holdout_split(m, options.split);
  std::map<int, std::pair<double, double>> expected;  // k -> (precision, recall)
  std::int64_t users = 0;
  for (std::int32_t u = 0; u < m.n_users(); ++u) {
    int relevant = 0;
    for (auto p = s.test.by_user().row_begin(u); p < s.test.by_user().row_end(u); ++p) {
      relevant += s.test.by_user().values[static_cast<std::size_t>(p)] >= 4.0f ? 1 : 0;
    }
    if (relevant == 0) continue;
    ++users;
    for (const int k : {1, 5, 10}) {
      expected[k].first += std::min(k, relevant) / static_cast<double>(k);
      expected[k].second += std::min(k, relevant) / static_cast<double>(relevant);
    }
  }
  ASSERT_GT(users, 40);
  EXPECT_EQ(result.folds[0].users_evaluated, users);
  for (const int k : {1, 5, 10}) {
    const auto at = [&](const std::string& name) { return result.mean.at(name + "@" + std::to_string(k)); };
    EXPECT_NEAR(at("ndcg"), 1.0, 1e-12);
    EXPECT_NEAR(at("map"), 1.0, 1e-12);
    EXPECT_NEAR(at("hitrate"), 1.0, 1e-12);
    EXPECT_NEAR(at("precision"), expected[k].first / static_cast<double>(users), 1e-12);
    EXPECT_NEAR(at("recall"), expected[k].second / static_cast<double>(users), 1e-12);
  }
  EXPECT_NEAR(result.mean.at("rmse"), 0.0, 1e-12);  // predicts the held-out ratings exactly
  EXPECT_NEAR(result.mean.at("mae"), 0.0, 1e-12);
}

TEST(Evaluate, ARandomModelScoresWellBelowTheOracle) {
  const auto m = random_matrix(80, 120, 60, 10);
  const auto random_trainer = [](const RatingMatrix& train) {
    std::mt19937_64 rng(17);
    DenseMatrix s(train.n_users(), train.n_movies());
    for (auto& x : s.data) x = static_cast<float>(rng() % 100000) / 100000.0f;
    auto model = score_model(train, s);
    model.algorithm = Algorithm::popularity;  // a ranking, not a rating predictor
    return model;
  };
  const auto random = evaluate(m, random_trainer, quiet_options(Protocol::holdout));
  EXPECT_FALSE(random.predicts_ratings);
  EXPECT_FALSE(random.mean.contains("rmse"));
  EXPECT_LT(random.mean.at("ndcg@10"), 0.5);
  EXPECT_GT(random.mean.at("coverage@10"), 0.9);  // random lists cover nearly every movie
}

TEST(Evaluate, KFoldSpreadMatchesPerFoldRmseComputedByHand) {
  const auto m = random_matrix(60, 80, 40, 11);
  auto options = quiet_options(Protocol::kfold);
  options.folds = 4;
  options.split.seed = 99;
  const auto result = evaluate(m, global_mean_model, options);
  ASSERT_EQ(result.folds.size(), 4u);
  EXPECT_TRUE(result.predicts_ratings);
  EXPECT_EQ(result.algorithm, "mean");

  const auto assignment = kfold_assignment(m, 4, 99);
  std::vector<double> rmse;
  for (int f = 0; f < 4; ++f) {
    double train_sum = 0.0;
    double train_n = 0.0;
    std::vector<float> held_out;
    const auto& values = m.by_user().values;
    for (std::size_t p = 0; p < values.size(); ++p) {
      if (assignment[p] == f) {
        held_out.push_back(values[p]);
      } else {
        train_sum += values[p];
        train_n += 1.0;
      }
    }
    const auto mean = static_cast<double>(static_cast<float>(train_sum / train_n));
    double sq = 0.0;
    for (const auto r : held_out) sq += (mean - r) * (mean - r);
    rmse.push_back(std::sqrt(sq / static_cast<double>(held_out.size())));
    EXPECT_NEAR(result.folds[static_cast<std::size_t>(f)].metrics.at("rmse"), rmse.back(), 1e-9);
    EXPECT_EQ(result.folds[static_cast<std::size_t>(f)].test_ratings,
              static_cast<std::int64_t>(held_out.size()));
  }
  const double mean = (rmse[0] + rmse[1] + rmse[2] + rmse[3]) / 4.0;
  double var = 0.0;
  for (const auto r : rmse) var += (r - mean) * (r - mean);
  EXPECT_NEAR(result.mean.at("rmse"), mean, 1e-9);
  EXPECT_NEAR(result.stddev.at("rmse"), std::sqrt(var / 3.0), 1e-9);
  EXPECT_GT(result.stddev.at("rmse"), 0.0);
}

TEST(Evaluate, IsDeterministicAndIndependentOfThreads) {
  const auto m = random_matrix(70, 90, 40, 12);
  auto options = quiet_options(Protocol::kfold, {5, 10});
  options.folds = 3;
  const auto a = evaluate(m, oracle_trainer(m), options);
  options.ranking.threads = 1;
  options.ranking.block_users = 5;
  const auto b = evaluate(m, oracle_trainer(m), options);
  EXPECT_EQ(a.mean, b.mean);
  EXPECT_EQ(a.stddev, b.stddev);
  for (std::size_t f = 0; f < a.folds.size(); ++f) EXPECT_EQ(a.folds[f].metrics, b.folds[f].metrics);
}

TEST(Evaluate, JsonHasTheDocumentedKeys) {
  const auto m = random_matrix(50, 60, 30, 13);
  auto options = quiet_options(Protocol::kfold, {10, 5});
  options.folds = 3;
  const auto j = to_json(evaluate(m, global_mean_model, options));
  for (const auto* key : {"rmse", "mae", "precision@10", "recall@10", "ndcg@10", "map@10", "hitrate@10",
                          "coverage@10", "precision@5", "coverage@5"}) {
    EXPECT_TRUE(j.at("metrics").contains(key)) << key;
    EXPECT_TRUE(j.at("metrics_std").contains(key)) << key;
  }
  EXPECT_EQ(j.at("metrics").size(), 2u + 6u * 2u);
  EXPECT_EQ(j.at("folds").get<int>(), 3);
  EXPECT_EQ(j.at("fold_results").size(), 3u);
  EXPECT_GE(j.at("fit_seconds").get<double>(), 0.0);
  EXPECT_GT(j.at("peak_memory_bytes").get<std::int64_t>(), 0);
  EXPECT_GT(j.at("users_evaluated").get<std::int64_t>(), 0);
  EXPECT_EQ(j.at("options").at("protocol"), "kfold");
  EXPECT_EQ(j.at("options").at("folds"), 3);
  EXPECT_EQ(j.at("options").at("ks"), (std::vector<int>{10, 5}));
  EXPECT_EQ(j.at("model").at("algorithm"), "mean");
  EXPECT_TRUE(j.at("predicts_ratings").get<bool>());
}

TEST(Evaluate, PeakMemorySeesWhatTheTrainerAllocates) {
  const auto m = random_matrix(30, 40, 20, 15);
  constexpr std::size_t kTrainerBytes = std::size_t{96} << 20;
  const auto hungry = [](const RatingMatrix& train) {
    std::vector<char> scratch(kTrainerBytes, 1);  // touched, so resident
    volatile char sink = scratch[scratch.size() / 2];
    (void)sink;
    return global_mean_model(train);
  };
  const auto result = evaluate(m, hungry, quiet_options(Protocol::holdout));
  const auto& fold = result.folds.at(0);
  EXPECT_GE(fold.peak_memory_bytes, static_cast<std::int64_t>(kTrainerBytes));
  if (fold.peak_reset) {
    // The scratch plus at most a little allocator slack; nothing else of size runs during the fit.
    EXPECT_GE(fold.fit_memory_bytes, static_cast<std::int64_t>(kTrainerBytes * 9 / 10));
    EXPECT_LE(fold.fit_memory_bytes, static_cast<std::int64_t>(kTrainerBytes * 3 / 2));
  }
  const auto j = to_json(result);
  EXPECT_EQ(j.at("options").at("split"), "per-user");
  EXPECT_EQ(j.at("options").at("test_fraction"), 0.2);
  EXPECT_EQ(j.at("folds"), 1);
  EXPECT_EQ(j.at("metrics_std").at("rmse"), 0.0);
}

TEST(Evaluate, RejectsBadOptionsAndMisshapenModels) {
  const auto m = random_matrix(30, 40, 20, 14);
  auto options = quiet_options(Protocol::holdout);
  options.split.test_fraction = 1.5;
  EXPECT_THROW(evaluate(m, global_mean_model, options), InvalidArgument);
  options = quiet_options(Protocol::holdout, {0});
  EXPECT_THROW(evaluate(m, global_mean_model, options), InvalidArgument);
  options = quiet_options(Protocol::kfold);
  options.folds = 1;
  EXPECT_THROW(evaluate(m, global_mean_model, options), InvalidArgument);
  const auto wrong_shape = [](const RatingMatrix&) {
    Model model;
    model.user_ids = {1};
    model.movie_ids = {1};
    return model;
  };
  EXPECT_THROW(evaluate(m, wrong_shape, quiet_options(Protocol::holdout)), InvalidArgument);
  EXPECT_THROW(evaluate(m, Trainer{}, quiet_options(Protocol::holdout)), InvalidArgument);
}

}  // namespace
}  // namespace cinefactor
