// Checks of numeric flag values whose messages a person can read: the accepted range as one would type
// it, never the limits of a type (CLI11's NonNegativeNumber prints DBL_MAX's 309 digits), and no silent
// wrap-around of a negative number into an unsigned flag.
#pragma once

#include <CLI/CLI.hpp>

namespace cinefactor::cli {

// A number >= 0: "--tol: expected a number >= 0, got -1".
CLI::Validator non_negative();
// A number > 0.
CLI::Validator positive();
// A whole number from 0 to 2^64 - 1 (seeds): "-1" is refused rather than read as 2^64 - 1.
CLI::Validator unsigned_integer();

}  // namespace cinefactor::cli
