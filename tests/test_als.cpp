// Implicit-feedback ALS: every backend against dense references computed here in double (the objective
// over the full users x movies matrix, the exact per-row solutions), the CUDA backend against the CPU
// (typed tests; skipped with the probe's reason without a device), and the recommender's fold-in and
// explanations against the same dense algebra.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <algorithm>
#include <random>

#include "backend_kinds.hpp"
#include "cinefactor/device.hpp"
#include "cinefactor/error.hpp"
#include "cinefactor/model_file.hpp"
#include "cinefactor/recommender.hpp"
#include "cinefactor/train.hpp"
#include "engine/backend.hpp"
#include "test_support.hpp"

namespace cinefactor {
namespace {

using engine::Backend;

constexpr int kRank = 8;
constexpr int kIterations = 12;
// The loss a backend reports against the dense recomputation from its returned factors (float factors,
// float CG arithmetic, double sums).
constexpr double kDenseLossTolerance = 1e-4;
// CUDA against CPU: float sums in another order, amplified a little by each CG step.
constexpr double kBackendLossTolerance = 1e-3;
// Rows solved with as many CG steps as unknowns against the exact solution of the row's system.
constexpr double kExactSolveTolerance = 1e-3;

// Users x movies ratings on the half-star scale, about `observed` of the pairs rated, with structure:
// each user prefers one of four movie groups.
RatingMatrix fixture(int users = 120, int movies = 90, float observed = 0.25f, std::uint64_t seed = 3) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  std::vector<RatingEntry> entries;
  for (int u = 0; u < users; ++u) {
    for (int j = 0; j < movies; ++j) {
      if (unit(rng) >= observed) continue;
      const bool liked_group = (u % 4) == (j % 4);
      const float base = liked_group ? 4.0f : 2.5f;
      const float r = std::clamp(std::round((base + unit(rng) * 1.5f - 0.5f) * 2.0f) / 2.0f, 0.5f, 5.0f);
      entries.push_back({u + 1, j + 1, r, 0});
    }
  }
  return RatingMatrix::from_entries(std::move(entries));
}

Eigen::MatrixXd as_dense(const DenseMatrix& m) {
  Eigen::MatrixXd d(m.rows, m.cols);
  for (std::int64_t r = 0; r < m.rows; ++r) {
    for (std::int64_t c = 0; c < m.cols; ++c) d(r, c) = m(r, c);
  }
  return d;
}

// Preference p (1 for a positive rating) and confidence c over the full matrix.
struct DenseFeedback {
  Eigen::MatrixXd p;
  Eigen::MatrixXd c;
};

DenseFeedback dense_feedback(const RatingMatrix& x, const engine::AlsSettings& s) {
  DenseFeedback d{Eigen::MatrixXd::Zero(x.n_users(), x.n_movies()),
                  Eigen::MatrixXd::Ones(x.n_users(), x.n_movies())};
  const auto& csr = x.by_user();
  for (std::int32_t u = 0; u < csr.rows; ++u) {
    for (auto e = csr.row_begin(u); e < csr.row_end(u); ++e) {
      if (csr.values[static_cast<std::size_t>(e)] < s.positive_threshold) continue;
      const auto j = csr.indices[static_cast<std::size_t>(e)];
      d.p(u, j) = 1.0;
      d.c(u, j) = 1.0 + s.alpha;
    }
  }
  return d;
}

// sum over every pair c (p - x.y)^2 + l2 (|X|^2 + |Y|^2), densely.
double dense_loss(const RatingMatrix& x, const engine::AlsSettings& s, const engine::AlsFactors& f) {
  const DenseFeedback d = dense_feedback(x, s);
  const Eigen::MatrixXd xd = as_dense(f.users);
  const Eigen::MatrixXd yd = as_dense(f.movies);
  const Eigen::MatrixXd residual = d.p - xd * yd.transpose();
  return (d.c.array() * residual.array().square()).sum() + s.l2 * (xd.squaredNorm() + yd.squaredNorm());
}

engine::AlsFactors initial(const RatingMatrix& x, int rank, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.01f);
  engine::AlsFactors f{DenseMatrix(x.n_users(), rank), DenseMatrix(x.n_movies(), rank)};
  for (float& v : f.users.data) v = normal(rng);
  for (float& v : f.movies.data) v = normal(rng);
  return f;
}

engine::IterationControl iterations(int n) {
  engine::IterationControl c;
  c.max_iterations = n;
  c.tolerance = 0.0;
  return c;
}

void expect_relative(double got, double want, double tolerance, const std::string& what) {
  EXPECT_LE(std::abs(got - want), tolerance * std::abs(want)) << what << ": got " << got << ", want " << want;
}

template <typename Kind>
class AlsBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const std::string why = Kind::unavailable(); !why.empty()) GTEST_SKIP() << why;
    backend_ = Kind::make();
  }
  std::unique_ptr<Backend> backend_;
};

TYPED_TEST_SUITE(AlsBackendTest, test::Backends, test::BackendNames);

// The reported loss is the objective over the full matrix, recomputed densely from the returned
// factors; it never increases (every CG step lowers its row's quadratic); and it matches the CPU.
TYPED_TEST(AlsBackendTest, LossIsTheDenseObjectiveAndNeverIncreases) {
  const RatingMatrix x = fixture();
  const engine::AlsSettings s{2.0f, 0.5f, 4.0f, 3};
  engine::AlsFactors f = initial(x, kRank, 5);
  engine::AlsFactors reference = f;
  const auto log = this->backend_->implicit_als(x, s, f, iterations(kIterations));
  ASSERT_EQ(log.iterations, kIterations);
  expect_relative(log.loss_history.back(), dense_loss(x, s, f), kDenseLossTolerance,
                  "reported vs dense loss");
  for (std::size_t i = 1; i < log.loss_history.size(); ++i) {
    EXPECT_LE(log.loss_history[i], log.loss_history[i - 1] * (1.0 + 1e-6)) << "iteration " << i + 1;
  }
  const auto ref = engine::make_cpu_backend(0)->implicit_als(x, s, reference, iterations(kIterations));
  for (std::size_t i = 0; i < log.loss_history.size(); ++i) {
    expect_relative(log.loss_history[i], ref.loss_history[i], kBackendLossTolerance,
                    "loss at iteration " + std::to_string(i + 1));
  }
}

// With as many CG steps as unknowns, the last half-iteration (the movies) leaves every movie row at the
// exact minimizer of its row's quadratic given the users: (X^T C_j X + l2 I) y_j = X^T C_j p_j, solved
// densely here.
TYPED_TEST(AlsBackendTest, ManyCgStepsReachTheExactRowSolutions) {
  const RatingMatrix x = fixture(60, 50, 0.3f, 7);
  const engine::AlsSettings s{4.0f, 1.0f, 3.5f, 2 * kRank};
  engine::AlsFactors f = initial(x, kRank, 8);
  this->backend_->implicit_als(x, s, f, iterations(3));
  const DenseFeedback d = dense_feedback(x, s);
  const Eigen::MatrixXd xd = as_dense(f.users);
  const Eigen::MatrixXd yd = as_dense(f.movies);
  for (std::int32_t j = 0; j < x.n_movies(); ++j) {
    const Eigen::VectorXd cj = d.c.col(j);
    const Eigen::MatrixXd a =
        xd.transpose() * cj.asDiagonal() * xd + s.l2 * Eigen::MatrixXd::Identity(kRank, kRank);
    const Eigen::VectorXd b = xd.transpose() * (cj.array() * d.p.col(j).array()).matrix();
    const Eigen::VectorXd exact = a.ldlt().solve(b);
    EXPECT_LE((yd.row(j).transpose() - exact).norm(), kExactSolveTolerance * std::max(1.0, exact.norm()))
        << "movie " << j;
  }
}

// A row without a positive rating has the solution 0.
TYPED_TEST(AlsBackendTest, RowsWithoutPositivesAreZero) {
  std::vector<RatingEntry> entries{{1, 1, 5.0f, 0}, {1, 2, 4.0f, 0}, {2, 1, 2.0f, 0},
                                   {2, 3, 1.0f, 0}, {3, 2, 4.5f, 0}, {3, 3, 3.0f, 0}};
  const RatingMatrix x = RatingMatrix::from_entries(std::move(entries));
  engine::AlsFactors f = initial(x, 2, 1);
  this->backend_->implicit_als(x, {1.0f, 0.1f, 4.0f, 3}, f, iterations(2));
  for (float v : f.users.row(1)) EXPECT_EQ(v, 0.0f);   // user 2 rated nothing >= 4
  for (float v : f.movies.row(2)) EXPECT_EQ(v, 0.0f);  // movie 3 got nothing >= 4
}

TEST(AlsBackendChecks, RefuseBadSettings) {
  const RatingMatrix x = fixture(10, 10, 0.5f, 1);
  auto cpu = engine::make_cpu_backend(1);
  engine::AlsFactors f = initial(x, 2, 1);
  EXPECT_THROW(cpu->implicit_als(x, {1.0f, 0.0f, 4.0f, 3}, f, iterations(1)), InvalidArgument);   // l2 = 0
  EXPECT_THROW(cpu->implicit_als(x, {-1.0f, 1.0f, 4.0f, 3}, f, iterations(1)), InvalidArgument);  // alpha < 0
  EXPECT_THROW(cpu->implicit_als(x, {1.0f, 1.0f, 4.0f, 0}, f, iterations(1)), InvalidArgument);  // no CG step
  engine::AlsFactors wrong{DenseMatrix(3, 2), DenseMatrix(10, 2)};
  EXPECT_THROW(cpu->implicit_als(x, {1.0f, 1.0f, 4.0f, 3}, wrong, iterations(1)), InvalidArgument);
}

TEST(AlsTraining, SameFactorsForAnyThreadCountAndHyperparametersInTheModelFile) {
  const RatingMatrix x = fixture();
  TrainOptions o;
  o.algorithm = Algorithm::als;
  o.device = Device::cpu;
  o.rank = kRank;
  o.max_iterations = 5;
  o.tolerance = 0.0;
  o.threads = 1;
  const Model one = train(x, o);
  o.threads = 2;
  const Model two = train(x, o);
  EXPECT_EQ(one.user_factors.data, two.user_factors.data);
  EXPECT_EQ(one.movie_factors.data, two.movie_factors.data);
  EXPECT_FALSE(one.predicts_ratings());
  const test::TempDir dir;
  const auto path = dir.path() / "als.cfm";
  save_model(one, path);
  const Model loaded = load_model(path);
  EXPECT_EQ(loaded.algorithm, Algorithm::als);
  EXPECT_EQ(loaded.hyperparameters, one.hyperparameters);
  EXPECT_EQ(loaded.hyperparameters.alpha, o.alpha);
  EXPECT_EQ(loaded.hyperparameters.als_l2, o.als_l2);
  EXPECT_EQ(loaded.hyperparameters.positive_threshold, o.positive_threshold);
  EXPECT_EQ(loaded.hyperparameters.cg_steps, o.cg_steps);
  EXPECT_EQ(loaded.hyperparameters.iterations_run, 5);
}

class AlsRecommender : public ::testing::Test {
 protected:
  void SetUp() override {
    const RatingMatrix x = fixture();
    TrainOptions o;
    o.algorithm = Algorithm::als;
    o.device = Device::cpu;
    o.rank = kRank;
    o.alpha = 3.0f;
    o.als_l2 = 0.8f;
    o.max_iterations = 10;
    model_ = std::make_shared<Model>(train(x, o));
    recommender_ = std::make_unique<Recommender>(model_);
  }
  std::shared_ptr<Model> model_;
  std::unique_ptr<Recommender> recommender_;
};

// The visitor's factors are the exact solution of the training objective's row with Y fixed, computed
// here over the full movie set: (Y^T C Y + l2 I) x = Y^T C p.
TEST_F(AlsRecommender, FoldInSolvesTheTrainingObjectiveExactly) {
  const std::vector<VisitorRating> visitor{{1, 5.0f}, {5, 4.5f}, {9, 4.0f}, {2, 2.0f}, {13, 3.5f}};
  const FoldIn folded = recommender_->fold_in(visitor);
  const Eigen::MatrixXd y = as_dense(model_->movie_factors);
  Eigen::VectorXd c = Eigen::VectorXd::Ones(y.rows());
  Eigen::VectorXd p = Eigen::VectorXd::Zero(y.rows());
  for (const auto& r : visitor) {
    if (r.rating < 4.0f) continue;
    const auto j = *model_->movie_index(r.movie_id);
    c[j] = 4.0;  // 1 + alpha
    p[j] = 1.0;
  }
  const Eigen::MatrixXd a =
      y.transpose() * c.asDiagonal() * y + 0.8 * Eigen::MatrixXd::Identity(kRank, kRank);
  const Eigen::VectorXd exact = a.ldlt().solve(y.transpose() * (c.array() * p.array()).matrix());
  ASSERT_EQ(folded.factors.size(), static_cast<std::size_t>(kRank));
  for (int f = 0; f < kRank; ++f) EXPECT_NEAR(folded.factors[static_cast<std::size_t>(f)], exact[f], 1e-4);
}

// A visitor without a positive rating folds to 0.
TEST_F(AlsRecommender, NoPositiveRatingFoldsToZero) {
  const std::vector<VisitorRating> visitor{{1, 2.0f}, {5, 3.5f}};
  const FoldIn folded = recommender_->fold_in(visitor);
  for (float v : folded.factors) EXPECT_EQ(v, 0.0f);
}

// The explanation is exact: the contributions of the positive ratings add up to the score.
TEST_F(AlsRecommender, ContributionsAddUpToTheScore) {
  const std::vector<VisitorRating> visitor{{1, 5.0f}, {5, 4.5f}, {9, 4.0f}, {2, 2.0f}};
  const FoldIn folded = recommender_->fold_in(visitor);
  for (const std::int64_t movie_id : {3, 17, 42}) {
    const auto j = *model_->movie_index(movie_id);
    double score = 0.0;
    for (int f = 0; f < kRank; ++f) {
      score += static_cast<double>(folded.factors[static_cast<std::size_t>(f)]) * model_->movie_factors(j, f);
    }
    const auto parts = recommender_->contributions(visitor, movie_id);
    ASSERT_EQ(parts.size(), 3u) << "one per positive rating";
    double total = 0.0;
    for (const auto& part : parts) total += part.contribution;
    EXPECT_NEAR(total, score, 1e-4 * std::max(1.0, std::abs(score))) << "movie " << movie_id;
  }
}

// Recommendations follow the visitor's group: a visitor who likes group-0 movies gets group-0 movies.
TEST_F(AlsRecommender, RecommendsTheLikedGroup) {
  RecommendRequest request;
  for (const std::int64_t id : {1, 5, 9, 13, 17}) request.ratings.push_back({id, 5.0f});  // ids 1 mod 4
  request.top_n = 5;
  request.filters.min_ratings = 0;  // the fixture's model has no catalog
  const auto recs = recommender_->recommend(request);
  ASSERT_EQ(recs.size(), 5u);
  for (const auto& r : recs) EXPECT_EQ((r.movie_id - 1) % 4, 0) << "movie " << r.movie_id;
}

}  // namespace
}  // namespace cinefactor
