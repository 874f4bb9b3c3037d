// Randomized SVD on ml-latest-small (610 x 9,724, 100,836 ratings) against scipy's ARPACK singular
// values (tests/golden/svd_ml_latest_small_k50.json, made by scripts/golden/make_svd_golden.py).
//
// The spectrum of this matrix is flat past the first few values (sigma_20 / sigma_50 = 1.34), where a
// randomized range finder converges slowly. Measured over 11 seeds with k = 50 and the defaults
// (p = 10, q = 4): sigma_1..sigma_21 agree within 1e-3 for every seed (21 to 24 of the 50; scikit-learn's
// randomized_svd with the same p and q gets 23 to 24), the worst of the 50 within 3.2e-2. With q = 10:
// the first 38 to 44 within 1e-3, the worst within 1.1e-2.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "cinefactor/dataset.hpp"
#include "cinefactor/train.hpp"
#include "engine/backend.hpp"
#include "test_support.hpp"

namespace cinefactor {
namespace {

std::vector<double> golden_singular_values() {
  std::ifstream in(std::string(CINEFACTOR_SOURCE_DIR) + "/tests/golden/svd_ml_latest_small_k50.json");
  if (!in) throw std::runtime_error("golden file missing: tests/golden/svd_ml_latest_small_k50.json");
  return nlohmann::json::parse(in).at("singular_values").get<std::vector<double>>();
}

// How many leading singular values agree within `tolerance` relative, and the worst relative error.
std::pair<int, double> agreement(const std::vector<float>& ours, const std::vector<double>& ref,
                                 double tolerance) {
  int leading = 0;
  bool broken = false;
  double worst = 0.0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    const double rel = std::abs(ours[i] - ref[i]) / ref[i];
    worst = std::max(worst, rel);
    if (rel >= tolerance) broken = true;
    if (!broken) ++leading;
  }
  return {leading, worst};
}

TEST(SvdMovieLens, TopSingularValuesMatchScipy) {
  CINEFACTOR_REQUIRE_ML_LATEST_SMALL(dir);
  const auto ref = golden_singular_values();
  ASSERT_EQ(ref.size(), 50u);
  LoadOptions load;
  load.use_cache = false;
  const Dataset data = load_dataset(dir, load);
  ASSERT_EQ(data.ratings.n_users(), 610);
  ASSERT_EQ(data.ratings.n_movies(), 9724);

  TrainOptions o;

  o.device = Device::cpu;  // this suite is about the CPU backend
  o.algorithm = Algorithm::svd;
  o.rank = 50;  // oversamples = 10, power_iterations = 4: the defaults
  const Model m = train(data.ratings, o);
  ASSERT_EQ(m.singular_values.size(), 50u);
  const auto [leading, worst] = agreement(m.singular_values, ref, 1e-3);
  EXPECT_GE(leading, 20) << "leading singular values within 1e-3 with the defaults";
  EXPECT_LT(worst, 5e-2);

  engine::SvdSettings more;
  more.rank = 50;
  more.power_iterations = 10;
  const auto svd = engine::make_cpu_backend(0)->truncated_svd(data.ratings, more);
  const auto [leading_more, worst_more] = agreement(svd.sigma, ref, 1e-3);
  EXPECT_GE(leading_more, 36) << "leading singular values within 1e-3 with 10 power iterations";
  EXPECT_LT(worst_more, 2e-2);
}

}  // namespace
}  // namespace cinefactor
