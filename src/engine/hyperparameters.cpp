// Hyperparameters <-> the JSON object the model file stores (see model.hpp): one entry per field, under
// the names the file format has always used.
#include <fmt/format.h>

#include <limits>
#include <string>
#include <string_view>

#include "cinefactor/error.hpp"
#include "cinefactor/model.hpp"

namespace cinefactor {
namespace {

// Calls visit(name, field) for every field: the one list both directions share.
template <typename H, typename Visit>
void for_each_field(H& h, Visit&& visit) {
  visit("rank", h.rank);
  visit("objective", h.objective);
  visit("init", h.init);
  visit("max_iterations", h.max_iterations);
  visit("tolerance", h.tolerance);
  visit("seed", h.seed);
  visit("oversamples", h.oversamples);
  visit("power_iterations", h.power_iterations);
  visit("center", h.center);
  visit("l2_user", h.l2_user);
  visit("l2_movie", h.l2_movie);
  visit("biases", h.biases);
  visit("l2_bias", h.l2_bias);
  visit("alpha", h.alpha);
  visit("als_l2", h.als_l2);
  visit("positive_threshold", h.positive_threshold);
  visit("cg_steps", h.cg_steps);
  visit("iterations_run", h.iterations_run);
}

[[noreturn]] void bad(std::string_view key, const nlohmann::json& value, std::string_view expected) {
  throw FormatError(fmt::format("hyperparameter '{}': expected {}, found {}", key, expected, value.dump()));
}

void read(std::string_view key, const nlohmann::json& v, std::int32_t& out) {
  if (!v.is_number_integer() || v.get<std::int64_t>() < 0 ||
      v.get<std::int64_t>() > std::numeric_limits<std::int32_t>::max()) {
    bad(key, v, "an integer from 0 to 2^31 - 1");
  }
  out = static_cast<std::int32_t>(v.get<std::int64_t>());
}
void read(std::string_view key, const nlohmann::json& v, std::uint64_t& out) {
  if (!v.is_number_unsigned()) bad(key, v, "an integer from 0 to 2^64 - 1");
  out = v.get<std::uint64_t>();
}
void read(std::string_view key, const nlohmann::json& v, double& out) {
  if (!v.is_number()) bad(key, v, "a number");
  out = v.get<double>();
}
void read(std::string_view key, const nlohmann::json& v, float& out) {
  if (!v.is_number()) bad(key, v, "a number");
  out = v.get<float>();
}
void read(std::string_view key, const nlohmann::json& v, bool& out) {
  if (!v.is_boolean()) bad(key, v, "true or false");
  out = v.get<bool>();
}
void read(std::string_view key, const nlohmann::json& v, NmfObjective& out) {
  const auto parsed = v.is_string() ? parse_objective(v.get<std::string>()) : std::nullopt;
  if (!parsed) bad(key, v, fmt::format("one of {}", fmt::join(objective_names(), ", ")));
  out = *parsed;
}
void read(std::string_view key, const nlohmann::json& v, NmfInit& out) {
  const auto parsed = v.is_string() ? parse_init(v.get<std::string>()) : std::nullopt;
  if (!parsed) bad(key, v, fmt::format("one of {}", fmt::join(init_names(), ", ")));
  out = *parsed;
}

template <typename T>
nlohmann::json write(const T& value) {
  if constexpr (std::is_same_v<T, NmfObjective>) {
    return objective_name(value);
  } else if constexpr (std::is_same_v<T, NmfInit>) {
    return init_name(value);
  } else {
    return value;
  }
}

}  // namespace

nlohmann::json to_json(const Hyperparameters& h) {
  nlohmann::json out = nlohmann::json::object();
  for_each_field(h, [&](const char* key, const auto& field) {
    if (field) out[key] = write(*field);
  });
  return out;
}

Hyperparameters hyperparameters_from_json(const nlohmann::json& object) {
  if (!object.is_object())
    throw FormatError("hyperparameters: expected a JSON object, found " + object.dump());
  Hyperparameters h;
  std::size_t known = 0;
  for_each_field(h, [&](const char* key, auto& field) {
    const auto it = object.find(key);
    if (it == object.end()) return;
    ++known;
    typename std::remove_reference_t<decltype(field)>::value_type value{};
    read(key, *it, value);
    field = value;
  });
  if (known != object.size()) {
    Hyperparameters names;
    for (const auto& item : object.items()) {
      const std::string key = item.key();
      bool found = false;
      for_each_field(names, [&](const char* name, const auto&) { found = found || key == name; });
      if (!found) throw FormatError("unknown hyperparameter '" + key + "'");
    }
  }
  return h;
}

}  // namespace cinefactor
