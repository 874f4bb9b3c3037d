// Every backend against the CPU reference: each algorithm (factorizing and ranking) run on every backend
// from the same initialization, by typed tests over the backends; the CUDA ones GTEST_SKIP with the
// probe's reason on a machine without a usable device. The device policy has its own suite
// (test_device_policy.cpp).
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <algorithm>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "backend_kinds.hpp"
#include "cinefactor/device.hpp"
#include "cinefactor/error.hpp"
#include "cinefactor/evaluation.hpp"
#include "cinefactor/metrics.hpp"
#include "cinefactor/model_file.hpp"
#include "cinefactor/recommender.hpp"
#include "cinefactor/train.hpp"
#include "engine/backend.hpp"
#include "engine/nmf_init.hpp"
#include "evaluation_support.hpp"
#include "test_support.hpp"

namespace cinefactor {
namespace {

using engine::Backend;

// Tolerances (relative) between the backends: float32 sums in a different order (cuSPARSE, cuBLAS and
// warp reductions against the CPU's blocked sums) drift apart by ~1e-6 per iteration.
constexpr double kNmfLossTolerance = 1e-3;
constexpr double kSvdSigmaTolerance = 1e-4;
// The loss a backend reports against the loss recomputed densely (double) from its returned factors.
constexpr double kDenseLossTolerance = 1e-4;
constexpr int kIterations = 40;
constexpr int kTopN = 10;
constexpr int kMinTopOverlap = 9;

// A low-rank non-negative rating matrix observed at `observed` density: users x movies, ratings in [0.5, 5].
RatingMatrix fixture(int users = 240, int movies = 180, int true_rank = 6, std::uint64_t seed = 11,
                     float observed = 0.2f) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  Eigen::MatrixXf a(users, true_rank);
  Eigen::MatrixXf b(movies, true_rank);
  for (int i = 0; i < a.size(); ++i) a.data()[i] = unit(rng);
  for (int i = 0; i < b.size(); ++i) b.data()[i] = unit(rng);
  const Eigen::MatrixXf full = a * b.transpose();
  const float scale = 4.5f / full.maxCoeff();
  std::vector<RatingEntry> entries;
  for (int u = 0; u < users; ++u) {
    for (int j = 0; j < movies; ++j) {
      if (unit(rng) >= observed) continue;
      const float r = std::round((0.5f + full(u, j) * scale) * 2.0f) / 2.0f;  // half stars
      entries.push_back({u + 1, j + 1, std::min(r, 5.0f), 0});
    }
  }
  return RatingMatrix::from_entries(std::move(entries));
}

Eigen::MatrixXd dense(const RatingMatrix& x) {
  Eigen::MatrixXd d = Eigen::MatrixXd::Zero(x.n_users(), x.n_movies());
  const auto& csr = x.by_user();
  for (std::int32_t u = 0; u < csr.rows; ++u) {
    for (auto e = csr.row_begin(u); e < csr.row_end(u); ++e) {
      d(u, csr.indices[static_cast<std::size_t>(e)]) = csr.values[static_cast<std::size_t>(e)];
    }
  }
  return d;
}

Eigen::MatrixXd as_dense(const DenseMatrix& m) {
  Eigen::MatrixXd d(m.rows, m.cols);
  for (std::int64_t r = 0; r < m.rows; ++r) {
    for (std::int64_t c = 0; c < m.cols; ++c) d(r, c) = m(r, c);
  }
  return d;
}

// The masked objective recomputed from the state, in double.
double masked_loss(const RatingMatrix& x, const engine::MaskedNmfSettings& s,
                   const engine::MaskedNmfState& st) {
  const Eigen::MatrixXd w = as_dense(st.factors.w);
  const Eigen::MatrixXd h = as_dense(st.factors.ht);
  const auto& csr = x.by_user();
  double loss = 0.0;
  for (std::int32_t u = 0; u < csr.rows; ++u) {
    loss += s.l2_user * static_cast<double>(csr.row_nnz(u)) * w.row(u).squaredNorm();
    for (auto e = csr.row_begin(u); e < csr.row_end(u); ++e) {
      const auto j = csr.indices[static_cast<std::size_t>(e)];
      double pred = w.row(u).dot(h.row(j));
      if (s.biases)
        pred += st.global_offset + st.user_bias[static_cast<std::size_t>(u)] +
                st.movie_bias[static_cast<std::size_t>(j)];
      const double resid = csr.values[static_cast<std::size_t>(e)] - pred;
      loss += resid * resid;
    }
  }
  for (std::int32_t j = 0; j < x.n_movies(); ++j) {
    loss += s.l2_movie * static_cast<double>(x.movie_count(j)) * h.row(j).squaredNorm();
  }
  if (s.biases) {
    for (const float b : st.user_bias) loss += s.l2_bias * static_cast<double>(b) * b;
    for (const float b : st.movie_bias) loss += s.l2_bias * static_cast<double>(b) * b;
  }
  return loss;
}

void expect_relative(double got, double want, double tolerance, const std::string& what) {
  EXPECT_LE(std::abs(got - want), tolerance * std::abs(want)) << what << ": got " << got << ", want " << want;
}

void expect_histories_match(const engine::IterationLog& got, const engine::IterationLog& want) {
  ASSERT_EQ(got.iterations, want.iterations);
  ASSERT_EQ(got.loss_history.size(), want.loss_history.size());
  for (std::size_t i = 0; i < got.loss_history.size(); ++i) {
    expect_relative(got.loss_history[i], want.loss_history[i], kNmfLossTolerance,
                    "loss at iteration " + std::to_string(i + 1));
  }
}

// Movie indices of the top-n scores of user u.
std::vector<std::int32_t> top_movies(const Model& model, std::int32_t user, int n) {
  std::vector<float> scores(static_cast<std::size_t>(model.n_movies()));
  model.score_user(user, scores);
  std::vector<std::int32_t> order(scores.size());
  for (std::size_t j = 0; j < order.size(); ++j) order[j] = static_cast<std::int32_t>(j);
  std::partial_sort(order.begin(), order.begin() + n, order.end(), [&](std::int32_t a, std::int32_t b) {
    return scores[static_cast<std::size_t>(a)] > scores[static_cast<std::size_t>(b)];
  });
  order.resize(static_cast<std::size_t>(n));
  return order;
}

template <typename A, typename B>
int overlap(const A& a, const B& b) {
  const std::set<typename A::value_type> sa(a.begin(), a.end());
  return static_cast<int>(std::count_if(b.begin(), b.end(), [&](const auto& v) { return sa.count(v) > 0; }));
}

// ---------------------------------------------------------------------------------------------------
// Backends

using test::OnCpu;
using test::OnCuda;

template <typename Kind>
class BackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const std::string why = Kind::unavailable(); !why.empty()) GTEST_SKIP() << why;
    backend_ = Kind::make();
    reference_ = engine::make_cpu_backend(0);
  }
  engine::IterationControl control() const {
    engine::IterationControl c;
    c.max_iterations = kIterations;
    c.tolerance = 0.0;
    return c;
  }
  // The masked NMF from `init` on this backend and on the CPU: the same loss history, and the loss this
  // backend reports equal to the one recomputed densely from the state it returns.
  engine::MaskedNmfState expect_masked_like_the_cpu(const RatingMatrix& x, const engine::MaskedNmfSettings& s,
                                                    const engine::MaskedNmfState& init) {
    engine::MaskedNmfState got = init;
    engine::MaskedNmfState want = init;
    const auto log = backend_->nmf_masked(x, s, got, control());
    const auto ref = reference_->nmf_masked(x, s, want, control());
    expect_histories_match(log, ref);
    expect_relative(log.loss_history.back(), masked_loss(x, s, got), kDenseLossTolerance,
                    "reported vs recomputed loss");
    return got;
  }
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<Backend> reference_;
};

TYPED_TEST_SUITE(BackendTest, test::Backends, test::BackendNames);

TYPED_TEST(BackendTest, NmfZeroMatchesTheCpuAndItsOwnLoss) {
  const RatingMatrix x = fixture();
  constexpr int kRank = 8;
  const double mean =
      x.global_mean() * static_cast<double>(x.nnz()) / (static_cast<double>(x.n_users()) * x.n_movies());
  const engine::NmfFactors init = engine::nmf_init_random(x.n_users(), x.n_movies(), kRank, mean, 5);
  engine::NmfFactors got = init;
  engine::NmfFactors want = init;
  const auto log = this->backend_->nmf_zero(x, got, this->control());
  const auto ref = this->reference_->nmf_zero(x, want, this->control());
  expect_histories_match(log, ref);
  // The reported loss is 0.5 ||X - W H||^2 of the returned factors (dense, double).
  const double dense_loss = 0.5 * (dense(x) - as_dense(got.w) * as_dense(got.ht).transpose()).squaredNorm();
  expect_relative(log.loss_history.back(), dense_loss, kDenseLossTolerance, "reported vs recomputed loss");
  EXPECT_LT(log.loss_history.back(), log.loss_history.front());
}

TYPED_TEST(BackendTest, NmfMaskedMatchesTheCpuWithAndWithoutBiases) {
  const RatingMatrix x = fixture();
  constexpr int kRank = 8;
  for (const bool biases : {false, true}) {
    SCOPED_TRACE(biases ? "with biases" : "without biases");
    engine::MaskedNmfSettings s;
    s.biases = biases;
    engine::MaskedNmfState init;
    init.global_offset = biases ? static_cast<float>(x.global_mean()) : 0.0f;
    init.factors = engine::nmf_init_random(x.n_users(), x.n_movies(), kRank, x.global_mean(), 9);
    engine::fit_scale_to_observed(x, init.global_offset, init.factors);
    const engine::MaskedNmfState got = this->expect_masked_like_the_cpu(x, s, init);
    ASSERT_EQ(got.user_bias.size(), biases ? static_cast<std::size_t>(x.n_users()) : 0u);
    ASSERT_EQ(got.movie_bias.size(), biases ? static_cast<std::size_t>(x.n_movies()) : 0u);
  }
}

// Movies rated by ~1,200 users each: on the GPU these rows exceed kLongRowEntries (1,024) and take the
// block-per-row path of the masked kernel.
TYPED_TEST(BackendTest, NmfMaskedMatchesTheCpuOnLongRows) {
  const RatingMatrix x = fixture(1500, 40, 4, 23, 0.8f);
  ASSERT_GT(x.movie_count(0), 1024);
  engine::MaskedNmfSettings s;
  s.biases = true;
  engine::MaskedNmfState init;
  init.global_offset = static_cast<float>(x.global_mean());
  init.factors =
      engine::nmf_init_random(x.n_users(), x.n_movies(), 33, x.global_mean(), 4);  // 2 factors per lane
  engine::fit_scale_to_observed(x, init.global_offset, init.factors);
  this->expect_masked_like_the_cpu(x, s, init);
}

// Users with ~1,200 ratings each: the user side's long rows, without biases (no second walk over the
// entries), at k = 100 (4 factors per lane).
TYPED_TEST(BackendTest, NmfMaskedMatchesTheCpuOnLongUserRowsWithoutBiases) {
  const RatingMatrix x = fixture(40, 1500, 4, 29, 0.8f);
  ASSERT_GT(x.by_user().row_nnz(0), 1024);
  engine::MaskedNmfSettings s;
  s.biases = false;
  engine::MaskedNmfState init;
  init.factors = engine::nmf_init_random(x.n_users(), x.n_movies(), 100, x.global_mean(), 6);
  engine::fit_scale_to_observed(x, init.global_offset, init.factors);
  this->expect_masked_like_the_cpu(x, s, init);
}

// Fewer users than movies (the QR workspace sized by the movie side), no power iteration and two, and
// both bases orthonormal.
TYPED_TEST(BackendTest, SvdOfAWideMatrixWithAndWithoutPowerIterations) {
  const RatingMatrix x = fixture(120, 300, 6, 31, 0.3f);
  ASSERT_LT(x.n_users(), x.n_movies());
  for (const int power_iterations : {0, 2}) {
    SCOPED_TRACE("power iterations " + std::to_string(power_iterations));
    engine::SvdSettings s;
    s.rank = 8;
    s.power_iterations = power_iterations;
    const auto got = this->backend_->truncated_svd(x, s);
    const auto want = this->reference_->truncated_svd(x, s);
    ASSERT_EQ(got.sigma.size(), want.sigma.size());
    for (std::size_t c = 0; c < got.sigma.size(); ++c) {
      expect_relative(got.sigma[c], want.sigma[c], kSvdSigmaTolerance, "sigma " + std::to_string(c));
    }
    const Eigen::MatrixXd u = as_dense(got.u);
    const Eigen::MatrixXd v = as_dense(got.v);
    const Eigen::MatrixXd identity = Eigen::MatrixXd::Identity(s.rank, s.rank);
    EXPECT_LT((u.transpose() * u - identity).cwiseAbs().maxCoeff(), 1e-4);
    EXPECT_LT((v.transpose() * v - identity).cwiseAbs().maxCoeff(), 1e-4);
  }
}

TYPED_TEST(BackendTest, SvdMatchesTheCpuAndTheDenseSvd) {
  const RatingMatrix x = fixture();
  for (const bool center : {false, true}) {
    SCOPED_TRACE(center ? "centered" : "not centered");
    engine::SvdSettings s;
    s.rank = 6;
    s.center = center;
    const auto got = this->backend_->truncated_svd(x, s);
    const auto want = this->reference_->truncated_svd(x, s);
    ASSERT_EQ(got.sigma.size(), want.sigma.size());
    for (std::size_t c = 0; c < got.sigma.size(); ++c) {
      expect_relative(got.sigma[c], want.sigma[c], kSvdSigmaTolerance, "sigma " + std::to_string(c));
    }
    EXPECT_FLOAT_EQ(got.offset, want.offset);
    // The leading singular value against a dense SVD of the same (implicitly centered) matrix.
    Eigen::MatrixXd d = dense(x);
    if (center) {
      for (Eigen::Index i = 0; i < d.size(); ++i) {
        if (d.data()[i] != 0.0) d.data()[i] -= got.offset;
      }
    }
    const Eigen::JacobiSVD<Eigen::MatrixXd> exact(d);
    expect_relative(got.sigma[0], exact.singularValues()(0), kSvdSigmaTolerance,
                    "leading sigma vs dense SVD");
    // Orthonormal columns.
    const Eigen::MatrixXd u = as_dense(got.u);
    EXPECT_LT((u.transpose() * u - Eigen::MatrixXd::Identity(s.rank, s.rank)).cwiseAbs().maxCoeff(), 1e-4);
  }
}

// The same train() call on this backend and on the CPU: nearly the same top-10 for sample users, and a
// model file trained here recommends through the CPU-side Recommender like the in-memory model.
TYPED_TEST(BackendTest, TrainedModelsRecommendLikeTheCpuAndSurviveAFile) {
  const RatingMatrix x = fixture();
  TrainOptions o;
  o.algorithm = Algorithm::nmf;
  o.objective = NmfObjective::masked;
  o.biases = true;
  o.rank = 8;
  o.max_iterations = 60;
  o.tolerance = 0.0;
  o.device = TypeParam::kDevice;
  TrainReport report;
  Model model = train(x, o, &report);
  EXPECT_EQ(report.device.rfind(device_name(TypeParam::kDevice), 0), 0u) << report.device;
  o.device = Device::cpu;
  const Model reference = train(x, o);
  for (const std::int32_t user : {0, 17, 101, 239}) {
    EXPECT_GE(overlap(top_movies(model, user, kTopN), top_movies(reference, user, kTopN)), kMinTopOverlap)
        << "user " << user;
  }

  for (std::size_t j = 0; j < model.movie_ids.size(); ++j) {
    CatalogMovie entry;
    entry.movie.id = model.movie_ids[j];
    entry.movie.title = "Movie " + std::to_string(entry.movie.id);
    entry.rating_count = x.movie_count(static_cast<std::int32_t>(j));
    entry.rating_mean = x.movie_means()[j];
    model.catalog.push_back(entry);
  }
  test::TempDir dir;
  save_model(model, dir / "model.cfm");
  const auto loaded = std::make_shared<const Model>(load_model(dir / "model.cfm"));
  const auto in_memory = std::make_shared<const Model>(std::move(model));
  RecommendRequest request;
  request.filters.min_ratings = 0;
  request.top_n = kTopN;
  for (const std::int64_t movie : {1, 2, 3, 5, 8}) request.ratings.push_back({movie, 4.5f});
  for (const std::int64_t movie : {13, 21}) request.ratings.push_back({movie, 1.0f});
  const auto from_file = Recommender(loaded).recommend(request);
  const auto direct = Recommender(in_memory).recommend(request);
  ASSERT_EQ(from_file.size(), static_cast<std::size_t>(kTopN));
  ASSERT_EQ(direct.size(), from_file.size());
  for (std::size_t i = 0; i < direct.size(); ++i) {
    EXPECT_EQ(from_file[i].movie_id, direct[i].movie_id);
    EXPECT_FLOAT_EQ(from_file[i].score, direct[i].score);
  }
}

// The metrics of `lists` (one best-first list per evaluated user), computed here from the public per-user
// metric: the reference the ranking of both backends is held to.
struct ReferenceRanking {
  std::map<int, RankingAtK> at_k;
  std::int64_t users = 0;
};

ReferenceRanking full_sort_reference(const Model& model, const RatingMatrix& train, const RatingMatrix& test,
                                     const std::vector<int>& ks, float threshold, int min_ratings) {
  const int max_k = *std::max_element(ks.begin(), ks.end());
  const auto& test_csr = test.by_user();
  const auto& train_csr = train.by_user();
  std::vector<std::vector<std::int32_t>> lists;
  std::vector<std::vector<std::int32_t>> relevant;
  for (std::int32_t u = 0; u < test.n_users(); ++u) {
    std::vector<std::int32_t> rel;
    for (auto e = test_csr.row_begin(u); e < test_csr.row_end(u); ++e) {
      if (test_csr.values[static_cast<std::size_t>(e)] >= threshold)
        rel.push_back(test_csr.indices[static_cast<std::size_t>(e)]);
    }
    if (rel.empty()) continue;
    std::vector<std::pair<float, std::int32_t>> candidates;
    for (std::int32_t j = 0; j < model.n_movies(); ++j) {
      const auto begin = train_csr.indices.begin() + train_csr.row_begin(u);
      const auto end = train_csr.indices.begin() + train_csr.row_end(u);
      if (std::binary_search(begin, end, j)) continue;
      float score = model.movie_bias[static_cast<std::size_t>(j)];
      for (int c = 0; c < model.rank(); ++c) score += model.user_factors(u, c) * model.movie_factors(j, c);
      if (std::isnan(score) || train.movie_count(j) < min_ratings)
        score = -std::numeric_limits<float>::infinity();
      candidates.emplace_back(score, j);
    }
    std::sort(candidates.begin(), candidates.end(), [](const auto& a, const auto& b) {
      return a.first > b.first || (a.first == b.first && a.second < b.second);
    });
    std::vector<std::int32_t> list;
    for (std::size_t i = 0; i < candidates.size() && i < static_cast<std::size_t>(max_k); ++i) {
      list.push_back(candidates[i].second);
    }
    lists.push_back(std::move(list));
    relevant.push_back(std::move(rel));
  }
  ReferenceRanking out;
  out.users = static_cast<std::int64_t>(lists.size());
  for (const int k : ks) {
    RankingAtK r;
    r.k = k;
    std::set<std::int32_t> covered;
    for (std::size_t e = 0; e < lists.size(); ++e) {
      const auto m = user_ranking_metrics(lists[e], relevant[e], k);
      r.precision += m.precision;
      r.recall += m.recall;
      r.ndcg += m.ndcg;
      r.map += m.average_precision;
      r.hitrate += m.hit;
      for (std::size_t i = 0; i < lists[e].size() && i < static_cast<std::size_t>(k); ++i)
        covered.insert(lists[e][i]);
    }
    const double n = static_cast<double>(lists.size());
    r.precision /= n;
    r.recall /= n;
    r.ndcg /= n;
    r.map /= n;
    r.hitrate /= n;
    r.coverage = static_cast<double>(covered.size()) / model.n_movies();
    out.at_k[k] = r;
  }
  return out;
}

// Scores exact in float on every device (small integer factors, dyadic movie biases), a NaN bias and a
// popularity floor: the backend's lists must be exactly those of a full sort, so every metric agrees to
// rounding, at cut-offs that take each list capacity of the GPU kernel (16, 32, 64, 128, 256) and with
// more movies than threads per block.
TYPED_TEST(BackendTest, RankingEqualsAFullSortOnExactScores) {
  constexpr std::int32_t kUsers = 300;
  constexpr std::int32_t kMovies = 700;
  constexpr int kRank = 5;
  constexpr int kMinRatings = 12;
  constexpr double kTolerance = 1e-12;  // the same lists: the sums differ in rounding only
  const RatingMatrix train = test::random_matrix(kUsers, kMovies, 60, 1);
  const RatingMatrix held_out = test::random_matrix(kUsers, kMovies, 30, 2);
  Model model;
  model.algorithm = Algorithm::nmf;
  model.objective = NmfObjective::masked;
  model.user_ids.assign(train.user_ids().begin(), train.user_ids().end());
  model.movie_ids.assign(train.movie_ids().begin(), train.movie_ids().end());
  model.user_factors = DenseMatrix(kUsers, kRank);
  model.movie_factors = DenseMatrix(kMovies, kRank);
  std::mt19937_64 rng(5);
  for (auto& v : model.user_factors.data) v = static_cast<float>(rng() % 3);
  for (auto& v : model.movie_factors.data) v = static_cast<float>(rng() % 3);
  model.movie_bias.resize(kMovies);
  for (auto& b : model.movie_bias) b = 0.5f * static_cast<float>(rng() % 5);
  model.movie_bias[17] = std::numeric_limits<float>::quiet_NaN();

  const std::vector<int> ks{1, 10, 16, 17, 40, 100, 200};
  RankingOptions options;
  options.ks = ks;
  options.show_progress = false;
  options.min_ratings = kMinRatings;
  options.device = TypeParam::kDevice;
  // With the factors, and without (rank 0, 0 x 0 factor matrices as a model file of a baseline holds):
  // then the movie biases alone rank.
  for (const bool factors : {true, false}) {
    SCOPED_TRACE(factors ? "rank 5" : "rank 0");
    if (!factors) {
      model.user_factors = DenseMatrix();
      model.movie_factors = DenseMatrix();
    }
    const RankingReport got = ranking_metrics(model, train, held_out, options);
    EXPECT_EQ(got.device.rfind(device_name(TypeParam::kDevice), 0), 0u) << got.device;
    const ReferenceRanking want =
        full_sort_reference(model, train, held_out, ks, options.relevance_threshold, kMinRatings);
    ASSERT_EQ(got.users_evaluated, want.users);
    ASSERT_EQ(got.at_k.size(), ks.size());
    for (const auto& r : got.at_k) {
      SCOPED_TRACE("k = " + std::to_string(r.k));
      const RankingAtK& w = want.at_k.at(r.k);
      EXPECT_NEAR(r.precision, w.precision, kTolerance);
      EXPECT_NEAR(r.recall, w.recall, kTolerance);
      EXPECT_NEAR(r.ndcg, w.ndcg, kTolerance);
      EXPECT_NEAR(r.map, w.map, kTolerance);
      EXPECT_NEAR(r.hitrate, w.hitrate, kTolerance);
      EXPECT_NEAR(r.coverage, w.coverage, kTolerance);
    }
  }
}

// A trained model (float scores, summed in a different order on each device): the metrics of this
// backend's lists within 0.01 of the CPU's (one swapped neighbour in one list moves precision@10 by
// 1 / (10 x users)).
TYPED_TEST(BackendTest, RankingOfATrainedModelAgreesWithTheCpu) {
  const RatingMatrix x = fixture();
  const TrainTestSplit split = holdout_split(x, SplitOptions{SplitKind::random, 0.2, 42});
  TrainOptions o;
  o.algorithm = Algorithm::svd;
  o.rank = 8;
  o.device = Device::cpu;
  const Model model = train(split.train, o);
  RankingOptions options;
  options.ks = {5, 10};
  options.show_progress = false;
  options.device = Device::cpu;
  const RankingReport want = ranking_metrics(model, split.train, split.test, options);
  options.device = TypeParam::kDevice;
  const RankingReport got = ranking_metrics(model, split.train, split.test, options);
  ASSERT_EQ(got.users_evaluated, want.users_evaluated);
  ASSERT_EQ(got.at_k.size(), want.at_k.size());
  constexpr double kTolerance = 0.01;
  for (std::size_t i = 0; i < got.at_k.size(); ++i) {
    EXPECT_NEAR(got.at_k[i].precision, want.at_k[i].precision, kTolerance);
    EXPECT_NEAR(got.at_k[i].ndcg, want.at_k[i].ndcg, kTolerance);
    EXPECT_NEAR(got.at_k[i].coverage, want.at_k[i].coverage, kTolerance);
  }
  EXPECT_GT(got.at_k.back().ndcg, 0.0);
}

}  // namespace
}  // namespace cinefactor
