// `cinefactor data synth`: writes a synthetic MovieLens-like dataset (ml-25m CSV layout).
#include <fmt/format.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cinefactor/synth.hpp"
#include "commands.hpp"
#include "flag_checks.hpp"

namespace cinefactor::cli {

void register_data_synth(CLI::App& data) {
  std::string presets_help = "Size and shape of the dataset:";
  for (const auto& p : synth_presets()) presets_help += "\n  " + p.name + ": " + p.description;
  auto* cmd = data.add_subcommand(
      "synth", "Generate a synthetic MovieLens-like dataset (ratings.csv, movies.csv, links.csv)");
  struct Flags {
    SynthOptions options;
    std::string out;
    bool json = false;
  };
  auto flags = std::make_shared<Flags>();
  std::vector<std::string> names;
  for (const auto& p : synth_presets()) names.push_back(p.name);
  cmd->add_option("--preset", flags->options.preset, presets_help)
      ->check(CLI::IsMember(names))
      ->capture_default_str();
  cmd->add_option("--seed", flags->options.seed, "Random seed; the same preset and seed give identical files")
      ->check(unsigned_integer())
      ->capture_default_str();
  cmd->add_option("--out", flags->out, "Output directory (created; must not exist or be empty)")->required();
  cmd->add_flag("--force", flags->options.force, "Replace a non-empty output directory (atomically)");
  cmd->add_option("--threads", flags->options.threads,
                  "Worker threads (0 = all cores); the output does not depend on it")
      ->check(non_negative())
      ->capture_default_str();
  cmd->add_flag("--json", flags->json, "Print one JSON object");
  cmd->callback([flags] {
    const SynthStats s = write_synthetic_dataset(flags->options, flags->out);
    if (flags->json) {
      nlohmann::json out{{"preset", s.preset},
                         {"seed", s.seed},
                         {"users", s.users},
                         {"movies", s.rated_movies},
                         {"movies_listed", s.listed_movies},
                         {"ratings", s.ratings},
                         {"bytes", s.bytes},
                         {"seconds", s.seconds},
                         {"out", flags->out},
                         {"histogram", s.histogram}};
      fmt::print("{}\n", out.dump());
      return;
    }
    fmt::print(
        "{}: {} users, {} rated movies ({} listed), {} ratings, {:.1f} MB in {:.2f} s (preset {}, seed {})\n",
        flags->out, s.users, s.rated_movies, s.listed_movies, s.ratings, static_cast<double>(s.bytes) / 1e6,
        s.seconds, s.preset, s.seed);
  });
}

}  // namespace cinefactor::cli
