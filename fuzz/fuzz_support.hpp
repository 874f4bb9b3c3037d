// What the libFuzzer harnesses of fuzz/ share: a private scratch directory per fuzzing process, writing
// an input to a file there, and the one rule every harness checks: the code under test either succeeds
// or throws the cinefactor::Error it documents. Anything else (another exception, a crash, a sanitizer
// report) stops the fuzzer with the input that caused it.
#pragma once

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>
#include <typeinfo>

#include "cinefactor/error.hpp"

namespace cinefactor::fuzz {

// A directory of this process's own under $TMPDIR (or /tmp), removed at exit.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/cinefactor-fuzz-XXXXXX";
    if (!::mkdtemp(pattern.data())) {
      std::perror("cinefactor fuzz: mkdtemp");
      std::abort();
    }
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(scratch_dir(), ec);
    });
    return std::filesystem::path(pattern);
  }();
  return dir;
}

inline void write_file(const std::filesystem::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    std::fprintf(stderr, "cinefactor fuzz: cannot write %s\n", path.c_str());
    std::abort();
  }
}

// A finding: prints what went wrong and aborts, so libFuzzer saves the input as a crash.
[[noreturn]] inline void finding(const char* what, const std::string& detail) {
  std::fprintf(stderr, "cinefactor fuzz: %s: %s\n", what, detail.c_str());
  std::fflush(stderr);
  std::abort();
}

// For code that documents no exception at all: expect_success_or<NoException>(...).
struct NoException {};

// Logs off: the readers warn about every skipped line, which would drown libFuzzer's own output.
inline void quiet_logs() {
  spdlog::set_level(spdlog::level::off);
}

// Runs `body`; a cinefactor::Error of type `Expected` is a refusal and fine, every other exception a finding.
template <typename Expected = Error, typename Body>
void expect_success_or(Body&& body) {
  try {
    body();
  } catch (const Expected&) {
  } catch (const std::exception& e) {
    finding("unexpected exception", std::string(typeid(e).name()) + ": " + e.what());
  }
}

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace cinefactor::fuzz

// Every harness is one translation unit that includes this header: libFuzzer calls this once at start.
extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  cinefactor::fuzz::quiet_logs();
  return 0;
}
