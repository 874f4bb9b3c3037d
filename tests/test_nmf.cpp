// NMF on the CPU backend: the `zero` objective against scikit-learn golden values (updates, loss,
// nndsvda and random inits), the `masked` objective against a dense double-precision reference of the
// same updates, monotone loss, determinism and the divergence guard.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numbers>
#include <random>

#include "cinefactor/error.hpp"
#include "cinefactor/train.hpp"
#include "engine/backend.hpp"
#include "engine/nmf_init.hpp"
#include "engine/nmf_objective.hpp"
#include "test_support.hpp"

namespace cinefactor {
namespace {

using Eigen::MatrixXd;
using Eigen::VectorXd;

nlohmann::json load_golden(const std::string& name) {
  std::ifstream in(std::string(CINEFACTOR_SOURCE_DIR) + "/tests/golden/" + name);
  if (!in) throw std::runtime_error("golden file missing: tests/golden/" + name);
  return nlohmann::json::parse(in);
}

MatrixXd to_eigen(const nlohmann::json& rows) {
  MatrixXd m(static_cast<Eigen::Index>(rows.size()), static_cast<Eigen::Index>(rows.at(0).size()));
  for (Eigen::Index r = 0; r < m.rows(); ++r) {
    for (Eigen::Index c = 0; c < m.cols(); ++c)
      m(r, c) = rows.at(static_cast<std::size_t>(r)).at(static_cast<std::size_t>(c));
  }
  return m;
}

MatrixXd to_eigen(const DenseMatrix& m) {
  MatrixXd out(m.rows, m.cols);
  for (std::int64_t r = 0; r < m.rows; ++r) {
    for (std::int64_t c = 0; c < m.cols; ++c) out(r, c) = m(r, c);
  }
  return out;
}

DenseMatrix to_dense(const MatrixXd& m) {
  DenseMatrix out(m.rows(), m.cols());
  for (Eigen::Index r = 0; r < m.rows(); ++r) {
    for (Eigen::Index c = 0; c < m.cols(); ++c) out(r, c) = static_cast<float>(m(r, c));
  }
  return out;
}

double relative_difference(const MatrixXd& a, const MatrixXd& b) {
  return (a - b).norm() / b.norm();
}

// Rows and columns of the golden matrix become user and movie ids, so dense indices equal them.
RatingMatrix golden_matrix(const nlohmann::json& g) {
  std::vector<RatingEntry> entries;
  for (const auto& e : g.at("entries")) {
    entries.push_back({e.at(0).get<std::int64_t>(), e.at(1).get<std::int64_t>(), e.at(2).get<float>(), 0});
  }
  auto m = RatingMatrix::from_entries(std::move(entries));
  EXPECT_EQ(m.n_users(), g.at("rows").get<int>()) << "every golden row must have a rating";
  EXPECT_EQ(m.n_movies(), g.at("cols").get<int>()) << "every golden column must have a rating";
  return m;
}

MatrixXd dense_of(const RatingMatrix& m) {
  MatrixXd x = MatrixXd::Zero(m.n_users(), m.n_movies());
  const auto& csr = m.by_user();
  for (std::int32_t u = 0; u < csr.rows; ++u) {
    for (auto e = csr.row_begin(u); e < csr.row_end(u); ++e) {
      x(u, csr.indices[static_cast<std::size_t>(e)]) = csr.values[static_cast<std::size_t>(e)];
    }
  }
  return x;
}

// A random sparse matrix with half-star ratings in which every user and movie has a rating.
RatingMatrix random_ratings(int users, int movies, double density, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<RatingEntry> entries;
  for (int u = 0; u < users; ++u) {
    for (int j = 0; j < movies; ++j) {
      if (unit(rng) < density || j == u % movies || u == j % users) {
        entries.push_back({u, j, 0.5f * static_cast<float>(1 + rng() % 10), 0});
      }
    }
  }
  return RatingMatrix::from_entries(std::move(entries));
}

// ---------------------------------------------------------------------------------------------
// zero objective vs scikit-learn

TEST(NmfZero, MatchesScikitLearnMultiplicativeUpdatesFromGivenFactors) {
  const auto g = load_golden("nmf_zero_50it.json");
  const auto ratings = golden_matrix(g);
  engine::NmfFactors f{to_dense(to_eigen(g.at("W0"))), to_dense(to_eigen(g.at("H0")).transpose())};
  engine::IterationControl control;
  control.max_iterations = g.at("iterations").get<int>();
  control.tolerance = 0.0;
  const auto log = engine::make_cpu_backend(0)->nmf_zero(ratings, f, control);
  ASSERT_EQ(log.iterations, 50);

  const MatrixXd w = to_eigen(f.w);
  const MatrixXd h = to_eigen(f.ht).transpose();
  const MatrixXd w_ref = to_eigen(g.at("W"));
  const MatrixXd h_ref = to_eigen(g.at("H"));
  // Tolerance 1e-4 relative (Frobenius): float32 here against float64 in scikit-learn over 50 updates.
  constexpr double kTolerance = 1e-4;
  EXPECT_LT(relative_difference(w * h, w_ref * h_ref), kTolerance);
  EXPECT_LT(relative_difference(w, w_ref), kTolerance);
  EXPECT_LT(relative_difference(h, h_ref), kTolerance);
  const double loss_ref = g.at("loss").get<double>();
  EXPECT_NEAR(log.loss_history.back(), loss_ref, kTolerance * loss_ref);
  // The reported loss is 0.5 ||X - W H||^2, checked densely here.
  EXPECT_NEAR(0.5 * (dense_of(ratings) - w * h).squaredNorm(), log.loss_history.back(), 1e-5 * loss_ref);
}

TEST(NmfZero, LossNeverIncreases) {
  const auto ratings = random_ratings(120, 70, 0.2, 3);
  auto f = engine::nmf_init_random(ratings.n_users(), ratings.n_movies(), 6, 0.5, 11);
  engine::IterationControl control;
  control.max_iterations = 60;
  control.tolerance = 0.0;
  const auto log = engine::make_cpu_backend(0)->nmf_zero(ratings, f, control);
  ASSERT_EQ(log.loss_history.size(), 60u);
  for (std::size_t i = 1; i < log.loss_history.size(); ++i) {
    EXPECT_LE(log.loss_history[i], log.loss_history[i - 1] * (1 + 1e-6)) << "iteration " << i + 1;
  }
}

TEST(NmfInit, NndsvdaMatchesScikitLearn) {
  // A matrix on which scikit-learn's randomized_svd is exact (rank + 10 oversamples >= 12 columns); ours
  // gets the same oversampling, so both inits come from the exact SVD.
  const auto g = load_golden("nmf_zero_50it.json").at("nndsvda");
  const auto ratings = golden_matrix(g);
  engine::SvdSettings settings;
  settings.rank = g.at("rank").get<int>();
  settings.oversamples = 10;
  const auto svd = engine::make_cpu_backend(0)->truncated_svd(ratings, settings);
  const auto f = engine::nmf_init_nndsvda(svd, g.at("matrix_mean").get<double>());
  // Tolerance 1e-4 relative: float32 SVD against scikit-learn's float64 one.
  EXPECT_LT(relative_difference(to_eigen(f.w), to_eigen(g.at("W"))), 1e-4);
  EXPECT_LT(relative_difference(to_eigen(f.ht).transpose(), to_eigen(g.at("H"))), 1e-4);
}

TEST(NmfInit, RandomHasScikitLearnsScaleAndDistribution) {
  const auto g = load_golden("nmf_zero_50it.json");
  const double mean = g.at("matrix_mean").get<double>();
  const int k = g.at("rank").get<int>();
  // sqrt(mean / k) * |N(0, 1)|: expected value sqrt(mean / k) * sqrt(2 / pi), variance (mean / k)(1 - 2 /
  // pi).
  const double scale = std::sqrt(mean / k);
  const double expected_mean = scale * std::sqrt(2.0 / std::numbers::pi);
  const auto f = engine::nmf_init_random(3000, 2000, k, mean, 5);
  double sum = 0.0;
  double sum_sq = 0.0;
  std::size_t count = 0;
  for (const auto* m : {&f.w, &f.ht}) {
    for (float v : m->data) {
      ASSERT_GE(v, 0.0f);
      sum += v;
      sum_sq += static_cast<double>(v) * v;
      ++count;
    }
  }
  const double sample_mean = sum / static_cast<double>(count);
  const double sample_var = sum_sq / static_cast<double>(count) - sample_mean * sample_mean;
  // 25,000 samples: the standard error of the mean is ~0.4% of it; 2% is > 4 standard errors.
  EXPECT_NEAR(sample_mean, expected_mean, 0.02 * expected_mean);
  EXPECT_NEAR(sample_var, scale * scale * (1.0 - 2.0 / std::numbers::pi), 0.03 * scale * scale);
  // scikit-learn's own draw on the golden matrix has the same scale (500 samples: within 15%).
  const MatrixXd w_ref = to_eigen(g.at("random_W"));
  const MatrixXd h_ref = to_eigen(g.at("random_H"));
  const double ref_mean = (w_ref.sum() + h_ref.sum()) / static_cast<double>(w_ref.size() + h_ref.size());
  EXPECT_NEAR(ref_mean, expected_mean, 0.15 * expected_mean);
  // Deterministic for a seed, different across seeds.
  EXPECT_EQ(engine::nmf_init_random(30, 20, k, mean, 5).w.data,
            engine::nmf_init_random(30, 20, k, mean, 5).w.data);
  EXPECT_NE(engine::nmf_init_random(30, 20, k, mean, 5).w.data,
            engine::nmf_init_random(30, 20, k, mean, 6).w.data);
}

// ---------------------------------------------------------------------------------------------
// masked objective vs a dense reference

struct DenseMaskedReference {
  MatrixXd r, mask;  // ratings (0 where unrated) and the 0/1 mask
  MatrixXd w, h;     // users x k, movies x k
  VectorXd bu, bj;
  double mu = 0.0;
  double l2_user = 0.0, l2_movie = 0.0, l2_bias = 0.0;
  bool biases = false;
  static constexpr double kEps = engine::kMuEpsilon;

  MatrixXd prediction() const {
    MatrixXd p = w * h.transpose();
    if (biases) {
      p.array() += mu;
      p.colwise() += bu;
      p.rowwise() += bj.transpose();
    }
    return p;
  }
  // What the factors fit: the ratings minus the bias terms (may be negative).
  MatrixXd target() const {
    MatrixXd y = r;
    if (biases) {
      y.array() -= mu;
      y.colwise() -= bu;
      y.rowwise() -= bj.transpose();
    }
    return y;
  }
  // One iteration as documented in engine/backend.hpp: users (factors, then bias), then movies.
  double iterate() {
    const VectorXd n_u = mask.rowwise().sum();
    const VectorXd n_j = mask.colwise().sum().transpose();
    {
      const MatrixXd y = target();
      const MatrixXd num = mask.cwiseProduct(y.cwiseMax(0.0)) * h;
      const MatrixXd den =
          (mask.cwiseProduct(w * h.transpose() + (-y).cwiseMax(0.0)) * h + l2_user * n_u.asDiagonal() * w)
              .array() +
          kEps;
      w = w.cwiseProduct(num.cwiseQuotient(den));
      if (biases) {
        MatrixXd resid = r - w * h.transpose();
        resid.array() -= mu;
        resid.rowwise() -= bj.transpose();
        bu = mask.cwiseProduct(resid).rowwise().sum().cwiseQuotient((n_u.array() + l2_bias).matrix());
      }
    }
    {
      const MatrixXd y = target();
      const MatrixXd num = mask.cwiseProduct(y.cwiseMax(0.0)).transpose() * w;
      const MatrixXd den = (mask.cwiseProduct(w * h.transpose() + (-y).cwiseMax(0.0)).transpose() * w +
                            l2_movie * n_j.asDiagonal() * h)
                               .array() +
                           kEps;
      h = h.cwiseProduct(num.cwiseQuotient(den));
      if (biases) {
        MatrixXd resid = r - w * h.transpose();
        resid.array() -= mu;
        resid.colwise() -= bu;
        bj = mask.cwiseProduct(resid).colwise().sum().transpose().cwiseQuotient(
            (n_j.array() + l2_bias).matrix());
      }
    }
    const double sse = mask.cwiseProduct(r - prediction()).squaredNorm();
    double loss = sse + l2_user * (n_u.asDiagonal() * w.rowwise().squaredNorm()).sum() +
                  l2_movie * (n_j.asDiagonal() * h.rowwise().squaredNorm()).sum();
    if (biases) loss += l2_bias * (bu.squaredNorm() + bj.squaredNorm());
    return loss;
  }
};

void expect_masked_matches_reference(bool biases) {
  const auto ratings = random_ratings(50, 35, 0.25, biases ? 21 : 20);
  constexpr int kRank = 4;
  constexpr int kIterations = 25;
  engine::MaskedNmfSettings settings{0.05f, 0.08f, biases, 0.5f};
  engine::MaskedNmfState state;
  state.factors = engine::nmf_init_random(ratings.n_users(), ratings.n_movies(), kRank, 3.0, 9);
  state.global_offset = biases ? static_cast<float>(ratings.global_mean()) : 0.0f;

  DenseMaskedReference ref;
  ref.r = dense_of(ratings);
  ref.mask = (ref.r.array() != 0.0).cast<double>();
  ref.w = to_eigen(state.factors.w);
  ref.h = to_eigen(state.factors.ht);
  ref.bu = VectorXd::Zero(ratings.n_users());
  ref.bj = VectorXd::Zero(ratings.n_movies());
  ref.mu = state.global_offset;
  ref.l2_user = settings.l2_user;
  ref.l2_movie = settings.l2_movie;
  ref.l2_bias = settings.l2_bias;
  ref.biases = biases;

  engine::IterationControl control;
  control.max_iterations = kIterations;
  control.tolerance = 0.0;
  const auto log = engine::make_cpu_backend(0)->nmf_masked(ratings, settings, state, control);
  ASSERT_EQ(log.loss_history.size(), static_cast<std::size_t>(kIterations));
  // Tolerance 1e-4 relative: float32 sweeps against the double-precision dense reference.
  constexpr double kTolerance = 1e-4;
  for (int it = 0; it < kIterations; ++it) {
    const double loss = ref.iterate();
    EXPECT_NEAR(log.loss_history[static_cast<std::size_t>(it)], loss, kTolerance * loss)
        << "iteration " << it + 1;
  }
  EXPECT_LT(relative_difference(to_eigen(state.factors.w), ref.w), kTolerance);
  EXPECT_LT(relative_difference(to_eigen(state.factors.ht), ref.h), kTolerance);
  if (biases) {
    ASSERT_EQ(state.user_bias.size(), static_cast<std::size_t>(ratings.n_users()));
    const VectorXd bu =
        Eigen::Map<const Eigen::VectorXf>(state.user_bias.data(), ratings.n_users()).cast<double>();
    const VectorXd bj =
        Eigen::Map<const Eigen::VectorXf>(state.movie_bias.data(), ratings.n_movies()).cast<double>();
    EXPECT_LT((bu - ref.bu).norm(), kTolerance * (1.0 + ref.bu.norm()));
    EXPECT_LT((bj - ref.bj).norm(), kTolerance * (1.0 + ref.bj.norm()));
  } else {
    EXPECT_TRUE(state.user_bias.empty());
  }
}

TEST(NmfMasked, MatchesDenseReferenceWithoutBiases) {
  expect_masked_matches_reference(false);
}
TEST(NmfMasked, MatchesDenseReferenceWithBiases) {
  expect_masked_matches_reference(true);
}

TEST(NmfMasked, LossDecreasesMonotonicallyWithoutBiases) {
  const auto ratings = random_ratings(200, 120, 0.1, 4);
  engine::MaskedNmfState state;
  state.factors = engine::nmf_init_random(ratings.n_users(), ratings.n_movies(), 8, 3.5, 2);
  engine::IterationControl control;
  control.max_iterations = 80;
  control.tolerance = 0.0;
  const auto log =
      engine::make_cpu_backend(0)->nmf_masked(ratings, {0.06f, 0.06f, false, 0.0f}, state, control);
  ASSERT_EQ(log.loss_history.size(), 80u);
  for (std::size_t i = 1; i < log.loss_history.size(); ++i) {
    EXPECT_LE(log.loss_history[i], log.loss_history[i - 1] * (1 + 1e-6)) << "iteration " << i + 1;
  }
  EXPECT_LT(log.loss_history.back(), 0.5 * log.loss_history.front());
}

// ---------------------------------------------------------------------------------------------
// through train()

TEST(NmfTrain, DeterministicForASeedWhateverTheThreadCount) {
  // Enough ratings (> 2 x kMinRatingsPerThread) that two threads really share the work.
  const auto ratings = random_ratings(1000, 800, 0.06, 8);
  ASSERT_GT(ratings.nnz(), 40000)
      << "two threads need 2 x kMinRatingsPerThread (cpu/cpu_backend.hpp) ratings";
  for (auto objective : {NmfObjective::zero, NmfObjective::masked}) {
    TrainOptions o;
    o.device = Device::cpu;  // this suite is about the CPU backend
    o.algorithm = Algorithm::nmf;
    o.objective = objective;
    o.rank = 8;
    o.max_iterations = 15;
    o.biases = objective == NmfObjective::masked;
    o.threads = 1;
    const Model a = train(ratings, o);
    o.threads = 2;
    const Model b = train(ratings, o);
    const Model c = train(ratings, o);
    EXPECT_EQ(a.user_factors.data, b.user_factors.data);
    EXPECT_EQ(a.movie_factors.data, b.movie_factors.data);
    EXPECT_EQ(b.user_factors.data, c.user_factors.data);
    EXPECT_EQ(a.user_bias, b.user_bias);
    o.seed = 43;
    o.init = NmfInit::random;
    const Model d = train(ratings, o);
    EXPECT_NE(d.user_factors.data, c.user_factors.data);
  }
}

TEST(NmfTrain, ModelReportAndCallback) {
  const auto ratings = random_ratings(80, 60, 0.15, 5);
  TrainOptions o;
  o.device = Device::cpu;  // this suite is about the CPU backend
  o.algorithm = Algorithm::nmf;
  o.objective = NmfObjective::masked;
  o.biases = true;
  o.rank = 5;
  o.max_iterations = 12;
  o.tolerance = 0.0;
  std::vector<IterationInfo> seen;
  o.on_iteration = [&seen](const IterationInfo& info) { seen.push_back(info); };
  TrainReport report;
  const Model m = train(ratings, o, &report);
  EXPECT_EQ(report.device, "cpu");
  EXPECT_EQ(report.iterations, 12);
  ASSERT_EQ(report.loss_history.size(), 12u);
  ASSERT_EQ(seen.size(), 12u);
  for (std::size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].iteration, static_cast<int>(i) + 1);
    EXPECT_EQ(seen[i].loss, report.loss_history[i]);
  }
  EXPECT_EQ(m.rank(), 5);
  EXPECT_EQ(m.user_factors.rows, ratings.n_users());
  EXPECT_EQ(m.movie_factors.rows, ratings.n_movies());
  EXPECT_FLOAT_EQ(m.global_offset, static_cast<float>(ratings.global_mean()));
  EXPECT_EQ(m.user_bias.size(), static_cast<std::size_t>(ratings.n_users()));
  EXPECT_TRUE(m.predicts_ratings());
  EXPECT_EQ(m.data_fingerprint, fingerprint(ratings));
  EXPECT_EQ(m.hyperparameters.objective, NmfObjective::masked);
  EXPECT_EQ(m.hyperparameters.iterations_run, 12);
  for (float v : m.user_factors.data) ASSERT_GE(v, 0.0f);
  // The model reproduces the training ratings better than the global mean does.
  double sse_model = 0.0;
  double sse_mean = 0.0;
  const auto& csr = ratings.by_user();
  for (std::int32_t u = 0; u < csr.rows; ++u) {
    for (auto e = csr.row_begin(u); e < csr.row_end(u); ++e) {
      const double r = csr.values[static_cast<std::size_t>(e)];
      sse_model += std::pow(r - m.predict(u, csr.indices[static_cast<std::size_t>(e)]), 2);
      sse_mean += std::pow(r - ratings.global_mean(), 2);
    }
  }
  EXPECT_LT(sse_model, 0.7 * sse_mean);
}

TEST(NmfTrain, StopsEarlyWhenTheLossSettles) {
  const auto ratings = random_ratings(80, 60, 0.15, 6);
  TrainOptions o;
  o.device = Device::cpu;  // this suite is about the CPU backend
  o.algorithm = Algorithm::nmf;
  o.rank = 4;
  o.max_iterations = 1000;
  o.tolerance = 1e-3;
  TrainReport report;
  train(ratings, o, &report);
  ASSERT_GE(report.iterations, 2);
  EXPECT_LT(report.iterations, 1000);
  const auto& h = report.loss_history;
  EXPECT_LT(std::abs(h[h.size() - 2] - h.back()) / h[h.size() - 2], 1e-3);
  for (std::size_t i = 1; i + 1 < h.size(); ++i) EXPECT_GE(std::abs(h[i - 1] - h[i]) / h[i - 1], 1e-3);
}

TEST(NmfTrain, NonFiniteLossIsAnErrorNamingTheIteration) {
  // Values near FLT_MAX overflow the float factors: training must stop with an error, not a NaN model.
  std::vector<RatingEntry> entries{
      {0, 0, 3.0e38f, 0}, {0, 1, 3.0e38f, 0}, {1, 0, 3.0e38f, 0}, {1, 1, 1.0f, 0}};
  const auto ratings = RatingMatrix::from_entries(entries);
  TrainOptions o;
  o.device = Device::cpu;  // this suite is about the CPU backend
  o.algorithm = Algorithm::nmf;
  o.init = NmfInit::random;
  o.rank = 2;
  o.max_iterations = 20;
  for (auto objective : {NmfObjective::zero, NmfObjective::masked}) {
    o.objective = objective;
    try {
      train(ratings, o);
      ADD_FAILURE() << "expected divergence for " << objective_name(objective);
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("diverged at iteration "), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace cinefactor
