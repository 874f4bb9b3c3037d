// `cinefactor data ...`: getting, generating and describing datasets.
#include "commands.hpp"

namespace cinefactor::cli {

void register_data_commands(CLI::App& app) {
  auto* data = app.add_subcommand("data", "Get, generate and describe rating datasets");
  data->require_subcommand(1);
  register_data_fetch(*data);
  register_data_synth(*data);
  register_data_info(*data);
}

}  // namespace cinefactor::cli
