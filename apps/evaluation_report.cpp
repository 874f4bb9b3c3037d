// What `cinefactor evaluate` prints (see evaluation_report.hpp).
#include "evaluation_report.hpp"

#include <fmt/format.h>

namespace cinefactor::cli {

void print_evaluation(const EvaluationResult& result, const std::string& data, bool json) {
  if (json) {
    auto out = to_json(result);
    out["data"] = data;
    fmt::print("{}\n", out.dump(2));
    return;
  }
  const auto& options = result.options;
  fmt::print("{} (k = {}) on {}: {} {}, {} fold(s)\n", result.algorithm, result.rank, data,
             protocol_name(options.protocol),
             split_kind_name(options.protocol == Protocol::holdout ? options.split.kind : SplitKind::random),
             result.folds.size());
  for (const auto& [name, value] : result.mean) {
    const auto spread = result.stddev.find(name);
    fmt::print("  {:<14} {:.4f}", name, value);
    if (result.folds.size() > 1 && spread != result.stddev.end()) fmt::print(" ± {:.4f}", spread->second);
    fmt::print("\n");
  }
  double fit = 0.0;
  for (const auto& f : result.folds) fit += f.fit_seconds;
  fmt::print("  fit time       {:.2f} s per fold\n", fit / static_cast<double>(result.folds.size()));
}

}  // namespace cinefactor::cli
