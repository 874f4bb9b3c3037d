// `cinefactor device`: the compute devices this build can use.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cinefactor/device.hpp"
#include "commands.hpp"

namespace cinefactor::cli {

void register_device_command(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("device", "List the CUDA devices this build can use, or say why there is none");
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "Print one JSON object");
  cmd->callback([json] {
    const CudaProbe probe = probe_cuda();
    if (*json) {
      nlohmann::json out{{"cuda_compiled", probe.compiled},
                         {"driver_version", probe.driver_version},
                         {"runtime_version", probe.runtime_version},
                         {"devices", nlohmann::json::array()}};
      for (const auto& d : probe.devices) {
        out["devices"].push_back(
            {{"index", d.index},
             {"name", d.name},
             {"compute_capability", fmt::format("{}.{}", d.compute_major, d.compute_minor)},
             {"total_memory", d.total_memory},
             {"free_memory", d.free_memory},
             {"multiprocessors", d.multiprocessors}});
      }
      if (probe.devices.empty()) out["reason"] = probe.reason;
      fmt::print("{}\n", out.dump(2));
      return;
    }
    if (probe.devices.empty()) {
      fmt::print("no CUDA device: {}\n", probe.reason);
      return;
    }
    for (const auto& d : probe.devices) {
      fmt::print("cuda:{} {} (compute {}.{}, {} SMs, {:.1f} GiB, {:.1f} GiB free)\n", d.index, d.name,
                 d.compute_major, d.compute_minor, d.multiprocessors,
                 static_cast<double>(d.total_memory) / (1 << 30),
                 static_cast<double>(d.free_memory) / (1 << 30));
    }
  });
}

}  // namespace cinefactor::cli
