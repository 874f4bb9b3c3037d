// The `cinefactor` CLI: each file in apps/ registers one group of subcommands. The CLI is thin:
// it parses flags and calls the library.
#pragma once

#include <CLI/CLI.hpp>

namespace cinefactor::cli {

void register_device_command(CLI::App& app);
void register_data_commands(CLI::App& app);
void register_train_command(CLI::App& app);
void register_evaluate_command(CLI::App& app);
void register_recommend_command(CLI::App& app);
void register_serve_command(CLI::App& app);
// `data` subcommands, called from register_data_commands.
void register_data_fetch(CLI::App& data);
void register_data_synth(CLI::App& data);
void register_data_info(CLI::App& data);

// Thrown on the ranks other than 0 of a distributed job for an error that every rank shares: rank 0
// prints it, the others exit with status 1 without repeating it.
struct QuietFailure {};

}  // namespace cinefactor::cli
