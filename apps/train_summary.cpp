// The summary `cinefactor train` prints (see train_summary.hpp).
#include "train_summary.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace cinefactor::cli {

void log_iteration(const IterationInfo& info) {
  constexpr int kLossLogEvery = 10;
  if (info.iteration % kLossLogEvery == 0) {
    spdlog::info("iteration {}: loss {:.6g} ({:.2f} s)", info.iteration, info.loss, info.seconds);
  } else {
    spdlog::debug("iteration {}: loss {:.6g} ({:.2f} s)", info.iteration, info.loss, info.seconds);
  }
}

void print_train_summary(const Model& model, const TrainReport& report, std::int64_t ratings,
                         const std::string& out, bool json, const nlohmann::json& extra) {
  const double final_loss = report.loss_history.empty() ? 0.0 : report.loss_history.back();
  if (json) {
    nlohmann::json summary{{"model", out},
                           {"algorithm", algorithm_name(model.algorithm)},
                           {"rank", model.rank()},
                           {"users", model.n_users()},
                           {"movies", model.n_movies()},
                           {"ratings", ratings},
                           {"device", report.device},
                           {"iterations", report.iterations},
                           {"loss_history", report.loss_history},
                           {"seconds", report.seconds},
                           {"hyperparameters", to_json(model.hyperparameters)}};
    summary.update(extra);
    fmt::print("{}\n", summary.dump(2));
    return;
  }
  fmt::print("trained {} (k = {}) on {} users x {} movies, {} ratings, on {} in {:.2f} s",
             algorithm_name(model.algorithm), model.rank(), model.n_users(), model.n_movies(), ratings,
             report.device, report.seconds);
  if (!report.loss_history.empty())
    fmt::print(", {} iterations, final loss {:.6g}", report.iterations, final_loss);
  fmt::print("\n");
  for (const auto& [key, value] : extra.items()) fmt::print("{}: {}\n", key, value.dump());
  fmt::print("wrote {}\n", out);
}

}  // namespace cinefactor::cli
