// The engine through the CLI, end to end, as a user runs it: synthesize a dataset, train models,
// recommend from a few ratings (ids and title fragments, filters, JSON), evaluate, and the errors.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "cinefactor/device.hpp"
#include "core/rating_grid.hpp"
#include "test_support.hpp"

namespace cinefactor {
namespace {

using test::run_cli;

class CliEngine : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    const auto data = (*dir_ / "synth").string();
    const auto synth = run_cli({"-q", "data", "synth", "--preset", "small", "--seed", "7", "--out", data});
    ASSERT_EQ(synth.exit_code, 0) << synth.err;
    for (const std::string algo : {"nmf", "svd", "als"}) {
      const auto r = run_cli({"-q", "train", "--data", data, "--algo", algo, "-k", "16", "--iterations", "60",
                              "--out", (*dir_ / (algo + ".cfm")).string(), "--json"});
      ASSERT_EQ(r.exit_code, 0) << r.err;
      const auto summary = nlohmann::json::parse(r.out);
      EXPECT_EQ(summary.at("algorithm"), algo);
      EXPECT_EQ(summary.at("rank"), 16);
      EXPECT_EQ(summary.at("users"), 610);
    }
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::string data() { return (*dir_ / "synth").string(); }
  static std::string model(const std::string& algo) { return (*dir_ / (algo + ".cfm")).string(); }
  static test::TempDir* dir_;
};
test::TempDir* CliEngine::dir_ = nullptr;

// The most-rated movies of the synthetic data, from `data info --json`.
std::vector<std::int64_t> popular_ids(const std::string& data, int n) {
  const auto info = run_cli({"-q", "data", "info", "--data", data, "--json", "--top", std::to_string(n)});
  EXPECT_EQ(info.exit_code, 0) << info.err;
  std::vector<std::int64_t> ids;
  const auto parsed = nlohmann::json::parse(info.out);
  for (const auto& m : parsed.at("most_rated")) ids.push_back(m.at("movie_id").get<std::int64_t>());
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(n)) << info.out;
  return ids;
}

TEST_F(CliEngine, RecommendsNewUnratedMoviesWithExplanations) {
  const auto ids = popular_ids(data(), 6);
  ASSERT_EQ(ids.size(), 6u);
  for (const std::string algo : {"nmf", "svd", "als"}) {
    std::vector<std::string> args{"-q",  "recommend", "--model", model(algo), "--years",
                                  "new", "-n",        "5",       "--json"};
    for (std::size_t i = 0; i < ids.size(); ++i) {
      args.push_back("--rate");
      args.push_back(std::to_string(ids[i]) + "=" + (i % 2 ? "4.5" : "2"));
    }
    const auto r = run_cli(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto out = nlohmann::json::parse(r.out);
    const auto& recs = out.at("recommendations");
    ASSERT_EQ(recs.size(), 5u) << algo;
    const std::set<std::int64_t> rated(ids.begin(), ids.end());
    for (const auto& rec : recs) {
      EXPECT_GE(rec.at("year").get<int>(), 2000) << rec.dump();
      EXPECT_FALSE(rated.contains(rec.at("movie_id").get<std::int64_t>())) << rec.dump();
      EXPECT_FALSE(rec.at("because").empty()) << rec.dump();
    }
    for (std::size_t i = 1; i < recs.size(); ++i) {
      EXPECT_GE(recs[i - 1].at("score").get<double>(), recs[i].at("score").get<double>());
    }
  }
}

TEST_F(CliEngine, AcceptsTitleFragmentsAndSaysWhenOneIsAmbiguous) {
  const auto info = run_cli({"-q", "data", "info", "--data", data(), "--json", "--top", "1"});
  const auto top = nlohmann::json::parse(info.out).at("most_rated").at(0);
  const std::string title = top.at("title");
  const auto ok = run_cli({"-q", "recommend", "--model", model("svd"), "--rate",
                           title + " (" + std::to_string(top.at("year").get<int>()) + ")=5", "--json"});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_FALSE(nlohmann::json::parse(ok.out).at("recommendations").empty());

  const auto ambiguous = run_cli({"-q", "recommend", "--model", model("svd"), "--rate", "the=4"});
  EXPECT_EQ(ambiguous.exit_code, 1);
  EXPECT_NE(ambiguous.err.find("ambiguous"), std::string::npos) << ambiguous.err;
  EXPECT_NE(ambiguous.err.find("[id "), std::string::npos) << ambiguous.err;
}

TEST_F(CliEngine, BadRequestsFailWithOneClearLine) {
  const auto popular = popular_ids(data(), 1);
  ASSERT_FALSE(popular.empty());
  const auto known = std::to_string(popular[0]);
  struct Case {
    std::vector<std::string> args;
    int code;
    std::string says;
  };
  std::vector<Case> cases{
      {{"recommend", "--model", model("nmf"), "--rate", "999999999=4"}, 1, "unknown movie id 999999999"},
      {{"recommend", "--model", model("nmf"), "--rate", "1=lots"}, 1, "is not a number of stars"},
      {{"recommend", "--model", model("nmf"), "--rate", "4.5"}, 1, "expected MOVIE=STARS"},
      {{"recommend", "--model", model("nmf"), "--rate", known + "=9"}, 1, "9"},
      {{"recommend", "--model", model("nmf"), "--rate", known + "=4.25"}, 1, "in steps of 0.5, got 4.25"},
      {{"recommend", "--model", model("nmf"), "--rate", known + "=4", "--years", "2000-1990"},
       1,
       "--years: the range 2000-1990 is empty (from > to)"},
      {{"recommend", "--model", model("nmf"), "--rate", known + "=4", "--years", "soon"},
       1,
       "expected old, new, any or a range"},
      {{"recommend", "--model", data() + "/ratings.csv", "--rate", "1=4"}, 1, "ratings.csv"},
      {{"recommend", "--rate", "1=4"}, 2, "--model"},
      {{"train", "--data", data(), "--algo", "magic", "--out", "x.cfm"}, 2, "magic"},
  };
  if (probe_cuda().devices.empty()) {  // on a GPU machine --device cuda trains
    cases.push_back({{"train", "--data", data(), "--device", "cuda", "--out", (*dir_ / "never.cfm").string()},
                     1,
                     "cuda"});
  }
  for (const auto& c : cases) {
    auto args = c.args;
    args.insert(args.begin(), "-q");
    const auto r = run_cli(args);
    EXPECT_EQ(r.exit_code, c.code) << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << "expected '" << c.says << "' in: " << r.err;
    if (c.code == 1) {
      EXPECT_EQ(r.err.find("cinefactor: error: "), 0u) << r.err;
      EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line: " << r.err;
    }
  }
  EXPECT_FALSE(std::filesystem::exists(*dir_ / "never.cfm"));
}

// --rate follows the web API's half-star rule (core/rating_grid.hpp), with the same words: 4.25 is
// refused even though it is inside the scale, 4.5 and 0.5 are fine.
TEST_F(CliEngine, RateIsRefusedOffTheHalfStarGridLikeTheApi) {
  const auto known = std::to_string(popular_ids(data(), 1).at(0));
  for (const std::string stars : {"4.25", "0", "5.5", "nan", "inf"}) {
    const auto r = run_cli({"-q", "recommend", "--model", model("svd"), "--rate", known + "=" + stars});
    EXPECT_EQ(r.exit_code, 1) << stars << ": " << r.err;
    EXPECT_EQ(r.err, "cinefactor: error: " +
                         rating_grid_error("--rate \"" + known + "=" + stars + "\"", kHalfStars, stars) +
                         "\n")
        << stars;
    EXPECT_NE(r.err.find("expected a rating from 0.5 to 5 in steps of 0.5, got " + stars), std::string::npos);
  }
  for (const std::string stars : {"4.5", "0.5", "5"}) {
    const auto r = run_cli({"-q", "recommend", "--model", model("svd"), "--rate", known + "=" + stars});
    EXPECT_EQ(r.exit_code, 0) << stars << ": " << r.err;
  }
}

TEST_F(CliEngine, EvaluatePrintsTheMetricsAsJson) {
  const auto r = run_cli({"-q", "evaluate", "--data", data(), "--algo", "bias", "--protocol", "kfold",
                          "--folds", "3", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto out = nlohmann::json::parse(r.out);
  EXPECT_EQ(out.at("folds"), 3);
  for (const std::string key : {"rmse", "mae", "ndcg@10", "precision@10", "recall@10"}) {
    EXPECT_TRUE(out.at("metrics").contains(key)) << key;
    EXPECT_TRUE(out.at("metrics_std").contains(key)) << key;
  }
  EXPECT_LT(out.at("metrics").at("rmse").get<double>(), 1.2);
}

TEST_F(CliEngine, EveryCommandHasHelp) {
  for (const std::string cmd : {"train", "evaluate", "recommend", "device"}) {
    const auto r = run_cli({cmd, "--help"});
    EXPECT_EQ(r.exit_code, 0) << cmd;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << cmd;
  }
}

}  // namespace
}  // namespace cinefactor
