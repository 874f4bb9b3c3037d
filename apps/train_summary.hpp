// What `cinefactor train` prints when it has written a model, one process or a distributed job alike.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "cinefactor/model.hpp"
#include "cinefactor/train.hpp"

namespace cinefactor::cli {

// `extra` (an object) is merged into the JSON summary; the text summary prints each of its keys on a line.
// The loss of an iteration in the log: every iteration with --verbose, every 10th otherwise.
void log_iteration(const IterationInfo& info);

void print_train_summary(const Model& model, const TrainReport& report, std::int64_t ratings,
                         const std::string& out, bool json,
                         const nlohmann::json& extra = nlohmann::json::object());

}  // namespace cinefactor::cli
