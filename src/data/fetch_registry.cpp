// The registry of downloadable MovieLens datasets (datasets/movielens.json, embedded into the
// library at build time): parsing and checking it, and looking datasets up by name.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cinefactor/error.hpp"
#include "cinefactor/fetch.hpp"
#include "core/embedded.hpp"
#include "core/regular_file.hpp"
#include "data/fetch_steps.hpp"

CINEFACTOR_EMBEDDED_TABLE(DataFiles)

namespace cinefactor {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMd5HexDigits = 32;
constexpr const char* kRegistryFormat = "cinefactor-movielens-registry";
constexpr int kRegistryVersion = 1;

bool is_lower_hex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool is_dataset_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_' || c == '.')) {
      return false;
    }
  }
  return name.front() != '.';
}

std::string required_string(const nlohmann::json& entry, const char* key, const std::string& where) {
  if (!entry.contains(key) || !entry[key].is_string()) {
    throw FormatError(fmt::format("{}: \"{}\" must be a string", where, key));
  }
  return entry[key].get<std::string>();
}

}  // namespace

const DatasetSpec* DatasetRegistry::find(std::string_view name) const {
  for (const auto& spec : datasets) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

std::string DatasetRegistry::names() const {
  std::string out;
  for (const auto& spec : datasets) out += (out.empty() ? "" : ", ") + spec.name;
  return out;
}

DatasetRegistry parse_registry(std::string_view json_text, const std::string& source) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::parse_error& e) {
    throw FormatError(source + ": not valid JSON: " + e.what());
  }
  if (!doc.is_object() || doc.value("format", "") != kRegistryFormat) {
    throw FormatError(
        fmt::format("{}: not a dataset registry (expected \"format\": \"{}\")", source, kRegistryFormat));
  }
  if (!doc.contains("version") || !doc["version"].is_number_integer() ||
      doc["version"].get<int>() != kRegistryVersion) {
    throw FormatError(
        fmt::format("{}: unsupported registry version (expected {})", source, kRegistryVersion));
  }
  if (!doc.contains("datasets") || !doc["datasets"].is_array()) {
    throw FormatError(source + ": \"datasets\" must be an array");
  }
  DatasetRegistry registry;
  registry.license = doc.value("license", "");
  std::size_t position = 0;
  for (const auto& entry : doc["datasets"]) {
    const auto where = fmt::format("{}: datasets[{}]", source, position++);
    if (!entry.is_object()) throw FormatError(where + ": must be an object");
    DatasetSpec spec;
    spec.name = required_string(entry, "name", where);
    const auto named = fmt::format("{} ({})", where, spec.name);
    if (!is_dataset_name(spec.name))
      throw FormatError(named + ": \"name\" must be letters, digits, '-', '_' or '.'");
    if (registry.find(spec.name) != nullptr) throw FormatError(named + ": duplicate name");
    spec.url = required_string(entry, "url", named);
    try {
      detail::split_url(spec.url);
    } catch (const InvalidArgument& e) {
      throw FormatError(named + ": " + e.what());
    }
    // An unknown checksum is written as null or "": fetching that dataset then refuses to run.
    if (entry.contains("md5") && !entry["md5"].is_null()) spec.md5 = required_string(entry, "md5", named);
    if (!spec.md5.empty() && (spec.md5.size() != kMd5HexDigits || !is_lower_hex(spec.md5))) {
      throw FormatError(named + ": \"md5\" must be 32 lowercase hex digits");
    }
    spec.folder = required_string(entry, "folder", named);
    if (!detail::is_plain_relative(spec.folder) || spec.folder.find('/') != std::string::npos) {
      throw FormatError(named + ": \"folder\" must be one plain path component");
    }
    if (!entry.contains("files") || !entry["files"].is_array() || entry["files"].empty()) {
      throw FormatError(named + ": \"files\" must be a non-empty array");
    }
    for (const auto& file : entry["files"]) {
      if (!file.is_string() || !detail::is_plain_relative(file.get<std::string>())) {
        throw FormatError(named + ": \"files\" must hold relative paths without '..'");
      }
      spec.files.push_back(file.get<std::string>());
    }
    if (entry.contains("approx_bytes")) {
      if (!entry["approx_bytes"].is_number_integer() || entry["approx_bytes"].get<std::int64_t>() < 0) {
        throw FormatError(named + ": \"approx_bytes\" must be a non-negative integer");
      }
      spec.approx_bytes = entry["approx_bytes"].get<std::int64_t>();
    }
    spec.description = entry.value("description", "");
    registry.datasets.push_back(std::move(spec));
  }
  return registry;
}

DatasetRegistry load_registry(const fs::path& path) {
  return parse_registry(read_regular_file(path), path.string());
}

std::string_view embedded_registry_text() {
  const auto* entry = detail::find_embedded(detail::kDataFiles, detail::kDataFilesCount, "movielens.json");
  if (entry == nullptr) throw Error("the dataset registry was not embedded into this build");
  return detail::embedded_bytes(*entry);
}

const DatasetRegistry& builtin_registry() {
  static const DatasetRegistry kRegistry =
      parse_registry(embedded_registry_text(), "datasets/movielens.json (built in)");
  return kRegistry;
}

}  // namespace cinefactor
