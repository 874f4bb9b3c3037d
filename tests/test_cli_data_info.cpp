// `cinefactor data info` end to end: the real ml-latest-small figures, text and JSON output, and a
// one-line error with exit code 1 for a bad directory.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "movielens_fixtures.hpp"

namespace cinefactor {
namespace {

using test::run_cli;
using test::TempDir;

TEST(CliDataInfo, MlLatestSmallJson) {
  CINEFACTOR_REQUIRE_ML_LATEST_SMALL(dir);
  const auto r = run_cli({"data", "info", "--data", dir.string(), "--json", "--no-cache", "--top", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("users").get<std::int64_t>(), 610);
  EXPECT_EQ(j.at("movies").get<std::int64_t>(), 9724);
  EXPECT_EQ(j.at("ratings").get<std::int64_t>(), 100836);
  EXPECT_EQ(j.at("layout"), "csv");
  ASSERT_EQ(j.at("most_rated").size(), 3u);
  EXPECT_EQ(j.at("most_rated")[0].at("title"), "Forrest Gump");
  EXPECT_EQ(j.at("most_rated")[0].at("ratings"), 329);
  std::int64_t total = 0;
  for (const auto& bin : j.at("histogram")) total += bin.at("count").get<std::int64_t>();
  EXPECT_EQ(total, 100836);
  EXPECT_FALSE(j.at("load").at("from_cache").get<bool>());
}

TEST(CliDataInfo, TextOutputAndCacheReport) {
  TempDir dir;
  test::write_csv_dataset(dir.path());
  const auto first = run_cli({"data", "info", "--data", dir.path().string()});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(first.out.find("users     2"), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("ratings   4"), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("rating histogram"), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("The American President"), std::string::npos) << first.out;
  const auto second = run_cli({"data", "info", "--data", dir.path().string(), "--json"});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  const auto j = nlohmann::json::parse(second.out);
  EXPECT_TRUE(j.at("load").at("from_cache").get<bool>());
  EXPECT_EQ(j.at("movies"), 3);
  EXPECT_EQ(j.at("catalog_movies"), 4);
}

TEST(CliDataInfo, SkipBadLinesFlag) {
  TempDir dir;
  test::write_csv_dataset(dir.path(), std::string(test::kCsvRatings) + "1,2,7.0,5\n");
  const auto strict = run_cli({"data", "info", "--data", dir.path().string(), "--no-cache"});
  EXPECT_EQ(strict.exit_code, 1);
  EXPECT_NE(strict.err.find("ratings.csv:6: expected a rating from 0.5 to 5"), std::string::npos)
      << strict.err;
  const auto lenient =
      run_cli({"data", "info", "--data", dir.path().string(), "--no-cache", "--skip-bad-lines", "--json"});
  ASSERT_EQ(lenient.exit_code, 0) << lenient.err;
  EXPECT_EQ(nlohmann::json::parse(lenient.out).at("load").at("skipped_lines"), 1);
}

TEST(CliDataInfo, BadDirectoryIsOneLineAndExitOne) {
  TempDir dir;
  const auto r = run_cli({"data", "info", "--data", (dir / "missing").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(r.out.empty());
  EXPECT_EQ(r.err.rfind("cinefactor: error: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find((dir / "missing").string()), std::string::npos) << r.err;
}

TEST(CliDataInfo, UsageErrors) {
  EXPECT_EQ(run_cli({"data", "info"}).exit_code, 2);
  EXPECT_EQ(run_cli({"data", "info", "--data", "x", "--top", "-1"}).exit_code, 2);
  const auto help = run_cli({"data", "info", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--skip-bad-lines"), std::string::npos);
}

}  // namespace
}  // namespace cinefactor
