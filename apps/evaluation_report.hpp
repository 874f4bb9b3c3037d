// What `cinefactor evaluate` prints: the metrics as text, or one JSON object (one process or distributed).
#pragma once

#include <string>

#include "cinefactor/evaluation.hpp"

namespace cinefactor::cli {

void print_evaluation(const EvaluationResult& result, const std::string& data, bool json);

}  // namespace cinefactor::cli
