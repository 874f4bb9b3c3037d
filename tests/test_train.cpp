// train(): the baselines (hand-computed values and a normal-equations reference), device selection,
// option validation, ids and fingerprint in the model.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <random>

#include "cinefactor/device.hpp"
#include "cinefactor/error.hpp"
#include "cinefactor/train.hpp"

namespace cinefactor {
namespace {

// user 10: movie 100 -> 4, movie 200 -> 2; user 20: movie 100 -> 3. Mean 3.
RatingMatrix tiny() {
  return RatingMatrix::from_entries({{10, 100, 4.0f, 0}, {10, 200, 2.0f, 0}, {20, 100, 3.0f, 0}});
}

TEST(Baselines, MeanPredictsTheGlobalMean) {
  TrainOptions o;
  o.algorithm = Algorithm::mean;
  const Model m = train(tiny(), o);
  EXPECT_FLOAT_EQ(m.global_offset, 3.0f);
  EXPECT_EQ(m.rank(), 0);
  EXPECT_TRUE(m.user_bias.empty());
  EXPECT_FLOAT_EQ(m.predict(1, 1), 3.0f);
  EXPECT_TRUE(m.predicts_ratings());
  EXPECT_EQ(m.user_ids, (std::vector<std::int64_t>{10, 20}));
  EXPECT_EQ(m.movie_ids, (std::vector<std::int64_t>{100, 200}));
  EXPECT_EQ(m.data_fingerprint, fingerprint(tiny()));
}

TEST(Baselines, PopularityScoresAreRatingCounts) {
  TrainOptions o;
  o.algorithm = Algorithm::popularity;
  const Model m = train(tiny(), o);
  EXPECT_EQ(m.movie_bias, (std::vector<float>{2.0f, 1.0f}));
  EXPECT_FALSE(m.predicts_ratings());
  EXPECT_FLOAT_EQ(m.predict(0, 0), 2.0f);
  std::vector<float> scores(2);
  m.score_user(1, scores);
  EXPECT_EQ(scores, (std::vector<float>{2.0f, 1.0f}));
}

TEST(Baselines, OneBiasSweepByHand) {
  // l2 = 1. Users first: b_10 = ((4-3-0) + (2-3-0)) / (2+1) = 0, b_20 = (3-3-0) / (1+1) = 0.
  // Then movies: b_100 = ((4-3-0) + (3-3-0)) / (2+1) = 1/3, b_200 = (2-3-0) / (1+1) = -1/2.
  // Loss = (4-3-1/3)^2 + (2-3+1/2)^2 + (3-3-1/3)^2 + 1 * (1/9 + 1/4).
  TrainOptions o;
  o.algorithm = Algorithm::bias;
  o.l2_bias = 1.0f;
  o.max_iterations = 1;
  TrainReport report;
  const Model m = train(tiny(), o, &report);
  EXPECT_FLOAT_EQ(m.global_offset, 3.0f);
  EXPECT_NEAR(m.user_bias[0], 0.0f, 1e-7);
  EXPECT_NEAR(m.user_bias[1], 0.0f, 1e-7);
  EXPECT_FLOAT_EQ(m.movie_bias[0], 1.0f / 3.0f);
  EXPECT_FLOAT_EQ(m.movie_bias[1], -0.5f);
  ASSERT_EQ(report.loss_history.size(), 1u);
  EXPECT_NEAR(report.loss_history[0], 4.0 / 9 + 0.25 + 1.0 / 9 + (1.0 / 9 + 0.25), 1e-6);
  EXPECT_FLOAT_EQ(m.predict(1, 1), 3.0f + 0.0f - 0.5f);
}

TEST(Baselines, BiasesConvergeToTheRegularizedLeastSquaresSolution) {
  std::mt19937_64 rng(1);
  std::vector<RatingEntry> entries;
  for (int u = 0; u < 40; ++u) {
    for (int j = 0; j < 25; ++j) {
      if (rng() % 3 == 0 || j == u % 25)
        entries.push_back({u, j, 0.5f * static_cast<float>(1 + rng() % 10), 0});
    }
  }
  const auto ratings = RatingMatrix::from_entries(std::move(entries));
  const double l2 = 2.0;
  // Normal equations of sum (r - mu - b_u - b_j)^2 + l2 (|b_u|^2 + |b_j|^2), solved densely.
  const int nu = ratings.n_users(), nm = ratings.n_movies();
  Eigen::MatrixXd a = Eigen::MatrixXd::Zero(nu + nm, nu + nm);
  Eigen::VectorXd rhs = Eigen::VectorXd::Zero(nu + nm);
  const auto& csr = ratings.by_user();
  for (int u = 0; u < nu; ++u) {
    for (auto e = csr.row_begin(u); e < csr.row_end(u); ++e) {
      const int j = nu + csr.indices[static_cast<std::size_t>(e)];
      const double t = csr.values[static_cast<std::size_t>(e)] - ratings.global_mean();
      a(u, u) += 1, a(j, j) += 1, a(u, j) += 1, a(j, u) += 1;
      rhs(u) += t, rhs(j) += t;
    }
  }
  a.diagonal().array() += l2;
  const Eigen::VectorXd solution = a.ldlt().solve(rhs);
  TrainOptions o;
  o.algorithm = Algorithm::bias;
  o.l2_bias = static_cast<float>(l2);
  o.max_iterations = 500;
  o.tolerance = 1e-10;
  TrainReport report;
  const Model m = train(ratings, o, &report);
  for (int u = 0; u < nu; ++u) EXPECT_NEAR(m.user_bias[static_cast<std::size_t>(u)], solution(u), 1e-4);
  for (int j = 0; j < nm; ++j) EXPECT_NEAR(m.movie_bias[static_cast<std::size_t>(j)], solution(nu + j), 1e-4);
  for (std::size_t i = 1; i < report.loss_history.size(); ++i) {
    // Biases are stored in float32: once converged the loss moves by rounding only (1e-6 relative).
    EXPECT_LE(report.loss_history[i], report.loss_history[i - 1] * (1 + 1e-6));
  }
}

TEST(TrainDevice, CudaWithoutADeviceIsAClearErrorAndAutoFallsBack) {
  TrainOptions o;
  o.algorithm = Algorithm::svd;  // a factorization: the baselines never ask for a device
  o.rank = 1;
  if (probe_cuda().devices.empty()) {
    o.device = Device::cuda;
    try {
      train(tiny(), o);
      FAIL() << "expected an error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("--device cuda: no usable CUDA device: "), std::string::npos)
          << e.what();
    }
  }
  o.device = Device::automatic;
  TrainReport report;
  train(tiny(), o, &report);
  if (probe_cuda().devices.empty()) {
    EXPECT_EQ(report.device, "cpu");
  }
  EXPECT_GE(report.seconds, 0.0);
  EXPECT_EQ(device_name(Device::automatic), "auto");
  EXPECT_EQ(device_name(Device::cuda), "cuda");
}

TEST(TrainOptionsCheck, BadValuesAreRejected) {
  TrainOptions o;
  o.algorithm = Algorithm::nmf;
  o.rank = 3;  // > min(2 users, 2 movies): nndsvda cannot run
  EXPECT_THROW(train(tiny(), o), InvalidArgument);
  o.init = NmfInit::random;
  EXPECT_NO_THROW(train(tiny(), o));
  o.rank = 0;
  EXPECT_THROW(train(tiny(), o), InvalidArgument);
  o.rank = 1;
  o.max_iterations = 0;
  EXPECT_THROW(train(tiny(), o), InvalidArgument);
  o.max_iterations = 5;
  o.tolerance = -1;
  EXPECT_THROW(train(tiny(), o), InvalidArgument);
  o.tolerance = 0;
  o.threads = -1;
  EXPECT_THROW(train(tiny(), o), InvalidArgument);
  o.threads = 0;
  o.l2_user = -0.1f;
  EXPECT_THROW(train(tiny(), o), InvalidArgument);
  EXPECT_THROW(train(RatingMatrix{}, TrainOptions{}), InvalidArgument);
}

TEST(TrainInitialFactors, NmfStartsFromTheGivenFactors) {
  // One iteration of the zero objective from W = H = 1 (rank 1) on [[4, 2], [3, 0]], by hand, W first
  // as scikit-learn: W *= (X H^T) / (W H H^T) = [6, 3] / 2 = [3, 1.5]; then H *= (W^T X) / (W^T W H):
  // H = [3*4 + 1.5*3, 3*2] / 11.25 = [16.5, 6] / 11.25.
  TrainOptions o;
  o.algorithm = Algorithm::nmf;
  o.rank = 1;
  o.max_iterations = 1;
  o.tolerance = 0.0;
  o.initial_user_factors = DenseMatrix(2, 1, 1.0f);
  o.initial_movie_factors = DenseMatrix(2, 1, 1.0f);
  const Model m = train(tiny(), o);
  EXPECT_NEAR(m.user_factors(0, 0), 3.0f, 1e-5);
  EXPECT_NEAR(m.user_factors(1, 0), 1.5f, 1e-5);
  EXPECT_NEAR(m.movie_factors(0, 0), 16.5f / 11.25f, 1e-5);
  EXPECT_NEAR(m.movie_factors(1, 0), 6.0f / 11.25f, 1e-5);
  EXPECT_FALSE(m.hyperparameters.init.has_value()) << "no init ran";
  EXPECT_FALSE(m.hyperparameters.oversamples.has_value());
  // A rank above min(users, movies) is fine without the nndsvda init.
  o.rank = 3;
  o.initial_user_factors = DenseMatrix(2, 3, 1.0f);
  o.initial_movie_factors = DenseMatrix(2, 3, 1.0f);
  EXPECT_NO_THROW(train(tiny(), o));
}

TEST(TrainInitialFactors, WrongShapesAndValuesAreRejected) {
  TrainOptions o;
  o.algorithm = Algorithm::nmf;
  o.rank = 1;
  o.initial_user_factors = DenseMatrix(3, 1, 1.0f);
  o.initial_movie_factors = DenseMatrix(2, 1, 1.0f);
  EXPECT_THROW(
      {
        try {
          train(tiny(), o);
        } catch (const InvalidArgument& e) {
          EXPECT_STREQ(e.what(), "initial user factors must be 2 x 1 (rank), got 3 x 1");
          throw;
        }
      },
      InvalidArgument);
  o.initial_user_factors = DenseMatrix(2, 1, 1.0f);
  o.initial_movie_factors = DenseMatrix(2, 1, -1.0f);
  EXPECT_THROW(train(tiny(), o), InvalidArgument);
  o.initial_movie_factors = DenseMatrix(2, 1, 1.0f);
  o.algorithm = Algorithm::svd;
  EXPECT_THROW(train(tiny(), o), InvalidArgument);
}

}  // namespace
}  // namespace cinefactor
