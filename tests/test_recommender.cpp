// Recommender: fold-in against independent references (scikit-learn golden, exhaustive active-set
// NNLS, dense SVD), filters, top-N order and ties, explanations, similar movies, errors, threads.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <algorithm>
#include <atomic>
#include <cmath>
#include <fstream>
#include <functional>
#include <numeric>
#include <random>
#include <set>
#include <thread>

#include "cinefactor/error.hpp"
#include "cinefactor/recommender.hpp"
#include "cinefactor/train.hpp"
#include "core/rating_grid.hpp"
#include "evaluation_support.hpp"
#include "test_support.hpp"

namespace cinefactor {
namespace {

using ::testing::HasSubstr;

const std::vector<std::string> kGenres{"Action", "Comedy", "Drama", "Horror", "Sci-Fi", "Romance"};

// Movie ids are 10*index + 7, so an index is never mistaken for an id.
std::int64_t id_of(std::int32_t index) {
  return 10 * static_cast<std::int64_t>(index) + 7;
}

std::vector<CatalogMovie> make_catalog(std::int32_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<CatalogMovie> catalog(static_cast<std::size_t>(n));
  const std::vector<std::int32_t> years{0, 1950, 1985, 1999, 2000, 2001, 2010, 2020};
  for (std::int32_t j = 0; j < n; ++j) {
    auto& c = catalog[static_cast<std::size_t>(j)];
    c.movie.id = id_of(j);
    c.movie.title = "Movie " + std::to_string(j);
    c.movie.year = years[static_cast<std::size_t>(j) % years.size()];
    for (std::size_t g = 0; g < kGenres.size(); ++g) {
      if ((rng() % 3) == 0) c.movie.genres.push_back(kGenres[g]);
    }
    c.rating_count = static_cast<std::int32_t>(rng() % 60);
    c.rating_mean = 3.0f;
  }
  return catalog;
}

// A model of `algorithm` with random factors (non-negative for NMF), ids and a catalog.
Model make_model(Algorithm algorithm, NmfObjective objective, std::int32_t n_movies, std::int32_t k,
                 std::uint32_t seed, bool biases = false) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  Model m;
  m.algorithm = algorithm;
  m.objective = objective;
  for (std::int32_t j = 0; j < n_movies; ++j) m.movie_ids.push_back(id_of(j));
  m.user_ids = {1, 2};
  if (k > 0) {
    m.movie_factors = DenseMatrix(n_movies, k);
    m.user_factors = DenseMatrix(2, k);
    for (auto& v : m.movie_factors.data)
      v = algorithm == Algorithm::nmf ? unit(rng) * unit(rng) : normal(rng) * 0.3f;
    for (auto& v : m.user_factors.data) v = algorithm == Algorithm::nmf ? unit(rng) : normal(rng);
  }
  if (algorithm == Algorithm::svd) {
    for (std::int32_t f = 0; f < k; ++f) m.singular_values.push_back(static_cast<float>(10 * (k - f)));
  }
  if (biases || algorithm == Algorithm::bias) {
    m.global_offset = 3.5f;
    m.user_bias = {0.1f, -0.2f};
    for (std::int32_t j = 0; j < n_movies; ++j) m.movie_bias.push_back(normal(rng) * 0.3f);
  }
  if (algorithm == Algorithm::nmf && objective == NmfObjective::masked) {
    m.hyperparameters.l2_user = 0.06f;
    m.hyperparameters.l2_movie = 0.06f;
    m.hyperparameters.l2_bias = 0.02f;
    m.hyperparameters.biases = biases;
  }
  m.catalog = make_catalog(n_movies, seed + 1);
  return m;
}

std::vector<VisitorRating> some_ratings(const Model& m, int n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::int32_t> all(static_cast<std::size_t>(m.n_movies()));
  std::iota(all.begin(), all.end(), 0);
  std::shuffle(all.begin(), all.end(), rng);
  std::vector<VisitorRating> out;
  for (int i = 0; i < n; ++i) {
    out.push_back({m.movie_ids[static_cast<std::size_t>(all[static_cast<std::size_t>(i)])],
                   0.5f * static_cast<float>(1 + rng() % 10)});
  }
  return out;
}

Filters no_filters() {
  Filters f;
  f.min_ratings = 0;
  return f;
}

// ---------------------------------------------------------------------------------------------
// Fold-in

// Golden from scikit-learn 1.2.1 NMF.transform (scripts/golden/make_nmf_transform_golden.py).
// Tolerance: |ours - sklearn| <= 1e-6 + 1e-5 * |sklearn| per component (we return float32).
TEST(RecommenderFoldIn, ZeroNmfMatchesScikitLearnTransform) {
  std::ifstream in(std::string(CINEFACTOR_SOURCE_DIR) + "/tests/golden/nmf_transform.json");
  ASSERT_TRUE(in) << "missing tests/golden/nmf_transform.json";
  const auto golden = nlohmann::json::parse(in);
  const auto n = golden.at("n_movies").get<std::int32_t>();
  const auto k = golden.at("rank").get<std::int32_t>();
  const auto components = golden.at("components");
  int checked = 0;
  for (const auto& c : golden.at("cases")) {
    auto m = std::make_shared<Model>();
    m->algorithm = Algorithm::nmf;
    m->objective = NmfObjective::zero;
    m->hyperparameters.max_iterations = c.at("max_iter").get<int>();
    m->hyperparameters.tolerance = c.at("tol").get<double>();
    for (std::int32_t j = 0; j < n; ++j) m->movie_ids.push_back(id_of(j));
    m->movie_factors = DenseMatrix(n, k);
    for (std::int32_t f = 0; f < k; ++f) {
      for (std::int32_t j = 0; j < n; ++j)
        m->movie_factors(j, f) =
            components[static_cast<std::size_t>(f)][static_cast<std::size_t>(j)].get<float>();
    }
    const Recommender rec(m);
    for (const auto& v : c.at("visitors")) {
      std::vector<VisitorRating> ratings;
      for (std::size_t i = 0; i < v.at("movies").size(); ++i) {
        ratings.push_back({id_of(v["movies"][i].get<std::int32_t>()), v["ratings"][i].get<float>()});
      }
      const auto fold = rec.fold_in(ratings);
      ASSERT_EQ(fold.factors.size(), static_cast<std::size_t>(k));
      for (std::int32_t f = 0; f < k; ++f) {
        const double expected = v["w"][static_cast<std::size_t>(f)].get<double>();
        EXPECT_NEAR(fold.factors[static_cast<std::size_t>(f)], expected, 1e-6 + 1e-5 * std::abs(expected))
            << "max_iter " << c["max_iter"] << " tol " << c["tol"] << " visitor with " << ratings.size()
            << " ratings, component " << f;
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, 12);
}

// Reference for the masked fold-in, built from the objective's definition (not from a Gram matrix):
// min |A x - y|^2 over x with x[0..k) >= 0, where A stacks the rated movies' rows [h_i, 1] and the
// regularization rows sqrt(n*l2) * I. Every face of the orthant is tried: the unconstrained least
// squares on a support set (QR), kept when feasible; the best feasible one is the global minimum
// because the problem is strictly convex.
struct Reference {
  Eigen::VectorXd x;
  double objective = 0.0;
};

Reference exhaustive_nnls(const Eigen::MatrixXd& A, const Eigen::VectorXd& y, int nonneg) {
  const auto d = A.cols();
  Reference best;
  best.objective = std::numeric_limits<double>::infinity();
  for (unsigned subset = 0; subset < (1u << nonneg); ++subset) {
    std::vector<Eigen::Index> cols;
    for (Eigen::Index i = 0; i < d; ++i) {
      if (i >= nonneg || (subset >> i) & 1u) cols.push_back(i);
    }
    Eigen::VectorXd x = Eigen::VectorXd::Zero(d);
    if (!cols.empty()) {
      Eigen::MatrixXd As(A.rows(), static_cast<Eigen::Index>(cols.size()));
      for (std::size_t c = 0; c < cols.size(); ++c) As.col(static_cast<Eigen::Index>(c)) = A.col(cols[c]);
      const Eigen::VectorXd xs = As.colPivHouseholderQr().solve(y);
      bool feasible = true;
      for (std::size_t c = 0; c < cols.size(); ++c) {
        if (cols[c] < nonneg && xs[static_cast<Eigen::Index>(c)] < 0.0) feasible = false;
        x[cols[c]] = xs[static_cast<Eigen::Index>(c)];
      }
      if (!feasible) continue;
    }
    const double objective = (A * x - y).squaredNorm();
    if (objective < best.objective) best = {x, objective};
  }
  return best;
}

void check_masked_against_reference(bool biases, std::uint32_t seed) {
  constexpr std::int32_t kMovies = 30;
  constexpr std::int32_t kRank = 6;
  auto m =
      std::make_shared<Model>(make_model(Algorithm::nmf, NmfObjective::masked, kMovies, kRank, seed, biases));
  const Recommender rec(m);
  const auto ratings = some_ratings(*m, 10, seed + 7);
  const auto fold = rec.fold_in(ratings);

  const double n = static_cast<double>(ratings.size());
  const double l2_user = 0.06, l2_bias = 0.02;
  const Eigen::Index d = kRank + (biases ? 1 : 0);
  Eigen::MatrixXd A = Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(ratings.size()) + d, d);
  Eigen::VectorXd y = Eigen::VectorXd::Zero(A.rows());
  for (std::size_t i = 0; i < ratings.size(); ++i) {
    const auto j = *m->movie_index(ratings[i].movie_id);
    for (std::int32_t f = 0; f < kRank; ++f) A(static_cast<Eigen::Index>(i), f) = m->movie_factors(j, f);
    if (biases) A(static_cast<Eigen::Index>(i), kRank) = 1.0;
    y[static_cast<Eigen::Index>(i)] =
        ratings[i].rating - m->global_offset - (biases ? m->movie_bias[static_cast<std::size_t>(j)] : 0.0f);
  }
  for (Eigen::Index f = 0; f < kRank; ++f) A(static_cast<Eigen::Index>(n) + f, f) = std::sqrt(n * l2_user);
  if (biases) A(static_cast<Eigen::Index>(n) + kRank, kRank) = std::sqrt(l2_bias);
  const auto ref = exhaustive_nnls(A, y, kRank);

  // Tolerance 2e-5 absolute: the solver works in double, the result is stored as float32.
  for (std::int32_t f = 0; f < kRank; ++f) {
    EXPECT_NEAR(fold.factors[static_cast<std::size_t>(f)], ref.x[f], 2e-5)
        << "seed " << seed << " factor " << f;
    EXPECT_GE(fold.factors[static_cast<std::size_t>(f)], 0.0f);
  }
  EXPECT_NEAR(fold.bias, biases ? ref.x[kRank] : 0.0, 2e-5) << "seed " << seed;
}

TEST(RecommenderFoldIn, MaskedNmfMatchesExhaustiveActiveSetWithoutBiases) {
  for (std::uint32_t seed = 1; seed <= 15; ++seed) check_masked_against_reference(false, seed);
}

TEST(RecommenderFoldIn, MaskedNmfMatchesExhaustiveActiveSetWithBiases) {
  for (std::uint32_t seed = 101; seed <= 115; ++seed) check_masked_against_reference(true, seed);
}

// At production size (k = 64, 15 ratings) no exhaustive search is possible; check the KKT conditions
// of the objective directly: gradient ~0 on positive coordinates (and the bias), >= 0 on zeros.
// Tolerance 1e-4 relative to the largest gradient term, since the answer is rounded to float32.
TEST(RecommenderFoldIn, MaskedNmfSatisfiesKktAtRank64) {
  constexpr std::int32_t kRank = 64;
  auto m = std::make_shared<Model>(make_model(Algorithm::nmf, NmfObjective::masked, 500, kRank, 77, true));
  const Recommender rec(m);
  const auto ratings = some_ratings(*m, 15, 3);
  const auto fold = rec.fold_in(ratings);
  const double n = 15.0;
  Eigen::VectorXd grad_w = Eigen::VectorXd::Zero(kRank);
  double grad_b = 0.0, scale = 1.0;
  Eigen::Map<const Eigen::VectorXf> w(fold.factors.data(), kRank);
  for (const auto& r : ratings) {
    const auto j = *m->movie_index(r.movie_id);
    const Eigen::Map<const Eigen::VectorXf> h(m->movie_factors.row(j).data(), kRank);
    const double err = m->global_offset + m->movie_bias[static_cast<std::size_t>(j)] + fold.bias +
                       w.cast<double>().dot(h.cast<double>()) - r.rating;
    grad_w += 2.0 * err * h.cast<double>();
    grad_b += 2.0 * err;
    scale = std::max(scale, std::abs(2.0 * r.rating * h.cast<double>().maxCoeff()));
  }
  grad_w += 2.0 * n * 0.06 * w.cast<double>();
  grad_b += 2.0 * 0.02 * fold.bias;
  int zeros = 0;
  for (std::int32_t f = 0; f < kRank; ++f) {
    if (w[f] > 0.0f) {
      EXPECT_NEAR(grad_w[f], 0.0, 1e-4 * scale) << "factor " << f;
    } else {
      ++zeros;
      EXPECT_GE(grad_w[f], -1e-4 * scale) << "factor " << f;
    }
  }
  EXPECT_NEAR(grad_b, 0.0, 1e-4 * scale);
  EXPECT_GT(zeros, 0) << "a rank-64 fold-in from 15 ratings should hit the non-negativity bound";
}

// Without regularization and with exact ratings from a planted non-negative user, fold-in recovers it.
TEST(RecommenderFoldIn, MaskedNmfRecoversPlantedUser) {
  constexpr std::int32_t kRank = 5;
  auto m = std::make_shared<Model>(make_model(Algorithm::nmf, NmfObjective::masked, 40, kRank, 5, true));
  m->hyperparameters.l2_user = 0.0f;
  m->hyperparameters.l2_bias = 0.0f;
  m->hyperparameters.biases = true;
  const std::vector<float> planted{0.8f, 0.0f, 1.3f, 0.0f, 0.4f};
  const float planted_bias = -0.25f;
  std::vector<VisitorRating> ratings;
  for (std::int32_t j = 0; j < 12; ++j) {
    double r = m->global_offset + m->movie_bias[static_cast<std::size_t>(j)] + planted_bias;
    for (std::int32_t f = 0; f < kRank; ++f)
      r += planted[static_cast<std::size_t>(f)] * m->movie_factors(j, f);
    ratings.push_back({id_of(j), static_cast<float>(r)});
  }
  RecommenderOptions options;
  options.scale = {-100.0f, 100.0f};
  const Recommender rec(m, options);
  const auto fold = rec.fold_in(ratings);
  for (std::int32_t f = 0; f < kRank; ++f)
    EXPECT_NEAR(fold.factors[static_cast<std::size_t>(f)], planted[static_cast<std::size_t>(f)], 1e-4);
  EXPECT_NEAR(fold.bias, planted_bias, 1e-4);
}

// SVD: a visitor who gives exactly a trained user's ratings folds in to that user's row of U*Sigma,
// because A V = U Sigma. The reference SVD is Eigen's JacobiSVD of the dense centered matrix
// (unrated = 0 after centering the observed ratings). Tolerance 1e-4 relative (float32 storage).
TEST(RecommenderFoldIn, SvdProjectionEqualsTrainedUserRow) {
  constexpr int kUsers = 30, kMovies = 25, kRank = 4;
  std::mt19937 rng(11);
  Eigen::MatrixXd ratings = Eigen::MatrixXd::Zero(kUsers, kMovies);
  double sum = 0.0;
  int count = 0;
  for (int u = 0; u < kUsers; ++u) {
    for (int j = 0; j < kMovies; ++j) {
      if (rng() % 5 < 2) {
        ratings(u, j) = 0.5 * (1 + rng() % 10);
        sum += ratings(u, j);
        ++count;
      }
    }
  }
  const double mu = sum / count;
  Eigen::MatrixXd centered = ratings;
  for (int u = 0; u < kUsers; ++u) {
    for (int j = 0; j < kMovies; ++j) {
      if (ratings(u, j) != 0.0) centered(u, j) -= mu;
    }
  }
  Eigen::JacobiSVD<Eigen::MatrixXd> svd(centered, Eigen::ComputeThinU | Eigen::ComputeThinV);
  auto m = std::make_shared<Model>();
  m->algorithm = Algorithm::svd;
  m->global_offset = static_cast<float>(mu);
  for (int u = 0; u < kUsers; ++u) m->user_ids.push_back(u + 1);
  for (int j = 0; j < kMovies; ++j) m->movie_ids.push_back(id_of(j));
  m->user_factors = DenseMatrix(kUsers, kRank);
  m->movie_factors = DenseMatrix(kMovies, kRank);
  for (int f = 0; f < kRank; ++f) {
    m->singular_values.push_back(static_cast<float>(svd.singularValues()[f]));
    for (int u = 0; u < kUsers; ++u)
      m->user_factors(u, f) = static_cast<float>(svd.matrixU()(u, f) * svd.singularValues()[f]);
    for (int j = 0; j < kMovies; ++j) m->movie_factors(j, f) = static_cast<float>(svd.matrixV()(j, f));
  }
  const Recommender rec(m);
  for (const int u : {0, 7, 19}) {
    std::vector<VisitorRating> visitor;
    for (int j = 0; j < kMovies; ++j) {
      if (ratings(u, j) != 0.0) visitor.push_back({id_of(j), static_cast<float>(ratings(u, j))});
    }
    const auto fold = rec.fold_in(visitor);
    for (int f = 0; f < kRank; ++f) {
      EXPECT_NEAR(fold.factors[static_cast<std::size_t>(f)], m->user_factors(u, f),
                  1e-4 * (1.0 + std::abs(m->user_factors(u, f))))
          << "user " << u << " factor " << f;
    }
    EXPECT_EQ(fold.bias, 0.0f);
  }
}

TEST(RecommenderFoldIn, BiasModelUserBiasInClosedForm) {
  auto m = std::make_shared<Model>(make_model(Algorithm::bias, NmfObjective::zero, 20, 0, 3));
  m->hyperparameters.l2_bias = 0.5f;
  const Recommender rec(m);
  const auto ratings = some_ratings(*m, 6, 9);
  double sum = 0.0;
  for (const auto& r : ratings)
    sum += r.rating - m->global_offset - m->movie_bias[static_cast<std::size_t>(*m->movie_index(r.movie_id))];
  const auto fold = rec.fold_in(ratings);
  EXPECT_NEAR(fold.bias, sum / (6.0 + 0.5), 1e-6);
  EXPECT_TRUE(fold.factors.empty());
}

TEST(RecommenderFoldIn, RejectsUnknownIdsNamingAllOfThem) {
  auto m = std::make_shared<Model>(make_model(Algorithm::svd, NmfObjective::zero, 20, 3, 1));
  const Recommender rec(m);
  const std::vector<VisitorRating> ratings{{id_of(1), 4.0f}, {999, 3.0f}, {id_of(2), 2.0f}, {123456, 5.0f}};
  try {
    rec.fold_in(ratings);
    FAIL() << "expected InvalidArgument";
  } catch (const InvalidArgument& e) {
    EXPECT_THAT(e.what(), HasSubstr("999"));
    EXPECT_THAT(e.what(), HasSubstr("123456"));
    EXPECT_THAT(e.what(), HasSubstr("unknown movie ids 999, 123456 (not in the svd model)"));
  }
  RecommendRequest request;
  request.ratings = ratings;
  EXPECT_THROW(rec.recommend(request), InvalidArgument);
}

TEST(RecommenderFoldIn, RejectsBadRatings) {
  auto m = std::make_shared<Model>(make_model(Algorithm::nmf, NmfObjective::zero, 20, 3, 1));
  const Recommender rec(m);
  const std::vector<std::vector<VisitorRating>> bad{{{id_of(1), std::nanf("")}},
                                                    {{id_of(1), 5.5f}},
                                                    {{id_of(1), 0.0f}},
                                                    {{id_of(1), 4.0f}, {id_of(1), 3.0f}}};
  // One message format with the CLI and the web API (core/rating_grid.hpp), on the recommender's scale.
  const std::vector<std::string> expected{"movie 17: expected a rating from 0.5 to 5, got nan",
                                          "movie 17: expected a rating from 0.5 to 5, got 5.5",
                                          "movie 17: expected a rating from 0.5 to 5, got 0",
                                          "more than once"};
  for (std::size_t i = 0; i < bad.size(); ++i) {
    try {
      rec.fold_in(bad[i]);
      FAIL() << "case " << i;
    } catch (const InvalidArgument& e) {
      EXPECT_THAT(e.what(), HasSubstr(expected[i]));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Filters, top-N, ties

// Expected result by brute force: every movie scored by the model's formula, filtered by reading the
// catalog directly, fully sorted by (score desc, count desc, id asc).
std::vector<std::int64_t> brute_force(const Model& m, const FoldIn& user,
                                      const std::vector<VisitorRating>& rated,
                                      const std::function<bool(const CatalogMovie&)>& keep, int top_n) {
  std::vector<std::tuple<float, std::int32_t, std::int64_t>> all;
  std::vector<float> scores(static_cast<std::size_t>(m.n_movies()));
  m.score_vector(user.factors, user.bias, scores, user.seen);
  for (std::int32_t j = 0; j < m.n_movies(); ++j) {
    const auto& c = m.catalog[static_cast<std::size_t>(j)];
    if (!keep(c)) continue;
    if (std::any_of(rated.begin(), rated.end(),
                    [&](const VisitorRating& r) { return r.movie_id == c.movie.id; }))
      continue;
    all.emplace_back(scores[static_cast<std::size_t>(j)], c.rating_count, c.movie.id);
  }
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
    if (std::get<0>(a) != std::get<0>(b)) return std::get<0>(a) > std::get<0>(b);
    if (std::get<1>(a) != std::get<1>(b)) return std::get<1>(a) > std::get<1>(b);
    return std::get<2>(a) < std::get<2>(b);
  });
  std::vector<std::int64_t> ids;
  for (std::size_t i = 0; i < all.size() && static_cast<int>(i) < top_n; ++i)
    ids.push_back(std::get<2>(all[i]));
  return ids;
}

std::vector<std::int64_t> ids_of(const std::vector<Recommendation>& recs) {
  std::vector<std::int64_t> ids;
  for (const auto& r : recs) ids.push_back(r.movie_id);
  return ids;
}

bool has_genre(const CatalogMovie& c, const std::string& g) {
  return std::find(c.movie.genres.begin(), c.movie.genres.end(), g) != c.movie.genres.end();
}

TEST(RecommenderFilters, EachFilterMatchesBruteForce) {
  auto m = std::make_shared<Model>(make_model(Algorithm::nmf, NmfObjective::masked, 300, 8, 21, true));
  const Recommender rec(m);
  RecommendRequest request;
  request.ratings = some_ratings(*m, 12, 4);
  request.top_n = 25;
  const auto user = rec.fold_in(request.ratings);

  struct Case {
    std::string name;
    Filters filters;
    std::function<bool(const CatalogMovie&)> keep;
  };
  std::vector<Case> cases;
  cases.push_back({"none", no_filters(), [](const CatalogMovie&) { return true; }});
  {
    Filters f = no_filters();
    f.years = YearFilter::older;
    cases.push_back(
        {"old", f, [](const CatalogMovie& c) { return c.movie.year != 0 && c.movie.year < 2000; }});
    f.years = YearFilter::newer;
    cases.push_back({"new", f, [](const CatalogMovie& c) { return c.movie.year >= 2000; }});
    f.boundary_year = 1990;
    cases.push_back({"new since 1990", f, [](const CatalogMovie& c) { return c.movie.year >= 1990; }});
    f.years = YearFilter::range;
    f.year_from = 1985;
    f.year_to = 2001;
    cases.push_back(
        {"range", f, [](const CatalogMovie& c) { return c.movie.year >= 1985 && c.movie.year <= 2001; }});
  }
  {
    Filters f = no_filters();
    f.genres_any = {"Comedy", "horror"};  // genre names match case-insensitively
    cases.push_back({"genres any", f,
                     [](const CatalogMovie& c) { return has_genre(c, "Comedy") || has_genre(c, "Horror"); }});
    f.genres_none = {"Drama"};
    cases.push_back({"genres any + none", f, [](const CatalogMovie& c) {
                       return (has_genre(c, "Comedy") || has_genre(c, "Horror")) && !has_genre(c, "Drama");
                     }});
  }
  {
    Filters f;  // default min_ratings
    cases.push_back({"default min_ratings", f,
                     [](const CatalogMovie& c) { return c.rating_count >= kDefaultMinRatings; }});
    f.min_ratings = 45;
    f.years = YearFilter::any;
    cases.push_back({"min_ratings 45", f, [](const CatalogMovie& c) { return c.rating_count >= 45; }});
  }
  for (const auto& c : cases) {
    request.filters = c.filters;
    const auto got = rec.recommend(request);
    const auto expected = brute_force(*m, user, request.ratings, c.keep, request.top_n);
    EXPECT_EQ(ids_of(got), expected) << c.name;
    EXPECT_FALSE(got.empty()) << c.name;
  }
}

TEST(RecommenderFilters, AnyKeepsUnknownYearsOtherFiltersDropThem) {
  auto m = std::make_shared<Model>(make_model(Algorithm::popularity, NmfObjective::zero, 40, 0, 2));
  for (std::int32_t j = 0; j < 40; ++j)
    m->movie_bias.push_back(static_cast<float>(m->catalog[static_cast<std::size_t>(j)].rating_count));
  const Recommender rec(m);
  RecommendRequest request;
  request.top_n = 40;
  request.filters = no_filters();
  const auto all = rec.recommend(request);
  EXPECT_EQ(all.size(), 40u);
  auto unknown_years = [&](const std::vector<Recommendation>& recs) {
    return std::count_if(recs.begin(), recs.end(), [&](const Recommendation& r) {
      return m->catalog[static_cast<std::size_t>(r.movie_index)].movie.year == 0;
    });
  };
  EXPECT_GT(unknown_years(all), 0);
  for (const auto years : {YearFilter::older, YearFilter::newer}) {
    request.filters.years = years;
    const auto some = rec.recommend(request);
    EXPECT_EQ(unknown_years(some), 0);
    EXPECT_LT(some.size(), all.size());
  }
}

TEST(RecommenderFilters, RatedMoviesAreExcluded) {
  auto m = std::make_shared<Model>(make_model(Algorithm::svd, NmfObjective::zero, 50, 4, 8));
  const Recommender rec(m);
  RecommendRequest request;
  request.ratings = some_ratings(*m, 10, 1);
  request.filters = no_filters();
  request.top_n = 100;
  const auto got = rec.recommend(request);
  EXPECT_EQ(got.size(), 40u);
  for (const auto& r : got) {
    for (const auto& v : request.ratings) EXPECT_NE(r.movie_id, v.movie_id);
  }
}

TEST(RecommenderFilters, BadFiltersAreErrors) {
  auto m = std::make_shared<Model>(make_model(Algorithm::svd, NmfObjective::zero, 50, 4, 8));
  const Recommender rec(m);
  RecommendRequest request;
  request.filters.genres_any = {"Western", "Comedy", "Noir"};
  try {
    rec.recommend(request);
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_THAT(e.what(), HasSubstr("'Western'"));
    EXPECT_THAT(e.what(), HasSubstr("'Noir'"));
    EXPECT_THAT(e.what(), HasSubstr("Sci-Fi"));  // lists what the catalog has
  }
  request.filters = no_filters();
  request.filters.years = YearFilter::range;
  request.filters.year_from = 2010;
  request.filters.year_to = 2000;
  EXPECT_THROW(rec.recommend(request), InvalidArgument);
  request.filters = no_filters();
  request.filters.min_ratings = -1;
  EXPECT_THROW(rec.recommend(request), InvalidArgument);
  request.filters = no_filters();
  request.top_n = 0;
  EXPECT_THROW(rec.recommend(request), InvalidArgument);

  auto bare = std::make_shared<Model>(*m);
  bare->catalog.clear();
  const Recommender no_catalog(bare);
  RecommendRequest defaults;  // default min_ratings needs rating counts
  EXPECT_THROW(no_catalog.recommend(defaults), InvalidArgument);
  defaults.filters = no_filters();
  EXPECT_EQ(no_catalog.recommend(defaults).size(), 10u);
}

TEST(RecommenderFilters, YearFilterNames) {
  EXPECT_EQ(parse_year_filter("old"), YearFilter::older);
  EXPECT_EQ(parse_year_filter("new"), YearFilter::newer);
  EXPECT_EQ(parse_year_filter("any"), YearFilter::any);
  EXPECT_FALSE(parse_year_filter("recent").has_value());
  EXPECT_EQ(year_filter_name(YearFilter::older), "old");
}

// The one FROM-TO grammar of the CLI's --years and the web API's years parameter.
TEST(RecommenderFilters, YearsGrammar) {
  struct Case {
    std::string text;
    YearFilter years;
    std::int32_t from, to;
  };
  for (const auto& c : std::vector<Case>{{"any", YearFilter::any, 0, 0},
                                         {"old", YearFilter::older, 0, 0},
                                         {"new", YearFilter::newer, 0, 0},
                                         {"1980-1999", YearFilter::range, 1980, 1999},
                                         {"-1979", YearFilter::range, 0, 1979},
                                         {"2005-", YearFilter::range, 2005, kMaxYear},
                                         {"1990-1990", YearFilter::range, 1990, 1990}}) {
    Filters f;
    parse_years(c.text, f);
    EXPECT_EQ(f.years, c.years) << c.text;
    if (c.years == YearFilter::range) {
      EXPECT_EQ(f.year_from, c.from) << c.text;
      EXPECT_EQ(f.year_to, c.to) << c.text;
    }
  }
  for (const std::string bad :
       {"", "-", "range", "recent", "19x0-2000", "1980-1999-2000", "10000-", "--5", " 1980-1999", "1980"}) {
    Filters f;
    try {
      parse_years(bad, f);
      FAIL() << '"' << bad << '"';
    } catch (const InvalidArgument& e) {
      EXPECT_EQ(std::string(e.what()),
                "expected old, new, any or a range FROM-TO like 1980-1999, got \"" + bad + "\"");
    }
  }
  Filters f;
  try {
    parse_years("2000-1990", f);
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_STREQ(e.what(), "the range 2000-1990 is empty (from > to)");
  }
  // A range set in code is checked with the same words.
  auto m = std::make_shared<Model>(make_model(Algorithm::svd, NmfObjective::zero, 50, 4, 8));
  RecommendRequest request;
  request.filters = no_filters();
  request.filters.years = YearFilter::range;
  request.filters.year_from = 2010;
  request.filters.year_to = 2000;
  try {
    Recommender(m).recommend(request);
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_STREQ(e.what(), "the range 2010-2000 is empty (from > to)");
  }
  EXPECT_THROW(set_year_range(f, 5, 4), InvalidArgument);
  set_year_range(f, std::nullopt, 1950);
  EXPECT_EQ(f.years, YearFilter::range);
  EXPECT_EQ(f.year_from, 0);
  EXPECT_EQ(f.year_to, 1950);
}

// The one half-star rule (core/rating_grid.hpp) the CLI, the web API and the rating form share.
TEST(RatingGrid, HalfStarsAndOneMessage) {
  for (const double r : {0.5, 1.0, 2.5, 4.5, 5.0}) EXPECT_TRUE(on_rating_grid(r, kHalfStars)) << r;
  for (const double r : {0.0, 4.25, 5.5, -0.5, 4.5000001, std::nan(""), HUGE_VAL})
    EXPECT_FALSE(on_rating_grid(r, kHalfStars)) << r;
  EXPECT_TRUE(on_rating_grid(0.0, RatingGrid{0.0f, 5.0f, 0.5f}));
  EXPECT_TRUE(on_rating_grid(3.7, RatingGrid{0.5f, 5.0f, 0.0f}));
  EXPECT_FALSE(on_rating_grid(std::nan(""), RatingGrid{0.5f, 5.0f, 0.0f}));
  try {
    check_rating(4.25, kHalfStars, "--rate \"1=4.25\"", "4.25");
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_STREQ(e.what(), "--rate \"1=4.25\": expected a rating from 0.5 to 5 in steps of 0.5, got 4.25");
  }
  EXPECT_NO_THROW(check_rating(4.5, kHalfStars, "x"));
  EXPECT_EQ(describe_rating_grid(RatingGrid{1.0f, 5.0f, 1.0f}), "a rating from 1 to 5 in steps of 1");
}

// Ties: equal scores (a bias model with repeated movie biases) are ordered by more ratings, then lower id.
TEST(RecommenderTopN, TiesAreBrokenByCountThenId) {
  auto m = std::make_shared<Model>(make_model(Algorithm::bias, NmfObjective::zero, 60, 0, 13));
  for (std::int32_t j = 0; j < 60; ++j) {
    m->movie_bias[static_cast<std::size_t>(j)] = static_cast<float>(j % 3) * 0.25f;
    m->catalog[static_cast<std::size_t>(j)].rating_count = 30 + (j % 4 == 0 ? 5 : 0);
  }
  const Recommender rec(m);
  RecommendRequest request;
  request.filters = no_filters();
  request.ratings = {{id_of(2), 4.0f}};
  const auto user = rec.fold_in(request.ratings);
  for (const int n : {1, 5, 13, 59, 200}) {
    request.top_n = n;
    const auto got = rec.recommend(request);
    EXPECT_EQ(ids_of(got), brute_force(
                               *m, user, request.ratings, [](const CatalogMovie&) { return true; }, n))
        << n;
  }
  request.top_n = 3;
  const auto top = rec.recommend(request);
  // Bias 0.5 for j % 3 == 2; among those j % 4 == 0 has more ratings: j = 8, 20, 32, 44, 56.
  EXPECT_EQ(ids_of(top), (std::vector<std::int64_t>{id_of(8), id_of(20), id_of(32)}));
  EXPECT_FLOAT_EQ(top[0].score, m->global_offset + user.bias + 0.5f);
}

TEST(RecommenderTopN, ScoresArePredictionsOfTheFoldedInUser) {
  for (const auto algorithm : {Algorithm::nmf, Algorithm::svd}) {
    auto m = std::make_shared<Model>(make_model(algorithm, NmfObjective::zero, 200, 10, 31));
    const Recommender rec(m);
    RecommendRequest request;
    request.filters = no_filters();
    request.ratings = some_ratings(*m, 15, 2);
    const auto user = rec.fold_in(request.ratings);
    for (const auto& r : rec.recommend(request)) {
      double expected = m->global_offset;
      for (std::int32_t f = 0; f < 10; ++f)
        expected += user.factors[static_cast<std::size_t>(f)] * m->movie_factors(r.movie_index, f);
      EXPECT_NEAR(r.score, expected, 1e-5 * (1.0 + std::abs(expected)));
      EXPECT_EQ(r.rating_count, m->catalog[static_cast<std::size_t>(r.movie_index)].rating_count);
    }
  }
}

// A visitor without ratings gets the model's prior: for zero-NMF every score is 0, so the most rated come
// first.
TEST(RecommenderTopN, ColdStartFallsBackToPopularity) {
  auto m = std::make_shared<Model>(make_model(Algorithm::nmf, NmfObjective::zero, 100, 6, 17));
  const Recommender rec(m);
  RecommendRequest request;
  request.filters = no_filters();
  request.top_n = 5;
  const auto got = rec.recommend(request);
  ASSERT_EQ(got.size(), 5u);
  for (std::size_t i = 1; i < got.size(); ++i) EXPECT_GE(got[i - 1].rating_count, got[i].rating_count);
}

// The masked NMF without biases has no offset: a movie without training ratings, and every movie for a
// visitor who rated none the model saw, is predicted by the fallback (the training mean), never 0 stars.
TEST(RecommenderTopN, UnseenMoviesAndVisitorsGetTheFallback) {
  constexpr std::int32_t kUsers = 12, kMovies = 8, kUnseen = 6;
  std::vector<test::Cell> cells;
  for (std::int32_t u = 0; u < kUsers; ++u) {
    for (std::int32_t j = 0; j < kMovies; ++j) {
      if (j != kUnseen && (u + j) % 3 != 0)
        cells.push_back({u, j, 0.5f * static_cast<float>(1 + (u * 7 + j * 3) % 10)});
    }
  }
  const auto ratings = test::make_matrix(kUsers, kMovies, cells);
  TrainOptions options;
  options.algorithm = Algorithm::nmf;
  options.objective = NmfObjective::masked;
  options.rank = 2;
  options.max_iterations = 50;
  options.threads = 1;
  const auto model = std::make_shared<Model>(train(ratings, options));
  const auto mean = static_cast<float>(ratings.global_mean());
  const Recommender rec(model);
  RecommendRequest request;
  request.filters = no_filters();
  request.top_n = kMovies;
  request.explain = 0;
  auto score_of = [&](std::int32_t movie) {
    for (const auto& r : rec.recommend(request)) {
      if (r.movie_index == movie) return r.score;
    }
    ADD_FAILURE() << "movie " << movie << " not recommended";
    return 0.0f;
  };

  request.ratings = {{test::movie_id_of(0), 4.0f}, {test::movie_id_of(1), 2.5f}};
  EXPECT_TRUE(rec.fold_in(request.ratings).seen);
  EXPECT_FLOAT_EQ(score_of(kUnseen), mean);
  EXPECT_GT(std::abs(score_of(2) - mean), 1e-4f);  // a seen movie: the factor product

  // No ratings, or only ratings of unseen movies: an unseen visitor, the training mean on every movie.
  for (const auto& visitor :
       {std::vector<VisitorRating>{}, std::vector<VisitorRating>{{test::movie_id_of(kUnseen), 5.0f}}}) {
    request.ratings = visitor;
    EXPECT_FALSE(rec.fold_in(request.ratings).seen);
    for (const auto& r : rec.recommend(request)) EXPECT_FLOAT_EQ(r.score, mean) << r.movie_index;
  }
}

// ---------------------------------------------------------------------------------------------
// Explanations

TEST(RecommenderExplain, SvdContributionsDecomposeTheScoreExactly) {
  auto m = std::make_shared<Model>(make_model(Algorithm::svd, NmfObjective::zero, 120, 8, 41));
  m->global_offset = 3.4f;
  const Recommender rec(m);
  RecommendRequest request;
  request.filters = no_filters();
  request.ratings = some_ratings(*m, 12, 6);
  request.top_n = 8;
  const auto recs = rec.recommend(request);
  ASSERT_EQ(recs.size(), 8u);
  for (const auto& r : recs) {
    const auto all = rec.contributions(request.ratings, r.movie_id);
    ASSERT_EQ(all.size(), request.ratings.size());
    double sum = m->global_offset, abs_sum = 0.0, share_abs = 0.0;
    for (std::size_t i = 0; i < all.size(); ++i) {
      sum += all[i].contribution;
      abs_sum += std::abs(all[i].contribution);
      share_abs += std::abs(all[i].share);
      if (i > 0) {
        EXPECT_GE(all[i - 1].contribution, all[i].contribution);
      }
    }
    // Tolerance 1e-4: float32 terms summed in a different order than the matrix-vector product.
    EXPECT_NEAR(sum, r.score, 1e-4);
    EXPECT_NEAR(share_abs, 1.0, 1e-5);
    ASSERT_LE(r.because.size(), 3u);
    for (std::size_t i = 0; i < r.because.size(); ++i) {
      EXPECT_EQ(r.because[i].movie_id, all[i].movie_id);
      EXPECT_GT(r.because[i].contribution, 0.0f);
      EXPECT_NEAR(r.because[i].share, r.because[i].contribution / abs_sum, 1e-5);
    }
  }
}

TEST(RecommenderExplain, NmfAttributionUsesPositivelyRatedMovies) {
  auto m = std::make_shared<Model>(make_model(Algorithm::nmf, NmfObjective::zero, 120, 8, 43));
  const Recommender rec(m);
  RecommendRequest request;
  request.filters = no_filters();
  request.ratings = some_ratings(*m, 10, 8);
  request.explain = 2;
  double mean = 0.0;
  for (const auto& r : request.ratings) mean += r.rating;
  mean /= 10.0;
  for (const auto& r : rec.recommend(request)) {
    ASSERT_EQ(r.because.size(), 2u);
    const auto all = rec.contributions(request.ratings, r.movie_id);
    double share_sum = 0.0;
    for (const auto& c : all) {
      EXPECT_GE(c.rating, mean);
      share_sum += c.share;
      // rating * cosine(h_rated, h_recommended), recomputed here in double.
      const auto i = *m->movie_index(c.movie_id);
      double dot = 0.0, ni = 0.0, nj = 0.0;
      for (std::int32_t f = 0; f < 8; ++f) {
        dot += m->movie_factors(i, f) * m->movie_factors(r.movie_index, f);
        ni += m->movie_factors(i, f) * m->movie_factors(i, f);
        nj += m->movie_factors(r.movie_index, f) * m->movie_factors(r.movie_index, f);
      }
      EXPECT_NEAR(c.contribution, c.rating * dot / std::sqrt(ni * nj), 1e-5);
    }
    EXPECT_NEAR(share_sum, 1.0, 1e-5);
    EXPECT_GE(r.because[0].contribution, r.because[1].contribution);
  }
}

// Results carry their catalog entries, so callers (the server, the CLI) look nothing up again.
TEST(RecommenderExplain, ResultsCarryTheirCatalogEntries) {
  auto m = std::make_shared<Model>(make_model(Algorithm::svd, NmfObjective::zero, 80, 6, 5));
  const Recommender rec(m);
  RecommendRequest request;
  request.filters = no_filters();
  request.ratings = some_ratings(*m, 8, 3);
  const auto recs = rec.recommend(request);
  ASSERT_FALSE(recs.empty());
  for (const auto& r : recs) {
    EXPECT_EQ(r.movie, &m->catalog[static_cast<std::size_t>(r.movie_index)]);
    for (const auto& c : r.because) EXPECT_EQ(c.movie, &m->catalog[static_cast<std::size_t>(c.movie_index)]);
  }
  for (const auto& s : rec.similar(recs[0].movie_id, no_filters(), 5))
    EXPECT_EQ(s.movie, &m->catalog[static_cast<std::size_t>(s.movie_index)]);
  auto bare = std::make_shared<Model>(*m);
  bare->catalog.clear();
  for (const auto& r : Recommender(bare).recommend(request)) EXPECT_EQ(r.movie, nullptr);
}

TEST(RecommenderExplain, ModelsWithoutFactorsExplainNothing) {
  auto m = std::make_shared<Model>(make_model(Algorithm::bias, NmfObjective::zero, 30, 0, 2));
  const Recommender rec(m);
  RecommendRequest request;
  request.filters = no_filters();
  request.ratings = some_ratings(*m, 4, 1);
  for (const auto& r : rec.recommend(request)) EXPECT_TRUE(r.because.empty());
}

// ---------------------------------------------------------------------------------------------
// Similar movies

TEST(RecommenderSimilar, CosineMatchesBruteForce) {
  for (const auto algorithm : {Algorithm::nmf, Algorithm::svd}) {
    auto m = std::make_shared<Model>(make_model(algorithm, NmfObjective::zero, 150, 6, 51));
    const Recommender rec(m);
    for (const std::int32_t min_ratings : {0, 20, 45}) {  // 45 takes the scoring path over the popular subset
      Filters filters = no_filters();
      filters.genres_none = {"Horror"};
      filters.min_ratings = min_ratings;
      const std::int32_t q = 17;
      std::vector<std::pair<double, std::int64_t>> expected;
      auto weight = [&](std::int32_t f) {
        return algorithm == Algorithm::svd ? double(m->singular_values[static_cast<std::size_t>(f)]) *
                                                 m->singular_values[static_cast<std::size_t>(f)]
                                           : 1.0;
      };
      for (std::int32_t j = 0; j < 150; ++j) {
        const auto& c = m->catalog[static_cast<std::size_t>(j)];
        if (j == q || has_genre(c, "Horror") || c.rating_count < min_ratings) continue;
        double dot = 0.0, nq = 0.0, nj = 0.0;
        for (std::int32_t f = 0; f < 6; ++f) {
          dot += weight(f) * m->movie_factors(q, f) * m->movie_factors(j, f);
          nq += weight(f) * m->movie_factors(q, f) * m->movie_factors(q, f);
          nj += weight(f) * m->movie_factors(j, f) * m->movie_factors(j, f);
        }
        expected.emplace_back(dot / std::sqrt(nq * nj), id_of(j));
      }
      std::sort(expected.begin(), expected.end(),
                [](const auto& a, const auto& b) { return a.first > b.first; });
      const auto got = rec.similar(id_of(q), filters, 10);
      ASSERT_EQ(got.size(), 10u);
      for (std::size_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(got[i].movie_id, expected[i].second) << algorithm_name(algorithm) << " rank " << i;
        EXPECT_NEAR(got[i].similarity, expected[i].first, 1e-5);
        EXPECT_NE(got[i].movie_id, id_of(q));
      }
    }
  }
}

TEST(RecommenderSimilar, ErrorsForModelsWithoutFactorsAndUnknownIds) {
  auto bias = std::make_shared<Model>(make_model(Algorithm::bias, NmfObjective::zero, 30, 0, 2));
  const Recommender b(bias);
  try {
    b.similar(id_of(3), no_filters(), 5);
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_THAT(e.what(), HasSubstr("no factors"));
  }
  auto svd = std::make_shared<Model>(make_model(Algorithm::svd, NmfObjective::zero, 30, 3, 2));
  const Recommender s(svd);
  EXPECT_THAT([&] { s.similar(4242, no_filters(), 5); },
              ::testing::ThrowsMessage<InvalidArgument>(HasSubstr("4242")));
}

// ---------------------------------------------------------------------------------------------
// Threads

TEST(RecommenderThreads, ConcurrentRequestsGiveIdenticalResults) {
  for (const auto objective : {NmfObjective::zero, NmfObjective::masked}) {
    auto m = std::make_shared<Model>(
        make_model(Algorithm::nmf, objective, 2000, 16, 61, objective == NmfObjective::masked));
    const Recommender rec(m);
    constexpr int kRequests = 16;
    std::vector<RecommendRequest> requests(kRequests);
    std::vector<std::vector<Recommendation>> expected(kRequests);
    for (int i = 0; i < kRequests; ++i) {
      requests[static_cast<std::size_t>(i)].ratings = some_ratings(*m, 5 + i, static_cast<std::uint32_t>(i));
      requests[static_cast<std::size_t>(i)].filters.years = i % 2 ? YearFilter::newer : YearFilter::any;
      expected[static_cast<std::size_t>(i)] = rec.recommend(requests[static_cast<std::size_t>(i)]);
    }
    constexpr int kThreads = 8, kRounds = 20;
    std::atomic<int> mismatches{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int round = 0; round < kRounds; ++round) {
          const auto i = static_cast<std::size_t>((t * 7 + round) % kRequests);
          const auto got = rec.recommend(requests[i]);
          bool same = got.size() == expected[i].size();
          for (std::size_t r = 0; same && r < got.size(); ++r) {
            same = got[r].movie_id == expected[i][r].movie_id && got[r].score == expected[i][r].score &&
                   got[r].because.size() == expected[i][r].because.size();
          }
          if (!same) ++mismatches;
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(mismatches.load(), 0);
  }
}

}  // namespace
}  // namespace cinefactor
