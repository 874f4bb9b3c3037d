// Randomized truncated SVD on the CPU backend against Eigen's exact dense SVD: singular values,
// subspaces, centering semantics (observed entries shifted by the global mean), rank-deficient input,
// the Model it produces through train(), and determinism.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>
#include <random>

#include "cinefactor/error.hpp"
#include "cinefactor/train.hpp"
#include "engine/backend.hpp"

namespace cinefactor {
namespace {

using Eigen::MatrixXd;

struct Case {
  RatingMatrix ratings;
  MatrixXd dense;  // zero where unrated
};

Case random_case(int users, int movies, double density, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<RatingEntry> entries;
  MatrixXd dense = MatrixXd::Zero(users, movies);
  for (int u = 0; u < users; ++u) {
    for (int j = 0; j < movies; ++j) {
      if (unit(rng) < density || j == u % movies || u == j % users) {
        const float r = 0.5f * static_cast<float>(1 + rng() % 10);
        entries.push_back({u, j, r, 0});
        dense(u, j) = r;
      }
    }
  }
  return {RatingMatrix::from_entries(std::move(entries)), dense};
}

MatrixXd to_eigen(const DenseMatrix& m) {
  MatrixXd out(m.rows, m.cols);
  for (std::int64_t r = 0; r < m.rows; ++r) {
    for (std::int64_t c = 0; c < m.cols; ++c) out(r, c) = m(r, c);
  }
  return out;
}

// || P_a - P_b ||_F for the orthogonal projectors onto the column spans.
double subspace_distance(const MatrixXd& a, const MatrixXd& b) {
  return (a * a.transpose() - b * b.transpose()).norm();
}

void expect_matches_exact(const MatrixXd& dense, const engine::SvdResult& svd, int k, double tolerance) {
  Eigen::JacobiSVD<MatrixXd> exact(dense, Eigen::ComputeThinU | Eigen::ComputeThinV);
  ASSERT_EQ(svd.sigma.size(), static_cast<std::size_t>(k));
  for (int i = 0; i < k; ++i) {
    EXPECT_NEAR(svd.sigma[static_cast<std::size_t>(i)], exact.singularValues()(i),
                tolerance * exact.singularValues()(0))
        << "singular value " << i;
  }
  const MatrixXd u = to_eigen(svd.u);
  const MatrixXd v = to_eigen(svd.v);
  EXPECT_LT((u.transpose() * u - MatrixXd::Identity(k, k)).norm(), 1e-4) << "U has orthonormal columns";
  EXPECT_LT((v.transpose() * v - MatrixXd::Identity(k, k)).norm(), 1e-4) << "V has orthonormal columns";
  EXPECT_LT(subspace_distance(u, exact.matrixU().leftCols(k)), 10 * tolerance);
  EXPECT_LT(subspace_distance(v, exact.matrixV().leftCols(k)), 10 * tolerance);
  // The factorization itself: U Sigma V^T is the best rank-k approximation.
  const MatrixXd approx =
      u * Eigen::Map<const Eigen::VectorXf>(svd.sigma.data(), k).cast<double>().asDiagonal() * v.transpose();
  const MatrixXd best = exact.matrixU().leftCols(k) * exact.singularValues().head(k).asDiagonal() *
                        exact.matrixV().leftCols(k).transpose();
  EXPECT_LT((approx - best).norm(), 10 * tolerance * dense.norm());
}

TEST(RandomizedSvd, ExactWhenTheSketchCoversTheRank) {
  auto c = random_case(90, 45, 0.3, 1);
  engine::SvdSettings s;
  s.rank = 8;
  s.oversamples = 45;  // l = min(users, movies): the range is captured exactly
  s.power_iterations = 0;
  const auto svd = engine::make_cpu_backend(0)->truncated_svd(c.ratings, s);
  // Tolerance 1e-5 of sigma_1: float32 products against Eigen's double-precision JacobiSVD.
  expect_matches_exact(c.dense, svd, s.rank, 1e-5);
  EXPECT_EQ(svd.offset, 0.0f);
}

TEST(RandomizedSvd, DefaultsRecoverALowRankSignal) {
  // A rank-6 non-negative signal plus small noise on every entry, as a sparse matrix: the spectrum has
  // a clear gap, so the defaults (p = 10, q = 4) find the top 6 triplets.
  std::mt19937_64 rng(2);
  std::normal_distribution<double> normal(0.0, 1.0);
  const int users = 200, movies = 150, rank = 6;
  const MatrixXd a = MatrixXd::NullaryExpr(users, rank, [&] { return std::abs(normal(rng)); });
  const MatrixXd b = MatrixXd::NullaryExpr(movies, rank, [&] { return std::abs(normal(rng)); });
  MatrixXd dense = a * b.transpose();
  dense += 0.01 * MatrixXd::NullaryExpr(users, movies, [&] { return normal(rng); });
  std::vector<RatingEntry> entries;
  for (int u = 0; u < users; ++u) {
    for (int j = 0; j < movies; ++j) entries.push_back({u, j, static_cast<float>(dense(u, j)), 0});
  }
  const auto ratings = RatingMatrix::from_entries(std::move(entries));
  engine::SvdSettings s;
  s.rank = rank;
  const auto svd = engine::make_cpu_backend(0)->truncated_svd(ratings, s);
  expect_matches_exact(dense, svd, rank, 1e-5);
}

TEST(RandomizedSvd, CenteringShiftsOnlyTheObservedEntries) {
  auto c = random_case(70, 40, 0.25, 3);
  engine::SvdSettings s;
  s.rank = 5;
  s.oversamples = 40;
  s.center = true;
  const auto svd = engine::make_cpu_backend(0)->truncated_svd(c.ratings, s);
  const double mu = c.ratings.global_mean();
  EXPECT_FLOAT_EQ(svd.offset, static_cast<float>(mu));
  // The reference: r - mu where rated, 0 where not (sparsity kept).
  MatrixXd centered = c.dense;
  for (Eigen::Index i = 0; i < centered.size(); ++i) {
    if (centered.data()[i] != 0.0) centered.data()[i] -= mu;
  }
  expect_matches_exact(centered, svd, s.rank, 1e-5);
}

TEST(RandomizedSvd, RankDeficientInputFallsBackToHouseholder) {
  // Rank 2 (two distinct row patterns): the sketch of 12 columns is singular, so CholeskyQR cannot run.
  std::vector<RatingEntry> entries;
  MatrixXd dense = MatrixXd::Zero(30, 20);
  for (int u = 0; u < 30; ++u) {
    for (int j = 0; j < 20; ++j) {
      const float r = (u % 2 == 0) ? 1.0f + static_cast<float>(j % 3) : 5.0f - static_cast<float>(j % 4);
      entries.push_back({u, j, r, 0});
      dense(u, j) = r;
    }
  }
  const auto ratings = RatingMatrix::from_entries(std::move(entries));
  engine::SvdSettings s;
  s.rank = 2;
  const auto svd = engine::make_cpu_backend(0)->truncated_svd(ratings, s);
  expect_matches_exact(dense, svd, 2, 1e-5);
}

TEST(RandomizedSvd, RejectsABadRank) {
  auto c = random_case(10, 6, 0.5, 4);
  engine::SvdSettings s;
  s.rank = 7;
  EXPECT_THROW(engine::make_cpu_backend(0)->truncated_svd(c.ratings, s), InvalidArgument);
  s.rank = 0;
  EXPECT_THROW(engine::make_cpu_backend(0)->truncated_svd(c.ratings, s), InvalidArgument);
}

TEST(SvdTrain, ModelPredictsOffsetPlusUSigmaV) {
  auto c = random_case(500, 400, 0.25, 5);  // > 40,000 ratings: two threads share the work
  ASSERT_GT(c.ratings.nnz(), 40000);
  TrainOptions o;
  o.device = Device::cpu;  // this suite is about the CPU backend
  o.algorithm = Algorithm::svd;
  o.rank = 10;
  o.center = true;
  o.threads = 1;
  TrainReport report;
  const Model m = train(c.ratings, o, &report);
  EXPECT_EQ(report.device, "cpu");
  EXPECT_EQ(report.iterations, 0);
  EXPECT_TRUE(report.loss_history.empty());
  ASSERT_EQ(m.rank(), 10);
  ASSERT_EQ(m.singular_values.size(), 10u);
  EXPECT_TRUE(std::is_sorted(m.singular_values.rbegin(), m.singular_values.rend()));
  EXPECT_TRUE(m.predicts_ratings());
  EXPECT_FLOAT_EQ(m.global_offset, static_cast<float>(c.ratings.global_mean()));
  EXPECT_EQ(m.hyperparameters.center, true);
  // predict = mu + sum_c sigma_c u_c v_c
  const MatrixXd u = to_eigen(m.user_factors);
  const MatrixXd v = to_eigen(m.movie_factors);
  EXPECT_NEAR(m.predict(3, 7), m.global_offset + u.row(3).dot(v.row(7)), 1e-5);
  // ||U Sigma||'s column norms are the singular values.
  for (int k = 0; k < 10; ++k)
    EXPECT_NEAR(u.col(k).norm(), m.singular_values[static_cast<std::size_t>(k)], 1e-3 * m.singular_values[0]);
  // Same seed, other thread count: bit-identical.
  o.threads = 2;
  const Model m2 = train(c.ratings, o);
  EXPECT_EQ(m.user_factors.data, m2.user_factors.data);
  EXPECT_EQ(m.movie_factors.data, m2.movie_factors.data);
}

}  // namespace
}  // namespace cinefactor
