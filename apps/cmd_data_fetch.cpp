// `cinefactor data fetch`: download (or take a local copy of) an official MovieLens zip, verify its
// published MD5 and unpack it to DIR/NAME.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cinefactor/fetch.hpp"
#include "commands.hpp"
#include "flag_checks.hpp"

namespace cinefactor::cli {
namespace {

constexpr double kBytesPerMegabyte = 1e6;

struct FetchArgs {
  std::string name;
  std::string dir = "datasets";
  std::string from;
  std::string url;
  std::string registry;
  int connect_timeout_s = DownloadOptions{}.connect_timeout_s;
  int read_timeout_s = DownloadOptions{}.read_timeout_s;
  bool force = false;
  bool json = false;
  bool list = false;
};

nlohmann::json spec_json(const DatasetSpec& spec) {
  return {{"name", spec.name},
          {"url", spec.url},
          {"md5", spec.md5.empty() ? nlohmann::json() : nlohmann::json(spec.md5)},
          {"folder", spec.folder},
          {"files", spec.files},
          {"approx_bytes", spec.approx_bytes},
          {"description", spec.description}};
}

void print_list(const DatasetRegistry& registry, bool json) {
  if (json) {
    nlohmann::json out{{"license", registry.license}, {"datasets", nlohmann::json::array()}};
    for (const auto& spec : registry.datasets) out["datasets"].push_back(spec_json(spec));
    fmt::print("{}\n", out.dump(2));
    return;
  }
  fmt::print("{:<16} {:>9}  {}\n", "NAME", "ZIP", "CONTENT");
  for (const auto& spec : registry.datasets) {
    fmt::print("{:<16} {:>6.1f} MB  {}{}\n", spec.name,
               static_cast<double>(spec.approx_bytes) / kBytesPerMegabyte, spec.description,
               spec.md5.empty() ? " [no checksum known: cannot be fetched]" : "");
  }
  fmt::print("\nLicense: {}\n", registry.license);
}

void print_result(const DatasetSpec& spec, const FetchResult& result, bool json) {
  if (json) {
    fmt::print("{}\n", nlohmann::json{{"name", spec.name},
                                      {"dir", result.dataset_dir.string()},
                                      {"already_present", result.already_present},
                                      {"downloaded", result.downloaded},
                                      {"source", result.source},
                                      {"md5", result.md5},
                                      {"zip_bytes", result.zip_bytes},
                                      {"unpacked_bytes", result.unpacked_bytes},
                                      {"stale_removed", result.stale_removed},
                                      {"seconds", result.seconds}}
                           .dump(2));
    return;
  }
  if (result.already_present && result.md5.empty()) {
    fmt::print("{} is already present and complete in {} (use --force to fetch it again)\n", spec.name,
               result.dataset_dir.string());
    return;
  }
  fmt::print("{} ready in {}: {:.1f} MB zip from {}, MD5 {} verified, {:.1f} MB unpacked in {:.1f} s\n",
             spec.name, result.dataset_dir.string(),
             static_cast<double>(result.zip_bytes) / kBytesPerMegabyte, result.source, result.md5,
             static_cast<double>(result.unpacked_bytes) / kBytesPerMegabyte, result.seconds);
}

}  // namespace

void register_data_fetch(CLI::App& data) {
  auto* cmd = data.add_subcommand(
      "fetch",
      "Download an official MovieLens zip (or take a local copy), verify its MD5 and unpack it to DIR/NAME");
  auto args = std::make_shared<FetchArgs>();
  cmd->add_option("name", args->name, "Dataset to fetch: " + builtin_registry().names());
  cmd->add_flag("--list", args->list, "List the datasets that can be fetched, with size and license");
  cmd->add_option("--dir", args->dir, "Folder that receives DIR/NAME")->capture_default_str();
  cmd->add_option("--from", args->from, "Local copy of the zip: the file, or a folder holding NAME.zip");
  cmd->add_flag("--force", args->force, "Replace DIR/NAME if it exists");
  cmd->add_option(
      "--url", args->url,
      "Base URL to download NAME.zip from instead of GroupLens (default: $CINEFACTOR_MOVIELENS_URL, "
      "else the registry URL)");
  cmd->add_option("--registry", args->registry,
                  "Dataset registry JSON to use instead of the built-in copy of datasets/movielens.json");
  cmd->add_option("--connect-timeout", args->connect_timeout_s, "Seconds to connect to the server")
      ->capture_default_str()
      ->check(positive());
  cmd->add_option("--read-timeout", args->read_timeout_s, "Seconds without data before a download fails")
      ->capture_default_str()
      ->check(positive());
  cmd->add_flag("--json", args->json, "Print one JSON object");
  cmd->callback([args] {
    const DatasetRegistry registry =
        args->registry.empty() ? builtin_registry() : load_registry(args->registry);
    if (args->list) {
      print_list(registry, args->json);
      return;
    }
    if (args->name.empty()) throw CLI::ValidationError("NAME", "missing; one of: " + registry.names());
    const DatasetSpec* spec = registry.find(args->name);
    if (spec == nullptr) {
      throw CLI::ValidationError("NAME", "unknown dataset '" + args->name + "'; one of: " + registry.names());
    }
    FetchOptions options;
    options.dir = args->dir;
    if (!args->from.empty()) options.from = args->from;
    options.force = args->force;
    options.base_url = args->url;
    options.download.connect_timeout_s = args->connect_timeout_s;
    options.download.read_timeout_s = args->read_timeout_s;
    print_result(*spec, fetch_dataset(*spec, options), args->json);
  });
}

}  // namespace cinefactor::cli
