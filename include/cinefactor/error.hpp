// Error types. Every failure is an exception that carries its context; the CLI turns it into a
// one-line message and exit code 1, the server into a JSON error. Nothing aborts.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace cinefactor {

// Base of every error cinefactor throws on purpose. A message may quote input (a data line, a file name,
// a flag's value), so its control characters are escaped here, once for every error: a CR, a NUL or a
// terminal escape sequence from a file is shown as \r, \0, \x1B, never acted on.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what);
  explicit Error(const char* what);
};

// Bad input text: a data file line that does not parse. what() is "file:line: message".
class ParseError : public Error {
 public:
  ParseError(std::string file, std::int64_t line, const std::string& message);
  const std::string& file() const noexcept { return file_; }
  std::int64_t line() const noexcept { return line_; }
  const std::string& message() const noexcept { return message_; }

 private:
  std::string file_;
  std::int64_t line_;
  std::string message_;
};

// A binary file (cache, model) that cannot be trusted: truncated, corrupted, foreign or too new.
class FormatError : public Error {
 public:
  using Error::Error;
};

// A file or directory that is missing or cannot be read or written.
class IoError : public Error {
 public:
  using Error::Error;
};

// A request the caller made that cannot be satisfied (unknown movie id, bad option value, ...).
class InvalidArgument : public Error {
 public:
  using Error::Error;
};

// A failed call into the CUDA runtime or a CUDA library (cuBLAS, cuSPARSE, cuSOLVER). Declared here,
// free of CUDA types, so host code can catch it. what() is
// "CUDA error: <call> failed: <status name> (<status text>) at <file>:<line>".
class CudaError : public Error {
 public:
  CudaError(std::string call, std::string status_name, std::string status_text, std::string file, int line);
  const std::string& call() const noexcept { return call_; }
  const std::string& status_name() const noexcept { return status_name_; }
  const std::string& file() const noexcept { return file_; }
  int line() const noexcept { return line_; }

 private:
  std::string call_;
  std::string status_name_;
  std::string file_;
  int line_;
};

// The device does not have the memory a CUDA run needs (estimated before allocating).
class CudaOutOfMemory : public Error {
 public:
  CudaOutOfMemory(std::int64_t needed_bytes, std::int64_t free_bytes, const std::string& what);
  std::int64_t needed_bytes() const noexcept { return needed_; }
  std::int64_t free_bytes() const noexcept { return free_; }

 private:
  std::int64_t needed_;
  std::int64_t free_;
};

}  // namespace cinefactor
