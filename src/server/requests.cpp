// Request parsing for recommendations: the JSON body of POST /api/v1/recommendations and the rating
// form (GET / and POST /recommendations). Every field is checked here and a mistake is a 400 naming
// the field; the movie ids a visitor rated are checked once, by the recommender (or by the home page
// where it looks its cards up).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "core/rating_grid.hpp"
#include "core/text.hpp"
#include "recommend/messages.hpp"
#include "server/server_internal.hpp"

namespace cinefactor::server {
namespace {

using nlohmann::json;

constexpr std::int64_t kDefaultTopN = 5;
constexpr std::size_t kMaxGenres = 50;       // names per include / exclude list
constexpr std::size_t kMaxGenreBytes = 100;  // one genre name
constexpr std::size_t kMaxShown = 100;

// The form's sliders: half stars, and 0 for "not seen".
constexpr RatingGrid kSliderGrid{0.0f, kHalfStars.max, kHalfStars.step};

const std::set<std::string> kRequestFields{"ratings", "years", "genres", "algorithm", "n", "min_ratings"};

std::int64_t json_integer(const json& v, std::string_view field, std::int64_t min, std::int64_t max) {
  if (!v.is_number_integer() ||
      (v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(max)) ||
      v.get<std::int64_t>() < min || v.get<std::int64_t>() > max) {
    throw HttpError(400, fmt::format("{}: expected an integer from {} to {}, got {}", field, min, max,
                                     v.dump().substr(0, 40)));
  }
  return v.get<std::int64_t>();
}

std::vector<std::string> genre_list(const json& v, std::string_view field) {
  if (!v.is_array()) throw HttpError(400, fmt::format("{}: expected an array of genre names", field));
  if (v.size() > kMaxGenres) {
    throw HttpError(400,
                    fmt::format("{}: expected at most {} genre names, got {}", field, kMaxGenres, v.size()));
  }
  std::vector<std::string> out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_string() || v[i].get<std::string>().empty() ||
        v[i].get<std::string>().size() > kMaxGenreBytes) {
      throw HttpError(
          400, fmt::format("{}[{}]: expected a genre name (a non-empty string of at most {} bytes)", field, i,
                           kMaxGenreBytes));
    }
    out.push_back(v[i].get<std::string>());
  }
  return out;
}

// Follows a SAX parse to say where it stopped: "ratings[2].rating" for the value being read.
class ValuePath : public nlohmann::json_sax<json> {
 public:
  std::string path() const {
    std::string out;
    for (const auto& f : frames_) {
      if (f.array) {
        out += "[" + std::to_string(f.index) + "]";
      } else {
        out += (out.empty() ? "" : ".") + f.key;
      }
    }
    return out.empty() ? "request body" : out;
  }
  const std::string& token() const { return token_; }

  bool null() override { return value(); }
  bool boolean(bool) override { return value(); }
  bool number_integer(number_integer_t) override { return value(); }
  bool number_unsigned(number_unsigned_t) override { return value(); }
  bool number_float(number_float_t, const string_t&) override { return value(); }
  bool string(string_t&) override { return value(); }
  bool binary(binary_t&) override { return value(); }
  bool start_object(std::size_t) override { return push(false); }
  bool key(string_t& key) override {
    frames_.back().key = key.substr(0, 40);
    return true;
  }
  bool end_object() override { return pop(); }
  bool start_array(std::size_t) override { return push(true); }
  bool end_array() override { return pop(); }
  bool parse_error(std::size_t, const std::string& last_token, const json::exception&) override {
    token_ = last_token.substr(0, 40);
    return false;
  }

 private:
  struct Frame {
    bool array = false;
    std::string key;
    std::size_t index = 0;
  };
  bool value() {
    if (!frames_.empty() && frames_.back().array) ++frames_.back().index;
    return true;
  }
  bool push(bool array) {
    frames_.push_back({array, {}, 0});
    return true;
  }
  bool pop() {
    frames_.pop_back();
    return value();
  }
  std::vector<Frame> frames_;
  std::string token_;
};

json parse_body(const httplib::Request& req) {
  try {
    return json::parse(req.body);
  } catch (const json::out_of_range&) {
    // A number beyond double's range (1e400): valid JSON, so name the field that holds it.
    ValuePath where;
    json::sax_parse(req.body, &where);
    throw HttpError(
        400, fmt::format("{}: the number {} is outside the range of a double", where.path(), where.token()));
  } catch (const json::parse_error& e) {
    // nlohmann's message names the byte position; drop its "[json.exception...]" prefix.
    std::string what = e.what();
    if (const auto p = what.find("] "); p != std::string::npos) what = what.substr(p + 2);
    throw HttpError(400, "request body: invalid JSON: " + what);
  }
}

std::vector<VisitorRating> ratings_field(const json& body, std::size_t max_ratings) {
  if (!body.contains("ratings") || !body["ratings"].is_array()) {
    throw HttpError(400, "ratings: expected an array of {\"movie_id\": ..., \"rating\": ...} objects");
  }
  const auto& ratings = body["ratings"];
  if (ratings.empty()) throw HttpError(400, "ratings: rate at least one movie");
  if (ratings.size() > max_ratings) {
    throw HttpError(400,
                    fmt::format("ratings: expected at most {} ratings, got {}", max_ratings, ratings.size()));
  }
  std::vector<VisitorRating> out;
  for (std::size_t i = 0; i < ratings.size(); ++i) {
    const auto& r = ratings[i];
    const auto where = fmt::format("ratings[{}]", i);
    if (!r.is_object() || !r.contains("movie_id") || !r.contains("rating") || r.size() != 2) {
      throw HttpError(400, where + ": expected an object {\"movie_id\": ..., \"rating\": ...}");
    }
    const auto id =
        json_integer(r["movie_id"], where + ".movie_id", 1, std::numeric_limits<std::int64_t>::max());
    const auto& v = r["rating"];
    const double value = v.is_number() ? v.get<double>() : NAN;
    check_rating(value, kHalfStars, where + ".rating", v.dump().substr(0, 40));
    out.push_back({id, static_cast<float>(value)});
  }
  return out;
}

// "old", "new", "any", or {"from": ..., "to": ...} with either end optional.
void years_field(const json& y, Filters& filters) {
  if (y.is_string()) {
    const auto name = y.get<std::string>();
    const auto f = parse_year_filter(name);
    if (!f) {
      throw HttpError(
          400, fmt::format("years: expected \"old\", \"new\", \"any\" or {{\"from\": ..., \"to\": ...}}, "
                           "got \"{}\"",
                           name.substr(0, 40)));
    }
    filters.years = *f;
  } else if (y.is_object()) {
    for (const auto& [key, value] : y.items()) {
      if (key != "from" && key != "to") {
        throw HttpError(400,
                        fmt::format("years: unknown field \"{}\" (expected from and to)", key.substr(0, 40)));
      }
    }
    if (y.empty()) throw HttpError(400, "years: a range needs \"from\", \"to\" or both");
    auto end = [&](const char* key) -> std::optional<std::int32_t> {
      if (!y.contains(key)) return std::nullopt;
      return static_cast<std::int32_t>(json_integer(y[key], std::string("years.") + key, 0, kMaxYear));
    };
    const auto from = end("from");
    const auto to = end("to");
    naming_field("years", [&] { set_year_range(filters, from, to); });
  } else {
    throw HttpError(400, "years: expected \"old\", \"new\", \"any\" or {\"from\": ..., \"to\": ...}");
  }
}

void genres_field(const json& g, Filters& filters) {
  if (!g.is_object())
    throw HttpError(400, "genres: expected an object {\"include\": [...], \"exclude\": [...]}");
  for (const auto& [key, value] : g.items()) {
    if (key == "include") {
      filters.genres_any = genre_list(value, "genres.include");
    } else if (key == "exclude") {
      filters.genres_none = genre_list(value, "genres.exclude");
    } else {
      throw HttpError(
          400, fmt::format("genres: unknown field \"{}\" (expected include and exclude)", key.substr(0, 40)));
    }
  }
}

// "4.5" (surrounding blanks allowed) on the slider grid; 400 naming `what` otherwise.
float slider_rating(std::string_view raw, std::string_view what, std::string_view echoed) {
  const auto t = std::string(text::trim(raw));
  char* end = nullptr;
  double v = t.empty() ? NAN : std::strtod(t.c_str(), &end);
  if (!t.empty() && end != t.c_str() + t.size()) v = NAN;
  check_rating(v, kSliderGrid, what, echoed);
  return static_cast<float>(v);
}

}  // namespace

void require_media_type(const httplib::Request& req, std::string_view expected) {
  auto value = req.get_header_value("Content-Type");
  value = value.substr(0, value.find(';'));
  const std::string got = text::ascii_lower(text::trim(value));
  if (got != expected) {
    throw HttpError(415, fmt::format("expected a request body of type {}, got {}", expected,
                                     got.empty() ? std::string("none") : "\"" + got.substr(0, 60) + "\""));
  }
}

LoadedModel choose_model(Context& ctx, const std::string& name, std::string_view field) {
  const auto models = ctx.models->snapshot();
  if (models->empty()) throw HttpError(503, "no model is loaded");
  if (name.empty()) return models->front();
  std::string names;
  for (const auto& m : *models) {
    if (m.name == name) return m;
    names += (names.empty() ? "" : ", ") + m.name;
  }
  throw HttpError(
      400, fmt::format("{}: no model named \"{}\" is loaded (loaded: {})", field, name.substr(0, 40), names));
}

std::vector<const CatalogMovie*> find_movies(const LoadedModel& model, std::span<const std::int64_t> ids,
                                             std::string_view field) {
  std::vector<const CatalogMovie*> out;
  std::vector<std::int64_t> unknown;
  for (const auto id : ids) {
    out.push_back(model.catalog->find(id));
    if (!out.back()) unknown.push_back(id);
  }
  if (unknown.empty()) return out;
  const auto message = unknown_movies_message(unknown, algorithm_name(model.model->algorithm));
  throw HttpError(400, field.empty() ? message : std::string(field) + ": " + message);
}

ApiRequest parse_api_request(Context& ctx, const httplib::Request& req) {
  require_media_type(req, "application/json");
  const json body = parse_body(req);
  if (!body.is_object())
    throw HttpError(400, "request body: expected a JSON object with a \"ratings\" array");
  for (const auto& [key, value] : body.items()) {
    if (!kRequestFields.contains(key)) {
      throw HttpError(400, fmt::format("request body: unknown field \"{}\" (known: ratings, years, genres, "
                                       "algorithm, n, min_ratings)",
                                       key.substr(0, 40)));
    }
  }

  std::string algorithm;
  if (body.contains("algorithm")) {
    if (!body["algorithm"].is_string()) throw HttpError(400, "algorithm: expected a string such as \"svd\"");
    algorithm = body["algorithm"].get<std::string>();
  }
  ApiRequest out{choose_model(ctx, algorithm, "algorithm"), {}};
  auto& request = out.request;
  request.ratings = ratings_field(body, ctx.options.max_ratings);
  if (body.contains("years")) years_field(body["years"], request.filters);
  if (body.contains("genres")) genres_field(body["genres"], request.filters);
  request.top_n = body.contains("n") ? static_cast<int>(json_integer(body["n"], "n", 1, kMaxTopN))
                                     : static_cast<int>(kDefaultTopN);
  if (body.contains("min_ratings")) {
    request.filters.min_ratings =
        static_cast<std::int32_t>(json_integer(body["min_ratings"], "min_ratings", 0, kMaxMinRatings));
  }
  request.explain = kExplain;
  return out;
}

RatingForm parse_rating_form(const LoadedModel& primary, const ModelRegistry::Snapshot& models,
                             const httplib::Request& req, std::size_t max_ratings) {
  RatingForm f;
  for (const auto& [key, value] : req.params) {
    if (key.size() < 2 || key[0] != 'r' || key.find_first_not_of("0123456789", 1) != std::string::npos)
      continue;
    const auto field = "form field '" + key + "'";
    const auto id = parse_movie_id(std::string_view(key).substr(1), field);
    const float rating = slider_rating(value, field, echo_value(value));
    if (rating > 0.0f) {
      f.ratings[id] = rating;
    } else {
      f.ratings.erase(id);
    }
    if (f.ratings.size() > max_ratings) {
      throw HttpError(400, fmt::format("the form carries more than {} ratings", max_ratings));
    }
  }
  f.shown = find_movies(primary, id_list_param(req, "shown", kMaxShown), "form field 'shown'");
  if (auto q = param(req, "q")) f.query = std::string(text::trim(*q));
  if (auto a = param(req, "action")) {
    if (*a != "shuffle" && *a != "search") {
      throw HttpError(400, "form field 'action': expected \"shuffle\" or \"search\", got \"" + *a + "\"");
    }
    f.action = *a;
  }
  if (auto y = param(req, "years")) {
    const auto years = parse_year_filter(*y);
    if (!years)
      throw HttpError(400, "form field 'years': expected \"old\", \"new\" or \"any\", got \"" + *y + "\"");
    f.years = *years;
  }
  if (auto a = param(req, "algorithm"); a && !a->empty()) {
    const bool known =
        std::any_of(models->begin(), models->end(), [&](const LoadedModel& m) { return m.name == *a; });
    if (!known) throw HttpError(400, "form field 'algorithm': no model named \"" + *a + "\" is loaded");
    f.algorithm = *a;
  }
  return f;
}

}  // namespace cinefactor::server
