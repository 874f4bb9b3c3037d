// The one device policy and what it rests on, run with or without a device: --device cuda fails clearly
// without a usable device, auto falls back and says why (once per command), the baselines never ask for
// a device; the CUDA backend's memory estimates and limits (plain arithmetic); the CudaError format.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cinefactor/device.hpp"
#include "cinefactor/error.hpp"
#include "cinefactor/evaluation.hpp"
#include "cinefactor/metrics.hpp"
#include "cinefactor/train.hpp"
#include "engine/cuda_planning.hpp"
#include "evaluation_support.hpp"
#include "test_support.hpp"

namespace cinefactor {
namespace {

RatingMatrix tiny() {
  return RatingMatrix::from_entries({{10, 100, 4.0f, 0}, {10, 200, 2.0f, 0}, {20, 100, 3.0f, 0}});
}

// Collects what spdlog logs while alive.
class LogCapture {
 public:
  LogCapture() : sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(text_)) {
    spdlog::default_logger()->sinks().push_back(sink_);
    level_ = spdlog::get_level();
    spdlog::set_level(spdlog::level::info);
  }
  ~LogCapture() {
    auto& sinks = spdlog::default_logger()->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
    spdlog::set_level(level_);
  }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
  std::string text() const { return text_.str(); }

 private:
  std::ostringstream text_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
  spdlog::level::level_enum level_;
};

TEST(DeviceSelection, CudaWithoutAUsableDeviceIsAClearError) {
  const CudaProbe probe = probe_cuda();
  TrainOptions o;
  o.algorithm = Algorithm::svd;
  o.rank = 1;
  o.device = Device::cuda;
  if (!probe.devices.empty()) {
    TrainReport report;
    train(tiny(), o, &report);
    EXPECT_EQ(report.device.rfind("cuda:", 0), 0u) << report.device;
    GTEST_SKIP() << "a CUDA device is present: --device cuda trained on " << report.device;
  }
  try {
    train(tiny(), o);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string expected = "--device cuda: no usable CUDA device: ";
    EXPECT_EQ(std::string(e.what()).rfind(expected, 0), 0u) << e.what();
    const std::string reason = CINEFACTOR_HAS_CUDA ? probe.reason : "this build has no CUDA backend";
    EXPECT_NE(std::string(e.what()).find(reason), std::string::npos) << e.what();
  }
}

TEST(DeviceSelection, AutoFallsBackToTheCpuAndSaysWhy) {
  const CudaProbe probe = probe_cuda();
  if (!probe.devices.empty()) GTEST_SKIP() << "a CUDA device is present: auto uses it";
  TrainOptions o;
  o.algorithm = Algorithm::svd;
  o.rank = 1;
  o.device = Device::automatic;
  TrainReport report;
  std::string log;
  {
    LogCapture capture;
    train(tiny(), o, &report);
    log = capture.text();
  }
  EXPECT_EQ(report.device, "cpu");
  EXPECT_NE(log.find("device auto: running on the CPU ("), std::string::npos) << log;
  EXPECT_NE(log.find(CINEFACTOR_HAS_CUDA ? probe.reason : "this build has no CUDA backend"),
            std::string::npos)
      << log;
  // --device cpu never asks for CUDA and says nothing about it.
  o.device = Device::cpu;
  LogCapture capture;
  train(tiny(), o, &report);
  EXPECT_EQ(report.device, "cpu");
  EXPECT_EQ(capture.text().find("device auto"), std::string::npos);
}

TEST(DeviceSelection, CliTrainOnCudaWithoutADeviceExitsOneWithOneLine) {
  if (!probe_cuda().devices.empty()) GTEST_SKIP() << "a CUDA device is present";
  test::TempDir dir;
  const auto synth = test::run_cli(
      {"-q", "data", "synth", "--preset", "small", "--seed", "3", "--out", (dir / "synth").string()});
  ASSERT_EQ(synth.exit_code, 0) << synth.err;
  const auto r = test::run_cli({"-q", "train", "--data", (dir / "synth").string(), "--device", "cuda",
                                "--out", (dir / "never.cfm").string()});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("--device cuda: no usable CUDA device: "), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "never.cfm"));
  const auto fallback = test::run_cli({"train", "--data", (dir / "synth").string(), "--device", "auto",
                                       "--algo", "svd", "-k", "4", "--out", (dir / "auto.cfm").string()});
  EXPECT_EQ(fallback.exit_code, 0) << fallback.err;
  EXPECT_NE((fallback.out + fallback.err).find("device auto: running on the CPU"), std::string::npos)
      << fallback.out << fallback.err;
}

// Ranking on its own (ranking_metrics without a chosen backend) asks the same policy: cuda is a clear
// error, auto ranks on the CPU and says why, in the report too.
TEST(DeviceSelection, RankingOnCudaWithoutADeviceFailsAndAutoFallsBack) {
  if (!probe_cuda().devices.empty()) GTEST_SKIP() << "a CUDA device is present: auto ranks on it";
  const RatingMatrix x = test::random_matrix(240, 180, 40, 11);
  const TrainTestSplit split = holdout_split(x, SplitOptions{SplitKind::random, 0.2, 42});
  TrainOptions o;
  o.algorithm = Algorithm::svd;
  o.rank = 4;
  o.device = Device::cpu;
  const Model model = train(split.train, o);
  RankingOptions options;
  options.show_progress = false;
  options.device = Device::cuda;
  try {
    ranking_metrics(model, split.train, split.test, options);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("--device cuda: no usable CUDA device: ", 0), 0u) << e.what();
  }
  options.device = Device::automatic;
  LogCapture capture;
  const RankingReport report = ranking_metrics(model, split.train, split.test, options);
  EXPECT_EQ(report.device, "cpu");
  EXPECT_NE(capture.text().find("device auto: running on the CPU ("), std::string::npos) << capture.text();
}

// One decision per command: an evaluation over 3 folds probes and says where it runs once, and trains and
// ranks every fold there.
TEST(DeviceSelection, CliEvaluateDecidesOnceAndReportsIt) {
  if (!probe_cuda().devices.empty()) GTEST_SKIP() << "a CUDA device is present";
  test::TempDir dir;
  const auto synth = test::run_cli(
      {"-q", "data", "synth", "--preset", "small", "--seed", "3", "--out", (dir / "synth").string()});
  ASSERT_EQ(synth.exit_code, 0) << synth.err;
  const auto r = test::run_cli({"evaluate", "--data", (dir / "synth").string(), "--algo", "svd", "-k", "4",
                                "--protocol", "kfold", "--folds", "3", "--device", "auto", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::size_t said = 0;
  for (auto at = r.err.find("device auto:"); at != std::string::npos; at = r.err.find("device auto:", at + 1))
    ++said;
  EXPECT_EQ(said, 1u) << r.err;
  EXPECT_NE(r.err.find("device auto: running on the CPU ("), std::string::npos) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["options"]["device"], "auto");
  for (const auto& fold : j["fold_results"]) EXPECT_EQ(fold["ranking_device"], "cpu");
}

// The baselines are host arithmetic: --device cuda neither fails without a GPU nor reports one.
TEST(DeviceSelection, BaselinesNeverAskForADevice) {
  for (const Algorithm algorithm : {Algorithm::mean, Algorithm::bias, Algorithm::popularity}) {
    SCOPED_TRACE(std::string(algorithm_name(algorithm)));
    TrainOptions o;
    o.algorithm = algorithm;
    o.device = Device::cuda;
    TrainReport report;
    LogCapture capture;
    EXPECT_NO_THROW(train(tiny(), o, &report));
    EXPECT_EQ(report.device, "cpu");
    EXPECT_EQ(capture.text().find("device"), std::string::npos) << capture.text();
  }
  test::TempDir dir;
  const auto synth = test::run_cli(
      {"-q", "data", "synth", "--preset", "small", "--seed", "3", "--out", (dir / "synth").string()});
  ASSERT_EQ(synth.exit_code, 0) << synth.err;
  const auto trained = test::run_cli({"train", "--data", (dir / "synth").string(), "--algo", "bias",
                                      "--device", "cuda", "--json", "--out", (dir / "bias.cfm").string()});
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  EXPECT_EQ(nlohmann::json::parse(trained.out)["device"], "cpu") << trained.out;
  const auto evaluated = test::run_cli(
      {"evaluate", "--data", (dir / "synth").string(), "--algo", "popularity", "--device", "cuda", "--json"});
  ASSERT_EQ(evaluated.exit_code, 0) << evaluated.err;
  EXPECT_EQ(nlohmann::json::parse(evaluated.out)["fold_results"][0]["ranking_device"], "cpu");
}

// Batch size of the GPU ranking: what is left after the fixed arrays and the reserve, per user, capped.
TEST(CudaRankingPlan, BatchFitsTheFreeMemoryAndLimitsAreNamed) {
  engine::CudaRankingWorkload w{1000, 500, 20000, 16, 10, 900};
  const std::int64_t fixed = 500 * 17 * 4 + (1001 + 20000) * 4 + engine::kCudaLibraryReserveBytes;
  const std::int64_t per_user = (500 + 16) * 4 + 11 * 4;
  EXPECT_EQ(engine::cuda_ranking_batch(w, fixed + 37 * per_user + 5), 37);
  EXPECT_EQ(engine::cuda_ranking_batch(w, fixed + 100000 * per_user),
            900);  // never more than the users ranked
  w.ranked_users = 100000;
  EXPECT_EQ(engine::cuda_ranking_batch(w, fixed + 100000 * per_user), engine::kCudaMaxRankingBatch);
  EXPECT_THROW(engine::cuda_ranking_batch(w, fixed + per_user - 1), CudaOutOfMemory);
  EXPECT_TRUE(engine::cuda_ranking_unsupported(w).empty());
  w.k = engine::kCudaMaxRankingK + 1;
  EXPECT_NE(engine::cuda_ranking_unsupported(w).find("ranking cut-off of 257 exceeds"), std::string::npos);
  w.k = 10;
  w.movies = engine::kCudaMaxRankingMovies + 1;
  EXPECT_NE(engine::cuda_ranking_unsupported(w).find("movies exceed"), std::string::npos);
  // The lists in local memory: capacity 16 (k = 10) x 8 bytes for each of 2,048 threads on each of 3 SMs.
  w.movies = 500;
  w.multiprocessors = 3;
  EXPECT_EQ(engine::cuda_ranking_batch(w, fixed + 16 * 8 * 2048 * 3 + 37 * per_user + 5), 37);
  EXPECT_EQ(engine::cuda_ranking_list_capacity(1), 16);
  EXPECT_EQ(engine::cuda_ranking_list_capacity(17), 32);
  EXPECT_EQ(engine::cuda_ranking_list_capacity(256), 256);
  // ML-25M, k = 64, top 10, an H100's 132 SMs: batches of 4,096 users need about 1.4 GB, far below its 80 GB.
  const engine::CudaRankingWorkload ml25m{162541, 59047, 20000076, 64, 10, 160000, 132};
  EXPECT_EQ(engine::cuda_ranking_batch(ml25m, std::int64_t{80} << 30), engine::kCudaMaxRankingBatch);
  EXPECT_EQ(engine::cuda_ranking_batch(ml25m, std::int64_t{1} << 30), 2853);
}

TEST(CudaMemoryEstimate, CountsEveryArrayOfAShape) {
  engine::CudaWorkload w;
  w.users = 1000;
  w.movies = 500;
  w.nnz = 20000;
  w.rank = 16;
  // CSR + CSC: offsets (1001 + 501) x 4, indices and values 2 x 20000 x 8.
  const std::int64_t matrix = (1001 + 501) * 4 + 2 * 20000 * 8;
  w.job = engine::CudaJob::nmf_zero;
  auto plan = engine::estimate_cuda_memory(w);
  EXPECT_EQ(plan.matrix_bytes, matrix);
  EXPECT_EQ(plan.factor_bytes, (1000 + 500) * 16 * 4);
  EXPECT_EQ(plan.work_bytes, 2 * 1000 * 16 * 4 + 2 * 16 * 16 * (4 + 8) + 256 * 16 * 16 * 4 + 8 * 8);
  EXPECT_EQ(plan.total(),
            matrix + (1000 + 500) * 16 * 4 + plan.work_bytes + engine::kCudaLibraryReserveBytes);

  w.job = engine::CudaJob::nmf_masked;
  w.biases = true;
  plan = engine::estimate_cuda_memory(w);
  EXPECT_EQ(plan.factor_bytes, (1000 + 500) * 16 * 4 + (1000 + 500) * 4);
  EXPECT_EQ(plan.work_bytes, (1000 + 500) * 4 + 8 * 8);

  w.job = engine::CudaJob::svd;
  w.oversamples = 10;  // l = 26
  plan = engine::estimate_cuda_memory(w);
  EXPECT_EQ(plan.work_bytes, (500 * 26 + 1000 * 26 + 26 + 2 * 26 * 16) * 4 + (3 * 26 * 26 + 2 * 26) * 8);
  w.rank = 495;  // l = min(505, 500) = 500
  plan = engine::estimate_cuda_memory(w);
  EXPECT_EQ(plan.work_bytes,
            (500 * 500 + 1000 * 500 + 500 + 2 * 500 * 495) * 4 + (3 * 500 * 500 + 2 * 500) * 8);

  // ML-25M, k = 64, zero objective: about 0.49 GB of matrix and factors, far below an H100's 80 GB.
  const engine::CudaWorkload ml25m{engine::CudaJob::nmf_zero, 162541, 59047, 25000095, 64, 0, false};
  const auto big = engine::estimate_cuda_memory(ml25m);
  EXPECT_EQ(big.matrix_bytes, (162542 + 59048) * 4 + 2 * std::int64_t{25000095} * 8);
  EXPECT_LT(big.total(), std::int64_t{1} << 30);
}

TEST(CudaMemoryEstimate, NotFittingNamesBytesNeededAndFree) {
  engine::CudaMemoryPlan plan;
  plan.matrix_bytes = 1000;
  plan.factor_bytes = 200;
  plan.work_bytes = 30;
  plan.reserve_bytes = 4;
  EXPECT_NO_THROW(engine::require_cuda_memory(plan, 1234, "NMF"));
  try {
    engine::require_cuda_memory(plan, 1233, "NMF on cuda:0 (Test GPU)");
    FAIL() << "expected CudaOutOfMemory";
  } catch (const CudaOutOfMemory& e) {
    EXPECT_EQ(e.needed_bytes(), 1234);
    EXPECT_EQ(e.free_bytes(), 1233);
    const std::string what = e.what();
    EXPECT_EQ(what.rfind("NMF on cuda:0 (Test GPU) needs 1234 bytes", 0), 0u) << what;
    EXPECT_NE(what.find("matrix 1000, factors 200, work 30, library reserve 4"), std::string::npos) << what;
    EXPECT_NE(what.find("only 1233 bytes"), std::string::npos) << what;
  }
}

TEST(CudaErrorFormat, NamesCallStatusFileAndLine) {
  const CudaError e("cusparseSpMM(handle, ...)", "CUSPARSE_STATUS_INSUFFICIENT_RESOURCES",
                    "insufficient resources", "cuda/nmf.cpp", 321);
  EXPECT_STREQ(e.what(),
               "CUDA error: cusparseSpMM(handle, ...) failed: CUSPARSE_STATUS_INSUFFICIENT_RESOURCES "
               "(insufficient resources) at cuda/nmf.cpp:321");
  EXPECT_EQ(e.call(), "cusparseSpMM(handle, ...)");
  EXPECT_EQ(e.status_name(), "CUSPARSE_STATUS_INSUFFICIENT_RESOURCES");
  EXPECT_EQ(e.file(), "cuda/nmf.cpp");
  EXPECT_EQ(e.line(), 321);
  const Error& base = e;  // caught like every other cinefactor error
  EXPECT_NE(std::string(base.what()).find("CUDA error"), std::string::npos);
}

}  // namespace
}  // namespace cinefactor
