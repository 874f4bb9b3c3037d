// Error types. Every failure is an exception that carries its context; the CLI turns it into a
// one-line message and exit code 1, the server into a JSON error. Nothing aborts.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace cinefactor {

// Base of every error cinefactor throws on purpose.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
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

}  // namespace cinefactor
