// Distributed training and evaluation under a real `mpirun` (issue 11): on ml-latest-small and the
// synthetic `small` preset, the model of P = 1, 2, 3 ranks equals the model of one process (losses, singular
// values, movie factors, ids, catalog, fingerprint, recommendations) and the distributed evaluation's split
// and metrics equal one process's; uneven partitions (ranks without users, one heavy user, ties at the time
// cut) and byte ranges that start inside lines in every layout; failures on one rank (a bad line in its
// range only, a file missing on its node, no CUDA device) and Ctrl-C to mpirun: the job ends within seconds
// (exit 1 with one message naming the rank, for a failure), the model file at --out untouched; CUDA ranks
// against one process on the GPU where there is one. Skipped with the reason when the build has no MPI or
// mpirun is missing.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "cinefactor/device.hpp"
#include "cinefactor/model_file.hpp"
#include "movielens_fixtures.hpp"
#include "test_support.hpp"

extern char** environ;

namespace cinefactor {
namespace {

using test::CliResult;
using test::run_cli;
using test::run_program;

constexpr int kJobTimeoutSeconds = 300;
constexpr int kFailureSeconds = 30;  // a failing job must end within this (issue 11)

#define CINEFACTOR_REQUIRE_MPI()                                                                      \
  do {                                                                                                \
    if (!CINEFACTOR_TEST_HAS_MPI) GTEST_SKIP() << "built without MPI (CINEFACTOR_MPI found no MPI)";  \
    if (std::string(CINEFACTOR_MPIEXEC).empty()) GTEST_SKIP() << "no mpirun found at configure time"; \
    if (!std::filesystem::exists(CINEFACTOR_MPIEXEC))                                                 \
      GTEST_SKIP() << CINEFACTOR_MPIEXEC << " is not on this machine";                                \
  } while (0)

// mpirun -np P [--oversubscribe] cinefactor ARGS...; Open MPI refuses root unless told it is wanted.
CliResult run_mpi(int ranks, const std::vector<std::string>& args, int timeout_s = kJobTimeoutSeconds) {
  ::setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
  ::setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
  ::setenv("OMPI_MCA_rmaps_base_oversubscribe", "1", 1);
  std::vector<std::string> argv{CINEFACTOR_MPIEXEC, "-np", std::to_string(ranks), CINEFACTOR_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_program(argv, "", timeout_s);
}

nlohmann::json train_json(const CliResult& r) {
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return nlohmann::json::parse(r.out);
}

// `train ARGS` as one process (to tmp/one.cfm) and under mpirun -np P (to tmp/dist.cfm): their --json.
std::pair<nlohmann::json, nlohmann::json> train_both(int ranks, const std::vector<std::string>& args,
                                                     const test::TempDir& tmp) {
  auto single_args = args;
  single_args.insert(single_args.end(), {"--out", (tmp / "one.cfm").string()});
  auto dist_args = args;
  dist_args.insert(dist_args.end(), {"--out", (tmp / "dist.cfm").string()});
  return {train_json(run_cli(single_args)), train_json(run_mpi(ranks, dist_args))};
}

// Each loss within `rel` of one process's, relative to that loss, or, with `of_first`, to the first
// iteration's loss (a tiny problem whose loss falls towards 0, where the rounding of sums taken in another
// order is a larger share of what is left).
void expect_losses_close(const nlohmann::json& single, const nlohmann::json& distributed, double rel,
                         bool of_first = false) {
  const auto a = single["loss_history"].get<std::vector<double>>();
  const auto b = distributed["loss_history"].get<std::vector<double>>();
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i)
    EXPECT_NEAR(b[i], a[i], rel * std::abs(of_first ? a.front() : a[i])) << "iteration " << i + 1;
}

// What must be identical between the two model files, and the movie factors within `tol` (max abs).
void expect_same_model(const Model& a, const Model& b, float tol) {
  EXPECT_EQ(a.user_ids, b.user_ids);
  EXPECT_EQ(a.movie_ids, b.movie_ids);
  EXPECT_EQ(a.data_fingerprint, b.data_fingerprint);
  EXPECT_EQ(a.hyperparameters, b.hyperparameters);
  EXPECT_EQ(a.user_rating_counts, b.user_rating_counts);
  EXPECT_EQ(a.movie_rating_counts, b.movie_rating_counts);
  ASSERT_EQ(a.catalog.size(), b.catalog.size());
  for (std::size_t j = 0; j < a.catalog.size(); ++j) {
    EXPECT_EQ(a.catalog[j].movie.id, b.catalog[j].movie.id);
    EXPECT_EQ(a.catalog[j].rating_count, b.catalog[j].rating_count);
    EXPECT_NEAR(a.catalog[j].rating_mean, b.catalog[j].rating_mean, 1e-5f);
  }
  ASSERT_EQ(a.movie_factors.data.size(), b.movie_factors.data.size());
  ASSERT_EQ(a.user_factors.data.size(), b.user_factors.data.size());
  float worst = 0.0f;
  for (std::size_t i = 0; i < a.movie_factors.data.size(); ++i)
    worst = std::max(worst, std::abs(a.movie_factors.data[i] - b.movie_factors.data[i]));
  for (std::size_t i = 0; i < a.user_factors.data.size(); ++i)
    worst = std::max(worst, std::abs(a.user_factors.data[i] - b.user_factors.data[i]));
  EXPECT_LE(worst, tol);
}

std::vector<std::int64_t> top10(const std::filesystem::path& model, const std::vector<std::string>& rates) {
  std::vector<std::string> args{"recommend", "--model", model.string(),  "--json",
                                "-n",        "10",      "--min-ratings", "0"};
  for (const auto& r : rates) {
    args.push_back("--rate");
    args.push_back(r);
  }
  const auto r = run_cli(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::int64_t> ids;
  const auto answer = nlohmann::json::parse(r.out);
  for (const auto& rec : answer["recommendations"]) ids.push_back(rec["movie_id"]);
  return ids;
}

class DistributedMovieLens : public ::testing::TestWithParam<int> {};

// NMF zero (nndsvda, so the distributed SVD runs first): losses within 1e-5 relative after 50 iterations,
// the same model file, and recommendations overlapping in >= 9 of 10 for sample visitors.
TEST_P(DistributedMovieLens, NmfZeroEqualsOneProcess) {
  CINEFACTOR_REQUIRE_MPI();
  CINEFACTOR_REQUIRE_ML_LATEST_SMALL(dir);
  test::TempDir tmp;
  const std::vector<std::string> train{"train", "--data",       dir.string(), "--algo", "nmf", "--rank",
                                       "12",    "--iterations", "50",         "--tol",  "0",   "--threads",
                                       "1",     "--json"};
  const auto [single, distributed] = train_both(GetParam(), train, tmp);
  expect_losses_close(single, distributed, 1e-5);
  const Model a = load_model(tmp / "one.cfm");
  const Model b = load_model(tmp / "dist.cfm");
  expect_same_model(a, b, 1e-3f);
  for (const auto& visitor : std::vector<std::vector<std::string>>{{"1=5", "260=4.5", "1196=5", "2571=4"},
                                                                   {"318=5", "858=4.5", "593=2"},
                                                                   {"356=4", "2959=5", "4993=4.5"}}) {
    const auto x = top10(tmp / "one.cfm", visitor);
    const auto y = top10(tmp / "dist.cfm", visitor);
    const std::set<std::int64_t> sx(x.begin(), x.end());
    int common = 0;
    for (const auto id : y) common += sx.count(id) ? 1 : 0;
    EXPECT_EQ(x.size(), 10u);
    EXPECT_GE(common, 9) << "visitor " << visitor.front() << ": " << ::testing::PrintToString(x) << " vs "
                         << ::testing::PrintToString(y);
  }
}

// NMF masked with L2 and biases: losses within 1e-4 relative.
TEST_P(DistributedMovieLens, NmfMaskedEqualsOneProcess) {
  CINEFACTOR_REQUIRE_MPI();
  CINEFACTOR_REQUIRE_ML_LATEST_SMALL(dir);
  test::TempDir tmp;
  const std::vector<std::string> train{
      "train", "--data",       dir.string(), "--algo", "nmf", "--objective", "masked", "--biases", "--rank",
      "8",     "--iterations", "50",         "--tol",  "0",   "--threads",   "1",      "--json"};
  const auto [single, distributed] = train_both(GetParam(), train, tmp);
  expect_losses_close(single, distributed, 1e-4);
  const Model a = load_model(tmp / "one.cfm");
  const Model b = load_model(tmp / "dist.cfm");
  expect_same_model(a, b, 1e-2f);
  ASSERT_EQ(a.user_bias.size(), b.user_bias.size());
  ASSERT_EQ(a.movie_bias.size(), b.movie_bias.size());
}

// Randomized SVD (centered): singular values within 1e-4 relative.
TEST_P(DistributedMovieLens, SvdEqualsOneProcess) {
  CINEFACTOR_REQUIRE_MPI();
  CINEFACTOR_REQUIRE_ML_LATEST_SMALL(dir);
  test::TempDir tmp;
  train_both(GetParam(),
             {"train", "--data", dir.string(), "--algo", "svd", "--rank", "20", "--center", "--threads", "1",
              "--json"},
             tmp);
  const Model a = load_model(tmp / "one.cfm");
  const Model b = load_model(tmp / "dist.cfm");
  ASSERT_EQ(a.singular_values.size(), b.singular_values.size());
  for (std::size_t c = 0; c < a.singular_values.size(); ++c)
    EXPECT_NEAR(b.singular_values[c], a.singular_values[c], 1e-4 * a.singular_values[c]) << "component " << c;
  EXPECT_FLOAT_EQ(a.global_offset, b.global_offset);
  expect_same_model(a, b, 1e-2f);
}

// The baselines: bias (losses within 1e-6 relative, biases within 1e-5), mean and popularity (the same
// model).
TEST_P(DistributedMovieLens, BaselinesEqualOneProcess) {
  CINEFACTOR_REQUIRE_MPI();
  CINEFACTOR_REQUIRE_ML_LATEST_SMALL(dir);
  test::TempDir tmp;
  for (const std::string algo : {"bias", "mean", "popularity"}) {
    const std::vector<std::string> train{"train", "--data", dir.string(), "--algo",    algo, "--iterations",
                                         "20",    "--tol",  "0",          "--threads", "1",  "--json"};
    const auto [single, distributed] = train_both(GetParam(), train, tmp);
    expect_losses_close(single, distributed, 1e-6);
    const Model a = load_model(tmp / "one.cfm");
    const Model b = load_model(tmp / "dist.cfm");
    expect_same_model(a, b, 0.0f);
    EXPECT_FLOAT_EQ(a.global_offset, b.global_offset) << algo;
    ASSERT_EQ(a.user_bias.size(), b.user_bias.size()) << algo;
    ASSERT_EQ(a.movie_bias.size(), b.movie_bias.size()) << algo;
    for (std::size_t u = 0; u < a.user_bias.size(); ++u)
      EXPECT_NEAR(a.user_bias[u], b.user_bias[u], 1e-5f) << algo;
    for (std::size_t j = 0; j < a.movie_bias.size(); ++j)
      EXPECT_NEAR(a.movie_bias[j], b.movie_bias[j], 1e-5f) << algo;
  }
}

// `evaluate --json` of one process and of P ranks: the same split (ratings and evaluated users), and every
// metric within `tol` (absolute).
void expect_same_evaluation(int ranks, const std::vector<std::string>& args, double tol) {
  const auto single = run_cli(args);
  ASSERT_EQ(single.exit_code, 0) << single.err;
  const auto distributed = run_mpi(ranks, args);
  ASSERT_EQ(distributed.exit_code, 0) << distributed.err;
  const auto a = nlohmann::json::parse(single.out);
  const auto b = nlohmann::json::parse(distributed.out);
  EXPECT_EQ(a["users_evaluated"], b["users_evaluated"]);
  EXPECT_EQ(a["folds"], b["folds"]);
  ASSERT_EQ(a["fold_results"].size(), b["fold_results"].size());
  for (std::size_t f = 0; f < a["fold_results"].size(); ++f) {
    EXPECT_EQ(a["fold_results"][f]["train_ratings"], b["fold_results"][f]["train_ratings"]);
    EXPECT_EQ(a["fold_results"][f]["test_ratings"], b["fold_results"][f]["test_ratings"]);
  }
  ASSERT_EQ(a["metrics"].size(), b["metrics"].size());
  for (const auto& [name, value] : a["metrics"].items())
    EXPECT_NEAR(b["metrics"][name].get<double>(), value.get<double>(), tol) << name;
}

// Distributed evaluation: every rank splits its own users (the split of one process), the ranks train each
// fold together, and the summed metrics equal one process's. The baselines' models are the same up to
// rounding (1e-9); NMF's within its own distributed tolerance, so its metrics within 1e-3.
TEST_P(DistributedMovieLens, EvaluationEqualsOneProcess) {
  CINEFACTOR_REQUIRE_MPI();
  CINEFACTOR_REQUIRE_ML_LATEST_SMALL(dir);
  const std::vector<std::string> base{"evaluate", "--data", dir.string(), "--threads", "1",
                                      "--json",   "--at",   "5",          "--at",      "20"};
  const auto with = [&](std::vector<std::string> more) {
    auto args = base;
    args.insert(args.end(), more.begin(), more.end());
    return args;
  };
  expect_same_evaluation(GetParam(), with({"--algo", "bias", "--split", "random", "--iterations", "10"}),
                         1e-9);
  expect_same_evaluation(GetParam(), with({"--algo", "popularity", "--split", "temporal-global"}), 1e-9);
  expect_same_evaluation(GetParam(), with({"--algo", "mean", "--split", "per-user", "--min-ratings", "5"}),
                         1e-9);
  expect_same_evaluation(
      GetParam(), with({"--algo", "bias", "--protocol", "kfold", "--folds", "3", "--iterations", "5"}), 1e-9);
  expect_same_evaluation(
      GetParam(), with({"--algo", "nmf", "--rank", "8", "--iterations", "30", "--split", "temporal"}), 1e-3);
}

INSTANTIATE_TEST_SUITE_P(Ranks, DistributedMovieLens, ::testing::Values(1, 2, 3),
                         [](const auto& param_info) { return "P" + std::to_string(param_info.param); });

// A csv-layout dataset with the given rating lines (header added).
void write_dataset(const std::filesystem::path& dir, const std::string& rating_lines) {
  test::write_text(dir / "movies.csv",
                   "movieId,title,genres\n1,\"Toy Story, the (1995)\",Comedy\n2,Heat (1995),Action\n"
                   "3,\"Up, \"\"Down\"\" (2001)\",Drama\n4,Alien (1979),Horror\n5,Big (1988),Comedy\n");
  test::write_text(dir / "links.csv", "movieId,imdbId,tmdbId\n1,1,1\n2,2,2\n3,3,3\n4,4,4\n5,5,5\n");
  test::write_text(dir / "ratings.csv", "userId,movieId,rating,timestamp\n" + rating_lines);
}

// Two users and five ranks: ranks without users, and one user holding nearly every rating.
TEST(Distributed, UnevenPartitionsEqualOneProcess) {
  CINEFACTOR_REQUIRE_MPI();
  test::TempDir tmp;
  std::string lines;
  for (int m = 1; m <= 5; ++m)
    lines += "7," + std::to_string(m) + "," + std::to_string(1 + m % 4) + ".5,100\n";
  lines += "3,2,4.0,100\n3,2,5.0,101\n";  // a duplicate: the later rating wins in both runs
  write_dataset(tmp / "data", lines);
  const std::vector<std::string> train{
      "train",  "--data", (tmp / "data").string(), "--algo", "nmf",   "--init", "random",
      "--rank", "2",      "--iterations",          "20",     "--tol", "0",      "--threads",
      "1",      "--json"};
  const auto [single, distributed] = train_both(5, train, tmp);
  expect_losses_close(single, distributed, 1e-5, true);
  expect_same_model(load_model(tmp / "one.cfm"), load_model(tmp / "dist.cfm"), 1e-4f);
}

// Every ratings layout the loader knows (ratings.csv, ratings.dat, u.data), with lines of many lengths so
// that the byte ranges of 2, 3 and 4 ranks start inside lines and inside numbers: each rank still parses
// whole lines only, and the bias baseline of the ranks is the one of one process.
TEST(Distributed, EveryLayoutIsCutAtLineStarts) {
  CINEFACTOR_REQUIRE_MPI();
  test::TempDir tmp;
  constexpr int kMovies = 12;
  std::string csv = "userId,movieId,rating,timestamp\n";
  std::string dat;
  std::string u_data;
  const long bases[] = {1, 23, 456, 7890, 12345, 678901};
  for (int u = 0; u < 40; ++u) {
    const auto user = std::to_string(bases[u % 6] + u);
    for (int m = 1; m <= kMovies; ++m) {
      if ((u * 7 + m * 3) % 5 == 0) continue;
      const int stars = 1 + (u + m) % 5;
      const std::string half = (u * m) % 2 ? ".5" : ".0";
      const auto time = std::to_string(900000000 + u * 1000 + m * 17);
      csv += user + "," + std::to_string(m) + "," + std::to_string(stars - ((u * m) % 2)) + half + "," +
             time + "\n";
      dat += user + "::" + std::to_string(m) + "::" + std::to_string(stars) + "::" + time + "\n";
      u_data += user + "\t" + std::to_string(m) + "\t" + std::to_string(stars) + "\t" + time + "\n";
    }
  }
  std::string movies_csv = "movieId,title,genres\n";
  std::string links_csv = "movieId,imdbId,tmdbId\n";
  std::string movies_dat;
  std::string u_item;
  for (int m = 1; m <= kMovies; ++m) {
    const auto id = std::to_string(m);
    movies_csv += id + ",\"Film " + id + ", The (19" + std::to_string(70 + m) + ")\",Drama|Comedy\n";
    links_csv += id + "," + id + "," + id + "\n";
    movies_dat += id + "::Film " + id + " (1999)::Drama\n";
    u_item += test::u_item_line(id, "Film " + id + " (1999)", "01-Jan-1999", "0000000010000000000");
  }
  test::write_csv_dataset(tmp / "csv", csv, movies_csv, links_csv);
  test::write_text(tmp / "dat" / "ratings.dat", dat);
  test::write_text(tmp / "dat" / "movies.dat", movies_dat);
  test::write_text(tmp / "u" / "u.data", u_data);
  test::write_text(tmp / "u" / "u.item", u_item);
  for (const std::string layout : {"csv", "dat", "u"}) {
    for (const int ranks : {2, 3, 4}) {
      SCOPED_TRACE(layout + " on " + std::to_string(ranks) + " ranks");
      const auto [single, distributed] =
          train_both(ranks,
                     {"train", "--data", (tmp / layout).string(), "--algo", "bias", "--iterations", "10",
                      "--tol", "0", "--threads", "1", "--json"},
                     tmp);
      expect_losses_close(single, distributed, 1e-6);
      const Model a = load_model(tmp / "one.cfm");
      const Model b = load_model(tmp / "dist.cfm");
      expect_same_model(a, b, 0.0f);
      ASSERT_EQ(a.user_bias.size(), b.user_bias.size());
      for (std::size_t i = 0; i < a.user_bias.size(); ++i) EXPECT_NEAR(a.user_bias[i], b.user_bias[i], 1e-5f);
    }
  }
}

// The synthetic `small` preset (the shape of ml-latest-small, generated here): NMF within 1e-5 of one
// process's losses, and the distributed evaluation's metrics.
class DistributedSynthetic : public ::testing::TestWithParam<int> {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir;
    const auto r = run_cli({"data", "synth", "--preset", "small", "--seed", "3", "--out", data().string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::filesystem::path data() { return *dir_ / "small"; }
  static test::TempDir* dir_;
};
test::TempDir* DistributedSynthetic::dir_ = nullptr;

TEST_P(DistributedSynthetic, NmfAndEvaluationEqualOneProcess) {
  CINEFACTOR_REQUIRE_MPI();
  test::TempDir tmp;
  const auto [single, distributed] =
      train_both(GetParam(),
                 {"train", "--data", data().string(), "--algo", "nmf", "--rank", "10", "--iterations", "50",
                  "--tol", "0", "--threads", "1", "--json"},
                 tmp);
  expect_losses_close(single, distributed, 1e-5);
  expect_same_model(load_model(tmp / "one.cfm"), load_model(tmp / "dist.cfm"), 1e-3f);
  expect_same_evaluation(GetParam(),
                         {"evaluate", "--data", data().string(), "--algo", "nmf", "--rank", "8",
                          "--iterations", "20", "--split", "random", "--threads", "1", "--json"},
                         1e-3);
}

INSTANTIATE_TEST_SUITE_P(Ranks, DistributedSynthetic, ::testing::Values(1, 2, 3),
                         [](const auto& param_info) { return "P" + std::to_string(param_info.param); });

// A bad line that only rank 1's byte range holds: every rank stops, one message names rank 1 and the
// file's own line number, the exit status is 1, and the model already at --out is untouched.
TEST(Distributed, BadLineOnOneRankStopsTheJob) {
  CINEFACTOR_REQUIRE_MPI();
  test::TempDir tmp;
  std::string lines;
  for (int u = 1; u <= 200; ++u) lines += std::to_string(u) + "," + std::to_string(1 + u % 5) + ",4.0,100\n";
  lines += "201,3,four,100\n";  // line 202 of ratings.csv, near the end: in the last rank's range
  for (int u = 202; u <= 210; ++u) lines += std::to_string(u) + ",2,3.0,100\n";
  write_dataset(tmp / "data", lines);
  const auto out = tmp / "model.cfm";
  test::write_text(out, "an earlier model");
  const auto start = std::chrono::steady_clock::now();
  const auto r = run_mpi(
      2,
      {"train", "--data", (tmp / "data").string(), "--init", "random", "--rank", "2", "--out", out.string()},
      kFailureSeconds * 2);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_LT(seconds, kFailureSeconds);
  EXPECT_NE(r.err.find("rank 1: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("ratings.csv:202: "), std::string::npos) << r.err;
  EXPECT_EQ(test::read_text(out), "an earlier model");

  // --skip-bad-lines: the job trains, and says what one process says about the skipped line.
  const auto single = run_cli({"train", "--data", (tmp / "data").string(), "--init", "random", "--rank", "2",
                               "--skip-bad-lines", "--no-cache", "--out", (tmp / "one.cfm").string()});
  ASSERT_EQ(single.exit_code, 0) << single.err;
  const auto skipped = run_mpi(2, {"train", "--data", (tmp / "data").string(), "--init", "random", "--rank",
                                   "2", "--skip-bad-lines", "--out", out.string()});
  ASSERT_EQ(skipped.exit_code, 0) << skipped.err;
  EXPECT_NE(skipped.err.find("skipped 1 bad line (first: "), std::string::npos) << skipped.err;
  EXPECT_NE(skipped.err.find("ratings.csv:202: "), std::string::npos) << skipped.err;
  EXPECT_EQ(load_model(out).data_fingerprint, load_model(tmp / "one.cfm").data_fingerprint);
}

// A dataset folder missing on one rank's node (here: rank 1 is pointed at a folder without ratings.csv,
// as a node whose copy is missing would be): exit 1 within seconds, the message names rank 1.
TEST(Distributed, MissingFileOnOneRankStopsTheJob) {
  CINEFACTOR_REQUIRE_MPI();
  test::TempDir tmp;
  write_dataset(tmp / "data", "1,1,4.0,100\n2,2,3.0,100\n");
  std::filesystem::create_directories(tmp / "partial");
  std::filesystem::copy_file(tmp / "data" / "movies.csv", tmp / "partial" / "movies.csv");
  const auto out = tmp / "model.cfm";
  ::setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
  ::setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
  const auto start = std::chrono::steady_clock::now();
  // Open MPI's MPMD form: one rank per command line, in rank order.
  const auto r = run_program({CINEFACTOR_MPIEXEC,
                              "-np",
                              "1",
                              CINEFACTOR_BINARY,
                              "train",
                              "--data",
                              (tmp / "data").string(),
                              "--init",
                              "random",
                              "--rank",
                              "1",
                              "--out",
                              out.string(),
                              ":",
                              "-np",
                              "1",
                              CINEFACTOR_BINARY,
                              "train",
                              "--data",
                              (tmp / "partial").string(),
                              "--init",
                              "random",
                              "--rank",
                              "1",
                              "--out",
                              out.string()},
                             "", kFailureSeconds * 2);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_LT(seconds, kFailureSeconds);
  EXPECT_NE(r.err.find("rank 1: "), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(out));
}

// Ctrl-C to mpirun in the middle of a distributed fit: every rank stops within seconds, the model already
// at --out is untouched, no temporary is left beside it and no rank is left running.
TEST(Distributed, CtrlCToMpirunLeavesNoPartialFile) {
  CINEFACTOR_REQUIRE_MPI();
  CINEFACTOR_REQUIRE_ML_LATEST_SMALL(dir);
  test::TempDir tmp;
  const auto out = tmp / "model.cfm";
  test::write_text(out, "an earlier model");
  ::setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
  ::setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
  ::setenv("OMPI_MCA_rmaps_base_oversubscribe", "1", 1);
  std::vector<std::string> args{CINEFACTOR_MPIEXEC,
                                "-np",
                                "2",
                                CINEFACTOR_BINARY,
                                "-q",
                                "train",
                                "--data",
                                dir.string(),
                                "--algo",
                                "nmf",
                                "--init",
                                "random",
                                "--iterations",
                                "1000000",
                                "--tol",
                                "0",
                                "--threads",
                                "1",
                                "--out",
                                out.string()};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  ASSERT_EQ(::posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ), 0);
  std::this_thread::sleep_for(
      std::chrono::seconds(3));  // loaded and iterating (a million iterations: minutes)
  ASSERT_EQ(::kill(pid, SIGINT), 0);
  const auto start = std::chrono::steady_clock::now();
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, kFailureSeconds);
  EXPECT_FALSE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  EXPECT_EQ(test::read_text(out), "an earlier model");
  for (const auto& item : std::filesystem::directory_iterator(tmp.path()))
    EXPECT_FALSE(item.path().filename().string().starts_with(".model.cfm.tmp-")) << item.path();
  // No rank outlives mpirun: no process still has this test's output path on its command line.
  for (const auto& proc : std::filesystem::directory_iterator("/proc")) {
    const auto cmdline = test::read_text(proc.path() / "cmdline");
    EXPECT_EQ(cmdline.find(out.string()), std::string::npos) << "still running: " << proc.path();
  }
}

// Options every rank refuses alike: one message, exit 1.
TEST(Distributed, RefusedOptionsGiveOneMessage) {
  CINEFACTOR_REQUIRE_MPI();
  test::TempDir tmp;
  write_dataset(tmp / "data", "1,1,4.0,100\n2,2,3.0,100\n");
  const auto r = run_mpi(
      2, {"train", "--data", (tmp / "data").string(), "--algo", "als", "--out", (tmp / "m.cfm").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--algo als does not run distributed yet"), std::string::npos) << r.err;

  const auto evaluate = run_mpi(2, {"evaluate", "--data", (tmp / "data").string(), "--device", "cuda"});
  EXPECT_EQ(evaluate.exit_code, 1);
  EXPECT_NE(evaluate.err.find("--device cuda"), std::string::npos) << evaluate.err;

  // Commands that do not run distributed are refused by rank 0 alone, before any work.
  const auto recommend = run_mpi(2, {"recommend", "--model", (tmp / "m.cfm").string()});
  EXPECT_NE(recommend.exit_code, 0);
  const std::string refusal = "only `train` and `evaluate` run under mpirun/srun; run `recommend` without it";
  const auto first = recommend.err.find(refusal);
  ASSERT_NE(first, std::string::npos) << recommend.err;
  EXPECT_EQ(recommend.err.find(refusal, first + 1), std::string::npos) << "said more than once:\n"
                                                                       << recommend.err;
}

// A dataset small enough to check by hand, with ties everywhere: eight users rating the five movies at
// two timestamps, five ranks (some without users). The global time cut falls among the ties, which every
// rank must break as one process does.
TEST(Distributed, EvaluationWithTiesAndIdleRanksEqualsOneProcess) {
  CINEFACTOR_REQUIRE_MPI();
  test::TempDir tmp;
  std::string lines;
  for (int u = 1; u <= 8; ++u) {
    for (int m = 1; m <= 5; ++m) {
      if ((u + m) % 3 == 0) continue;
      lines += std::to_string(u * 11) + "," + std::to_string(m) + "," + std::to_string(1 + (u * m) % 5) +
               ".0," + std::to_string(100 + (u + m) % 2) + "\n";
    }
  }
  write_dataset(tmp / "data", lines);
  for (const std::string split : {"temporal-global", "random", "temporal"}) {
    SCOPED_TRACE(split);
    expect_same_evaluation(5,
                           {"evaluate", "--data", (tmp / "data").string(), "--algo", "bias", "--split", split,
                            "--test-fraction", "0.3", "--relevance", "3", "--threads", "1", "--json"},
                           1e-9);
  }
}

// CUDA ranks on a machine without a usable device (CI): one message from rank 0 naming the cause, exit 1,
// the model at --out untouched. A build without NCCL refuses --device cuda under mpirun.
TEST(Distributed, CudaRanksWithoutADeviceStopWithOneMessage) {
  CINEFACTOR_REQUIRE_MPI();
  if (!probe_cuda().devices.empty())
    GTEST_SKIP() << "a CUDA device is present: CudaRankEqualsOneProcess runs";
  test::TempDir tmp;
  write_dataset(tmp / "data",
                "1,1,4.0,100\n2,2,3.0,100\n3,3,5.0,100\n3,1,2.0,100\n4,2,4.0,100\n"
                "5,3,1.0,100\n6,1,3.0,100\n6,4,2.5,100\n");
  test::write_text(tmp / "m.cfm", "an existing model");
  const auto r = run_mpi(2, {"train", "--data", (tmp / "data").string(), "--algo", "nmf", "--rank", "2",
                             "--device", "cuda", "--out", (tmp / "m.cfm").string()});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const std::string cause = CINEFACTOR_TEST_HAS_NCCL
                                ? "--device cuda: no usable CUDA device on this rank's node"
                                : "--device cuda: this build has no CUDA ranks";
  const auto first = r.err.find(cause);
  ASSERT_NE(first, std::string::npos) << r.err;
  EXPECT_EQ(r.err.find(cause, first + 1), std::string::npos) << "said more than once:\n" << r.err;
  EXPECT_EQ(test::read_text(tmp / "m.cfm"), "an existing model");

  const auto evaluation = run_mpi(2, {"evaluate", "--data", (tmp / "data").string(), "--algo", "nmf",
                                      "--rank", "2", "--device", "cuda", "--test-fraction", "0.5"});
  EXPECT_EQ(evaluation.exit_code, 1) << evaluation.err;
  EXPECT_NE(evaluation.err.find(cause), std::string::npos) << evaluation.err;

  const auto masked = run_mpi(2, {"train", "--data", (tmp / "data").string(), "--algo", "nmf", "--objective",
                                  "masked", "--device", "cuda", "--out", (tmp / "m.cfm").string()});
  EXPECT_EQ(masked.exit_code, 1);
  EXPECT_NE(masked.err.find(CINEFACTOR_TEST_HAS_NCCL ? "only NMF with the zero objective runs on CUDA ranks"
                                                     : "this build has no CUDA ranks"),
            std::string::npos)
      << masked.err;
}

// One CUDA rank (NCCL with one member) computes what one process computes on the same GPU: the same
// iterations, its sums over users passing through NCCL. Needs a GPU, NCCL and mpirun.
TEST(Distributed, CudaRankEqualsOneProcess) {
  CINEFACTOR_REQUIRE_MPI();
  if (!CINEFACTOR_TEST_HAS_NCCL) GTEST_SKIP() << "built without CUDA ranks (no NCCL)";
  const auto probe = probe_cuda();
  if (probe.devices.empty()) GTEST_SKIP() << "no CUDA device: " << probe.reason;
  CINEFACTOR_REQUIRE_ML_LATEST_SMALL(dir);
  test::TempDir tmp;
  const std::vector<std::string> train{"train",  "--data",   dir.string(),   "--algo", "nmf",
                                       "--rank", "16",       "--iterations", "50",     "--tol",
                                       "0",      "--device", "cuda",         "--json"};
  const auto [single, distributed] = train_both(1, train, tmp);
  expect_losses_close(single, distributed, 1e-5);
  EXPECT_GT(distributed["communication"]["nccl"]["bytes"].get<std::int64_t>(), 0);
  expect_same_model(load_model(tmp / "one.cfm"), load_model(tmp / "dist.cfm"), 1e-3f);
  expect_same_evaluation(1,
                         {"evaluate", "--data", dir.string(), "--algo", "nmf", "--rank", "16", "--iterations",
                          "20", "--device", "cuda", "--json"},
                         1e-3);
}

}  // namespace
}  // namespace cinefactor
