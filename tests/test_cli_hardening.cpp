// The CLI as a hostile user tries it (issue 14): a model without a catalog, files that are not regular
// files (FIFOs, directories, symbolic link loops), control bytes in input, flags out of range or
// unknown, a disk that refuses to grow, and Ctrl-C in the middle of a write. Each case runs the real
// binary and checks what the user sees: no crash, no hang, one clear line, no file left behind.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <thread>

#include "cinefactor/model_file.hpp"
#include "core/rating_grid.hpp"
#include "test_support.hpp"

extern char** environ;

namespace cinefactor {
namespace {

using test::run_cli;

constexpr int kNoHangSeconds = 60;  // a run that must not hang is killed after this (exit code 124)

// A small NMF-like model of 4 movies (ids 1, 2, 5, 10) and 3 users, with or without a catalog.
Model small_model(bool with_catalog) {
  Model m;
  m.algorithm = Algorithm::nmf;
  m.objective = NmfObjective::zero;
  m.hyperparameters.rank = 2;
  m.user_ids = {1, 2, 3};
  m.movie_ids = {1, 2, 5, 10};
  m.user_factors = DenseMatrix(3, 2, 0.5f);
  m.movie_factors = DenseMatrix(4, 2);
  for (std::int64_t j = 0; j < 4; ++j) {
    m.movie_factors(j, 0) = 0.25f * static_cast<float>(j + 1);
    m.movie_factors(j, 1) = 1.0f - 0.125f * static_cast<float>(j);
  }
  if (with_catalog) {
    for (const auto id : m.movie_ids) {
      CatalogMovie c;
      c.movie.id = id;
      c.movie.title = "Movie " + std::to_string(id);
      c.movie.year = 1990;
      c.movie.genres = {"Drama"};
      c.rating_count = 10;
      c.rating_mean = 3.5f;
      m.catalog.push_back(c);
    }
  }
  return m;
}

// A complete csv-layout dataset of a few ratings; `ratings` replaces the ratings.csv text when given.
void write_tiny_dataset(const std::filesystem::path& dir, const std::string& ratings = "") {
  test::write_text(dir / "ratings.csv", ratings.empty() ? "userId,movieId,rating,timestamp\n"
                                                          "1,1,4.0,964982703\n"
                                                          "1,2,3.0,964982703\n"
                                                          "2,1,5.0,964982703\n"
                                                          "2,3,2.5,964982703\n"
                                                        : ratings);
  test::write_text(dir / "movies.csv",
                   "movieId,title,genres\n1,Toy Story (1995),Comedy\n2,Jumanji (1995),Adventure\n"
                   "3,Heat (1995),Action\n");
  test::write_text(dir / "links.csv", "movieId,imdbId,tmdbId\n1,114709,862\n2,113497,8844\n3,113277,949\n");
}

void make_fifo(const std::filesystem::path& path) {
  std::filesystem::remove(path);
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0) << path;
}

bool has_temporary_of(const std::filesystem::path& target) {
  const std::string prefix = "." + target.filename().string() + ".tmp-";
  for (const auto& item : std::filesystem::directory_iterator(target.parent_path())) {
    if (item.path().filename().string().starts_with(prefix)) return true;
  }
  return false;
}

// ------------------------------------------------------------------------------------------------
// A model file without a catalog: the format allows it, and recommend names movies by id.

TEST(CliHardening, RecommendOnAModelWithoutACatalog) {
  test::TempDir dir;
  const auto path = (dir / "bare.cfm").string();
  save_model(small_model(false), path);
  const auto text = run_cli({"-q", "recommend", "--model", path, "--rate", "1=5", "--min-ratings", "0"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("movie 10"), std::string::npos) << text.out;
  const auto json =
      run_cli({"-q", "recommend", "--model", path, "--rate", "1=5", "--min-ratings", "0", "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const auto recs = nlohmann::json::parse(json.out).at("recommendations");
  ASSERT_EQ(recs.size(), 3u) << json.out;
  for (const auto& r : recs) EXPECT_EQ(r.at("title"), "movie " + std::to_string(r.at("movie_id").get<int>()));
  // What needs a catalog says so.
  const auto title = run_cli({"-q", "recommend", "--model", path, "--rate", "toy=5", "--min-ratings", "0"});
  EXPECT_EQ(title.exit_code, 1);
  EXPECT_NE(title.err.find("no catalog"), std::string::npos) << title.err;
  const auto genre = run_cli(
      {"-q", "recommend", "--model", path, "--rate", "1=5", "--min-ratings", "0", "--genre", "Drama"});
  EXPECT_EQ(genre.exit_code, 1);
  EXPECT_NE(genre.err.find("no catalog"), std::string::npos) << genre.err;
}

// ------------------------------------------------------------------------------------------------
// Files that are not regular files are refused at once, with what is there instead.

TEST(CliHardening, AFifoAsTheModelIsRefusedWithoutHanging) {
  test::TempDir dir;
  make_fifo(dir / "model.cfm");
  const auto r = run_cli({"-q", "recommend", "--model", (dir / "model.cfm").string(), "--rate", "1=5"}, "",
                         kNoHangSeconds);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("model.cfm is a FIFO (named pipe), not a regular file"), std::string::npos) << r.err;
}

TEST(CliHardening, AFifoAtTheDatasetCacheIsReplacedWithoutHanging) {
  test::TempDir dir;
  const auto data = dir / "data";
  write_tiny_dataset(data);
  const auto cache = data / ".cinefactor-cache.bin";
  const auto out = (dir / "m.cfm").string();
  const std::vector<std::vector<std::string>> commands{
      {"data", "info", "--data", data.string()},
      {"train", "--data", data.string(), "--algo", "bias", "--out", out},
      {"evaluate", "--data", data.string(), "--algo", "mean", "--test-fraction", "0.5"},
  };
  for (const auto& command : commands) {
    SCOPED_TRACE(command.front());
    make_fifo(cache);
    const auto r = run_cli(command, "", kNoHangSeconds);
    EXPECT_NE(r.exit_code, 124) << "hung on the FIFO";
    EXPECT_NE(r.err.find("cache not used because " + cache.string() + " is a FIFO (named pipe)"),
              std::string::npos)
        << r.err;
    if (command.front() != "evaluate") {
      EXPECT_EQ(r.exit_code, 0) << r.err;
    }
  }
}

TEST(CliHardening, ARatingsFileThatIsNotAFileIsNamed) {
  test::TempDir dir;
  const auto data = dir / "data";
  write_tiny_dataset(data);
  const auto ratings = data / "ratings.csv";
  struct Case {
    std::string name;
    std::function<void()> make;
    std::string says;
  };
  const std::vector<Case> cases{
      {"directory",
       [&] {
         std::filesystem::remove(ratings);
         std::filesystem::create_directory(ratings);
       },
       ratings.string() + " is a directory, not a regular file"},
      {"fifo", [&] { make_fifo(ratings); }, ratings.string() + " is a FIFO (named pipe), not a regular file"},
      {"symlink loop",
       [&] {
         std::filesystem::create_symlink(data / "loop-b", data / "loop-a");
         std::filesystem::create_symlink(data / "loop-a", data / "loop-b");
         std::filesystem::create_symlink(data / "loop-a", ratings);
       },
       "cannot open " + ratings.string() + ": Too many levels of symbolic links"},
      {"dangling symlink", [&] { std::filesystem::create_symlink(data / "gone.csv", ratings); },
       ratings.string() + " is a symbolic link to a file that does not exist"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    for (const auto& p : {ratings, data / "loop-a", data / "loop-b"}) std::filesystem::remove_all(p);
    c.make();
    const auto r = run_cli({"-q", "data", "info", "--data", data.string()}, "", kNoHangSeconds);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("no MovieLens data found"), std::string::npos) << r.err;
  }
}

// ------------------------------------------------------------------------------------------------
// Control bytes from a file are shown escaped: never acted on by the terminal, never cutting a message.

TEST(CliHardening, ControlBytesInADataFileAreEscapedInTheMessage) {
  test::TempDir dir;
  struct Case {
    std::string line;
    std::string says;
  };
  const std::vector<Case> cases{
      {"1,\x1b[31mred,4.0,964982703\n", "found \"\\x1B[31mred\""},
      {std::string("1,2\0x,4.0,964982703\n", 20), "found \"2\\0x\""},
      {"1,2,4.0,9649827\r03\n", "found \"9649827\\r03\""},
      {"1,\xc2\x9b\x32J,4.0,964982703\n", "found \"\\u009B2J\""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.says);
    write_tiny_dataset(dir / "data", "userId,movieId,rating,timestamp\n" + c.line);
    const auto r = run_cli({"-q", "data", "info", "--data", (dir / "data").string(), "--no-cache"});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("ratings.csv:2: "), std::string::npos) << r.err;
    for (const char raw : {'\x1b', '\r', '\0'}) EXPECT_EQ(r.err.find(raw), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("\xc2\x9b"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line: " << r.err;
  }
}

// ------------------------------------------------------------------------------------------------
// Flags.

TEST(CliHardening, AnUnknownTopLevelFlagOrCommandIsNamed) {
  const auto command = run_cli({"trian", "--data", "x"});
  EXPECT_EQ(command.exit_code, 2);
  EXPECT_NE(command.err.find("unknown command \"trian\""), std::string::npos) << command.err;
  EXPECT_NE(command.err.find("train"), std::string::npos) << command.err;
  const auto flag = run_cli({"--bogus"});
  EXPECT_EQ(flag.exit_code, 2);
  EXPECT_NE(flag.err.find("unknown flag \"--bogus\""), std::string::npos) << flag.err;
  const auto escaped = run_cli({"\x1b]0;owned\x07"});
  EXPECT_EQ(escaped.exit_code, 2);
  EXPECT_NE(escaped.err.find("\\x1B]0;owned\\x07"), std::string::npos) << escaped.err;
  EXPECT_EQ(escaped.err.find('\x1b'), std::string::npos) << escaped.err;
}

TEST(CliHardening, NumbersOutOfRangeAreRefusedInPlainWords) {
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  const std::vector<Case> cases{
      {{"train", "--data", ".", "--out", "m.cfm", "--threads", "-1"},
       "--threads: expected a number >= 0, got -1"},
      {{"train", "--data", ".", "--out", "m.cfm", "--tol", "-0.5"},
       "--tol: expected a number >= 0, got -0.5"},
      {{"train", "--data", ".", "--out", "m.cfm", "--seed", "-1"},
       "--seed: expected a whole number from 0 to 18446744073709551615, got -1"},
      {{"data", "synth", "--out", "x", "--seed", "-1"}, "--seed: expected a whole number"},
      {{"evaluate", "--data", ".", "--split-seed", "-3"}, "--split-seed: expected a whole number"},
      {{"recommend", "--model", "/dev/null", "--rate", "1=4", "--min-ratings", "-2"},
       "expected a number >= 0, got -2"},
      {{"data", "fetch", "ml-latest-small", "--read-timeout", "-1"}, "expected a number > 0, got -1"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.says);
    const auto r = run_cli(c.args);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
    EXPECT_LT(r.err.size(), 200u) << "no DBL_MAX digits: " << r.err;
  }
}

TEST(CliHardening, RateOffTheHalfStarGridIsRefusedForATitleToo) {
  test::TempDir dir;
  const auto path = (dir / "m.cfm").string();
  save_model(small_model(true), path);
  const auto r = run_cli({"-q", "recommend", "--model", path, "--rate", "x=4.25"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.err, "cinefactor: error: " + rating_grid_error("--rate \"x=4.25\"", kHalfStars, "4.25") + "\n");
}

// ------------------------------------------------------------------------------------------------
// A write that the file system refuses says why (here: the file size limit, EFBIG, as a full disk
// gives ENOSPC), and leaves nothing behind.

TEST(CliHardening, AFailedWriteSaysWhy) {
  test::TempDir dir;
  const auto data = dir / "data";
  write_tiny_dataset(data);
  const auto out = dir / "m.cfm";
  // SIGXFSZ ignored (inherited through exec): the write fails with EFBIG instead of killing the process.
  const std::string cmd = "trap '' XFSZ; ulimit -f 2; exec '" + std::string(CINEFACTOR_BINARY) +
                          "' -q train --data '" + data.string() + "' --no-cache --algo bias --out '" +
                          out.string() + "' 2>'" + (dir / "err").string() + "'";
  // 2 blocks of 512 bytes: the tiny dataset's model (2.4 kB) is larger than that; clang's OpenMP runtime
  // (the sanitized build) sizes a 1 kB shared-memory file at start, which must still fit.
  const int status = std::system(("sh -c \"" + cmd + "\"").c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1);
  const auto err = test::read_text(dir / "err");
  EXPECT_NE(err.find("cannot write "), std::string::npos) << err;
  EXPECT_NE(err.find(": File too large"), std::string::npos) << err;
  EXPECT_FALSE(std::filesystem::exists(out));
  EXPECT_FALSE(has_temporary_of(out)) << "a temporary was left behind";
}

// ------------------------------------------------------------------------------------------------
// Ctrl-C (a real SIGINT to a real process) in the middle of `data synth --force` removes the hidden
// temporary directory and leaves the old dataset as it was.

TEST(CliHardening, SigintDuringDataSynthLeavesNoTemporary) {
  test::TempDir dir;
  const auto target = dir / "synth";
  test::write_text(target / "keep.txt", "the old dataset\n");
  std::vector<std::string> args{CINEFACTOR_BINARY, "-q",    "data",          "synth",  "--preset",
                                "ml-25m",          "--out", target.string(), "--force"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  ASSERT_EQ(::posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ), 0);
  // Wait until the temporary directory exists and holds ratings.csv: the write is under way.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  bool writing = false;
  while (!writing && std::chrono::steady_clock::now() < deadline) {
    for (const auto& item : std::filesystem::directory_iterator(dir.path())) {
      if (item.path().filename().string().starts_with(".synth.tmp-") &&
          std::filesystem::exists(item.path() / "ratings.csv"))
        writing = true;
    }
    if (!writing) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(writing) << "data synth never started writing";
  ASSERT_EQ(::kill(pid, SIGINT), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT) << "status " << status;
  EXPECT_FALSE(has_temporary_of(target)) << "the temporary directory was left behind";
  EXPECT_EQ(test::read_text(target / "keep.txt"), "the old dataset\n");
}

}  // namespace
}  // namespace cinefactor
