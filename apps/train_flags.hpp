// Flags shared by `train` and `evaluate`: the algorithm and its hyperparameters (TrainOptions) and how
// the data is loaded (LoadOptions).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "cinefactor/dataset.hpp"
#include "cinefactor/train.hpp"

namespace cinefactor::cli {

struct TrainFlags {
  std::string data;
  std::string algorithm = "nmf";
  std::string objective = "zero";
  std::string init = "nndsvda";
  std::string device = "auto";
  bool no_cache = false;
  bool skip_bad_lines = false;
  TrainOptions options;
};

// Adds --data, --algo and every hyperparameter flag to `cmd`, bound to `flags`.
void add_train_flags(CLI::App* cmd, TrainFlags& flags);
// Turns the parsed strings into TrainOptions enums; throws CLI::ValidationError on bad values.
TrainOptions resolve_train_options(const TrainFlags& flags);
LoadOptions resolve_load_options(const TrainFlags& flags);

}  // namespace cinefactor::cli
