// Helpers shared by the test suites: temporary directories, the shared MovieLens data, and
// running the `cinefactor` binary end to end.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace cinefactor::test {

// The `cinefactor` binary and the source tree (golden files, web/, datasets/) the tests use: the absolute
// paths compiled in by tests/CMakeLists.txt, unless CINEFACTOR_BINARY / CINEFACTOR_SOURCE_DIR are set in
// the environment (tests run from a relocated bundle, see scripts/gpu-bundle). The two macros are redefined
// below to these lookups, so every test that includes this header follows the environment.
inline const char* env_or(const char* name, const char* compiled) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : compiled;
}
inline const char* binary_path() {
  static const char* const path = env_or("CINEFACTOR_BINARY", CINEFACTOR_BINARY);
  return path;
}
inline const char* source_dir() {
  static const char* const path = env_or("CINEFACTOR_SOURCE_DIR", CINEFACTOR_SOURCE_DIR);
  return path;
}
#undef CINEFACTOR_BINARY
#define CINEFACTOR_BINARY (::cinefactor::test::binary_path())
#undef CINEFACTOR_SOURCE_DIR
#define CINEFACTOR_SOURCE_DIR (::cinefactor::test::source_dir())

// A fresh directory under the system temp dir, removed with everything in it at scope exit.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("cinefactor-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

inline void write_text(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << text;
}

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The directory holding the shared MovieLens files (ml-latest-small/, ml-latest-small.zip).
inline std::filesystem::path shared_datasets() {
  if (const char* env = std::getenv("CINEFACTOR_DATASETS")) return env;
  return CINEFACTOR_SHARED_DATASETS;
}

// ml-latest-small unpacked, or empty when absent (callers GTEST_SKIP with the path in the message).
inline std::filesystem::path ml_latest_small() {
  auto dir = shared_datasets() / "ml-latest-small";
  return std::filesystem::exists(dir / "ratings.csv") ? dir : std::filesystem::path{};
}

#define CINEFACTOR_REQUIRE_ML_LATEST_SMALL(var)                                                 \
  const auto var = ::cinefactor::test::ml_latest_small();                                       \
  if (var.empty()) {                                                                            \
    GTEST_SKIP() << "ml-latest-small not found under " << ::cinefactor::test::shared_datasets() \
                 << " (set CINEFACTOR_DATASETS to the folder holding ml-latest-small/)";        \
  }

struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs a program (argv[0], looked up on PATH) with its arguments (each shell-quoted here) and captures its
// output. With `timeout_s` > 0 a run that has not ended by then is killed (exit code 124): a test of
// something that must not hang fails instead of stalling the suite.
inline CliResult run_program(const std::vector<std::string>& argv, const std::string& stdin_text = "",
                             int timeout_s = 0) {
  TempDir tmp;
  std::string cmd = timeout_s > 0 ? "timeout -k 5 " + std::to_string(timeout_s) : std::string();
  for (const auto& a : argv) {
    std::string q = "'";
    for (char c : a) q += (c == '\'') ? std::string("'\\''") : std::string(1, c);
    cmd += (cmd.empty() ? "" : " ") + q + "'";
  }
  const auto in = tmp / "stdin";
  write_text(in, stdin_text);
  cmd += " <'" + in.string() + "' >'" + (tmp / "out").string() + "' 2>'" + (tmp / "err").string() + "'";
  const int status = std::system(cmd.c_str());
  CliResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_text(tmp / "out");
  r.err = read_text(tmp / "err");
  return r;
}

// Runs the built `cinefactor` binary with `args`, as run_program.
inline CliResult run_cli(const std::vector<std::string>& args, const std::string& stdin_text = "",
                         int timeout_s = 0) {
  std::vector<std::string> argv{CINEFACTOR_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_program(argv, stdin_text, timeout_s);
}

}  // namespace cinefactor::test
