// Recommendations over HTTP: the JSON API (POST /api/v1/recommendations), similar movies
// (GET /api/v1/movies/{id}/similar) and the server-rendered results page the rating form posts to
// (POST /recommendations). Every input is validated here, before the recommender sees it, so a
// mistake comes back as a 4xx naming the field; the recommender's own InvalidArgument checks stay as
// a second line (mapped to 400 by the server).
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <set>

#include "core/text.hpp"
#include "server/server_internal.hpp"

namespace cinefactor::server {
namespace {

using nlohmann::json;
using text::html_escape;

constexpr std::int64_t kDefaultTopN = 5;
constexpr std::int64_t kMaxTopN = 100;
constexpr std::int64_t kDefaultSimilar = 10;
constexpr std::int64_t kMaxMinRatings = std::numeric_limits<std::int32_t>::max();
constexpr std::int64_t kMaxYear = 9999;
constexpr std::size_t kMaxGenres = 50;        // names per include / exclude list
constexpr std::size_t kMaxGenreBytes = 100;   // one genre name
constexpr std::size_t kUnknownIdsNamed = 20;  // unknown ids listed in one message
constexpr int kExplain = 3;                   // rated movies named per recommendation
constexpr std::size_t kResultsOnPage = 5;
constexpr double kRatingStep = 0.5;
constexpr double kMinVisitorRating = 0.5;
constexpr double kMaxVisitorRating = 5.0;

const std::set<std::string> kRequestFields{"ratings", "years", "genres", "algorithm", "n", "min_ratings"};

// The media type of the request without parameters, lower-cased ("application/json").
std::string media_type(const httplib::Request& req) {
  auto value = req.get_header_value("Content-Type");
  value = value.substr(0, value.find(';'));
  std::string out = text::ascii_lower(text::trim(value));
  return out;
}

void require_media_type(const httplib::Request& req, std::string_view expected) {
  const auto got = media_type(req);
  if (got != expected) {
    throw HttpError(415, fmt::format("expected a request body of type {}, got {}", expected,
                                     got.empty() ? std::string("none") : "\"" + got.substr(0, 60) + "\""));
  }
}

// The model a request names (empty: the first loaded); 400 listing the loaded ones otherwise.
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

// "old", "new", "any", or "FROM-TO" with either end optional ("1980-1999", "-1979", "2005-").
void parse_years_text(std::string_view text, Filters& filters, std::string_view what) {
  if (const auto f = parse_year_filter(text)) {
    filters.years = *f;
    return;
  }
  auto fail = [&] {
    return HttpError(
        400, fmt::format("{}: expected old, new, any or a range FROM-TO like 1980-1999, got \"{}\"", what,
                         std::string(text.substr(0, 40))));
  };
  const auto dash = text.find('-');
  if (dash == std::string_view::npos || text.size() == 1) throw fail();
  auto year = [&](std::string_view s, std::int32_t fallback) {
    if (s.empty()) return fallback;
    std::int32_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || v < 0 || v > kMaxYear) throw fail();
    return v;
  };
  filters.years = YearFilter::range;
  filters.year_from = year(text.substr(0, dash), 0);
  filters.year_to = year(text.substr(dash + 1), static_cast<std::int32_t>(kMaxYear));
  if (filters.year_from > filters.year_to) {
    throw HttpError(400, fmt::format("{}: the range {}-{} is empty (from > to)", what, filters.year_from,
                                     filters.year_to));
  }
}

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

// Every rated movie must be in the model: all unknown ids are named in one message (the first 20).
void check_known(const LoadedModel& model, const std::vector<VisitorRating>& ratings,
                 std::string_view field) {
  std::vector<std::int64_t> unknown;
  std::set<std::int64_t> seen;
  for (const auto& r : ratings) {
    if (!model.catalog->find(r.movie_id)) unknown.push_back(r.movie_id);
    if (!seen.insert(r.movie_id).second) {
      throw HttpError(400, fmt::format("{}: movie {} is rated more than once", field, r.movie_id));
    }
  }
  if (unknown.empty()) return;
  std::string ids;
  for (std::size_t i = 0; i < unknown.size() && i < kUnknownIdsNamed; ++i) {
    ids += (i ? ", " : "") + std::to_string(unknown[i]);
  }
  if (unknown.size() > kUnknownIdsNamed)
    ids += fmt::format(" and {} more", unknown.size() - kUnknownIdsNamed);
  throw HttpError(400, fmt::format("{}: unknown movie id{} (not in the {} model): {}", field,
                                   unknown.size() > 1 ? "s" : "", model.name, ids));
}

struct ApiRequest {
  LoadedModel model;
  RecommendRequest request;
};

ApiRequest parse_api_request(Context& ctx, const httplib::Request& req) {
  require_media_type(req, "application/json");
  json body;
  try {
    body = json::parse(req.body);
  } catch (const json::parse_error& e) {
    // nlohmann's message names the byte position; drop its "[json.exception...]" prefix.
    std::string what = e.what();
    if (const auto p = what.find("] "); p != std::string::npos) what = what.substr(p + 2);
    throw HttpError(400, "request body: invalid JSON: " + what);
  }
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

  if (!body.contains("ratings") || !body["ratings"].is_array()) {
    throw HttpError(400, "ratings: expected an array of {\"movie_id\": ..., \"rating\": ...} objects");
  }
  const auto& ratings = body["ratings"];
  if (ratings.empty()) throw HttpError(400, "ratings: rate at least one movie");
  if (ratings.size() > ctx.options.max_ratings) {
    throw HttpError(400, fmt::format("ratings: expected at most {} ratings, got {}", ctx.options.max_ratings,
                                     ratings.size()));
  }
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
    const bool on_grid = std::isfinite(value) && value >= kMinVisitorRating && value <= kMaxVisitorRating &&
                         std::abs(value / kRatingStep - std::round(value / kRatingStep)) < 1e-9;
    if (!on_grid) {
      throw HttpError(400, fmt::format("{}.rating: expected a rating from 0.5 to 5 in steps of 0.5, got {}",
                                       where, v.dump().substr(0, 40)));
    }
    request.ratings.push_back({id, static_cast<float>(value)});
  }
  check_known(out.model, request.ratings, "ratings");

  if (body.contains("years")) {
    const auto& y = body["years"];
    if (y.is_string()) {
      const auto name = y.get<std::string>();
      const auto f = parse_year_filter(name);
      if (!f) {
        throw HttpError(
            400, fmt::format("years: expected \"old\", \"new\", \"any\" or {{\"from\": ..., \"to\": ...}}, "
                             "got \"{}\"",
                             name.substr(0, 40)));
      }
      request.filters.years = *f;
    } else if (y.is_object()) {
      for (const auto& [key, value] : y.items()) {
        if (key != "from" && key != "to") {
          throw HttpError(
              400, fmt::format("years: unknown field \"{}\" (expected from and to)", key.substr(0, 40)));
        }
      }
      if (y.empty()) throw HttpError(400, "years: a range needs \"from\", \"to\" or both");
      request.filters.years = YearFilter::range;
      request.filters.year_from =
          y.contains("from") ? static_cast<std::int32_t>(json_integer(y["from"], "years.from", 0, kMaxYear))
                             : 0;
      request.filters.year_to =
          y.contains("to") ? static_cast<std::int32_t>(json_integer(y["to"], "years.to", 0, kMaxYear))
                           : static_cast<std::int32_t>(kMaxYear);
      if (request.filters.year_from > request.filters.year_to) {
        throw HttpError(400, fmt::format("years: the range {}-{} is empty (from > to)",
                                         request.filters.year_from, request.filters.year_to));
      }
    } else {
      throw HttpError(400, "years: expected \"old\", \"new\", \"any\" or {\"from\": ..., \"to\": ...}");
    }
  }
  if (body.contains("genres")) {
    const auto& g = body["genres"];
    if (!g.is_object())
      throw HttpError(400, "genres: expected an object {\"include\": [...], \"exclude\": [...]}");
    for (const auto& [key, value] : g.items()) {
      if (key == "include") {
        request.filters.genres_any = genre_list(value, "genres.include");
      } else if (key == "exclude") {
        request.filters.genres_none = genre_list(value, "genres.exclude");
      } else {
        throw HttpError(400, fmt::format("genres: unknown field \"{}\" (expected include and exclude)",
                                         key.substr(0, 40)));
      }
    }
  }
  request.top_n = body.contains("n") ? static_cast<int>(json_integer(body["n"], "n", 1, kMaxTopN))
                                     : static_cast<int>(kDefaultTopN);
  if (body.contains("min_ratings")) {
    request.filters.min_ratings =
        static_cast<std::int32_t>(json_integer(body["min_ratings"], "min_ratings", 0, kMaxMinRatings));
  }
  request.explain = kExplain;
  return out;
}

std::string title_of(const Model& model, std::int32_t index) {
  return model.catalog[static_cast<std::size_t>(index)].movie.title;
}

const CatalogMovie& catalog_movie(const LoadedModel& m, std::int32_t index) {
  return m.model->catalog[static_cast<std::size_t>(index)];
}

double round3(double v) {
  constexpr double kScale = 1000.0;
  return std::round(v * kScale) / kScale;
}

std::string score_text(const Model& model, float score) {
  return model.predicts_ratings() ? fmt::format("{:.1f} \u2605", score) : fmt::format("{:.3f}", score);
}

// --- the results page ----------------------------------------------------------------------------------

std::string hidden(std::string_view name, std::string_view value) {
  return "<input type=\"hidden\" name=\"" + html_escape(name) + "\" value=\"" + html_escape(value) + "\">\n";
}

// The visitor's ratings (and the draw on screen) as hidden fields, so every form on the results page
// carries them on.
std::string state_fields(const RatingForm& form) {
  std::string h;
  for (const auto& [id, rating] : form.ratings)
    h += hidden("r" + std::to_string(id), fmt::format("{:g}", rating));
  if (!form.shown.empty()) {
    std::string ids;
    for (auto id : form.shown) ids += (ids.empty() ? "" : ",") + std::to_string(id);
    h += hidden("shown", ids);
  }
  return h;
}

std::string link_html(const std::string& href, std::string_view text) {
  return "<a href=\"" + html_escape(href) + "\" rel=\"noopener noreferrer\" target=\"_blank\">" +
         html_escape(text) + "</a>";
}

std::string result_card(const LoadedModel& lm, const Recommendation& r, const MovieMedia& media,
                        std::size_t rank) {
  const auto& cm = catalog_movie(lm, r.movie_index);
  const auto& m = cm.movie;
  std::string h = fmt::format("<article class=\"card result\" data-movie-id=\"{}\">\n", m.id);
  h += "<img class=\"poster\" src=\"" + html_escape(media.poster_url) + "\" alt=\"Poster of " +
       html_escape(m.title) + "\" width=\"342\" height=\"513\" loading=\"lazy\">\n";
  h += "<div class=\"card-body\">\n";
  h += fmt::format("<h3 class=\"title\"><span class=\"rank\">{}.</span> {}</h3>\n", rank,
                   html_escape(m.title));
  h += "<p class=\"meta\">";
  if (m.year > 0) h += "<span class=\"year\">" + std::to_string(m.year) + "</span>";
  const auto genres = genres_text(m);
  if (!genres.empty()) h += "<span class=\"genres\">" + html_escape(genres) + "</span>";
  h += "</p>\n";
  h += "<p class=\"score\"><span class=\"score-value\">" + html_escape(score_text(*lm.model, r.score)) +
       "</span> <span class=\"score-label\">" +
       (lm.model->predicts_ratings() ? "predicted for you" : "match score") + "</span></p>\n";
  if (!r.because.empty()) {
    h += "<p class=\"because\">Because you liked ";
    for (std::size_t i = 0; i < r.because.size(); ++i) {
      if (i) h += i + 1 == r.because.size() ? " and " : ", ";
      h += "<cite>" + html_escape(title_of(*lm.model, r.because[i].movie_index)) + "</cite>";
    }
    h += "</p>\n";
  }
  h += "<p class=\"links\">";
  if (!media.trailer_url.empty()) h += link_html(media.trailer_url, "Trailer");
  if (!media.imdb_url.empty()) h += link_html(media.imdb_url, "IMDb");
  if (!media.tmdb_url.empty()) h += link_html(media.tmdb_url, "TMDB");
  h += "</p>\n</div>\n</article>\n";
  return h;
}

std::string years_phrase(std::string_view years) {
  if (years == "old") return "released before 2000";
  if (years == "new") return "released in 2000 or later";
  return "of any year";
}

// "Change my ratings" (back to the rating page with everything kept) and the preferences form that
// asks again with other years or another algorithm.
std::string result_forms(const RatingForm& form, const ModelRegistry::Snapshot& models,
                         const LoadedModel& chosen) {
  std::string h;
  h += "<div class=\"result-actions\">\n";
  h += "<form method=\"get\" action=\"/\" class=\"back\">\n" + state_fields(form) +
       hidden("years", form.years);
  if (!form.algorithm.empty()) h += hidden("algorithm", form.algorithm);
  h += "<button type=\"submit\" id=\"change-ratings\">\u2190 Change my ratings</button>\n</form>\n";
  if (!form.ratings.empty()) {
    h += "<form method=\"post\" action=\"/recommendations\" class=\"refine\">\n" + state_fields(form);
    h += render_year_choices(form.years);
    if (models->size() > 1) {
      h += "<div class=\"algorithm\"><label for=\"algorithm\">Algorithm</label> <select id=\"algorithm\" "
           "name=\"algorithm\">\n";
      for (const auto& m : *models) {
        h += "<option value=\"" + html_escape(m.name) + "\"" + (m.name == chosen.name ? " selected" : "") +
             ">" + html_escape(m.name) + "</option>\n";
      }
      h += "</select></div>\n";
    }
    h += "<button type=\"submit\" class=\"primary\" id=\"recommend-again\">Recommend "
         "again</button>\n</form>\n";
  }
  h += "</div>\n";
  return h;
}

}  // namespace

// --- handlers ------------------------------------------------------------------------------------------

void handle_api_recommendations(Context& ctx, const httplib::Request& req, httplib::Response& res) {
  const auto [model, request] = parse_api_request(ctx, req);
  const auto recs = model.recommender->recommend(request);

  std::vector<const CatalogMovie*> movies;
  for (const auto& r : recs) movies.push_back(&catalog_movie(model, r.movie_index));
  const auto media = media_for(ctx, movies);
  const bool predicts = model.model->predicts_ratings();
  json list = json::array();
  for (std::size_t i = 0; i < recs.size(); ++i) {
    const auto& r = recs[i];
    json because = json::array();
    for (const auto& c : r.because) {
      because.push_back({{"movie_id", c.movie_id},
                         {"title", title_of(*model.model, c.movie_index)},
                         {"contribution", round3(c.contribution)},
                         {"share", round3(c.share)}});
    }
    json item{{"movie", movie_json(*movies[i], media[i])}, {"score", round3(r.score)}, {"because", because}};
    if (predicts) item["predicted_rating"] = round3(r.score);
    list.push_back(std::move(item));
  }
  send_json(res, {{"algorithm", model.name}, {"recommendations", std::move(list)}});
}

void handle_movie_similar(Context& ctx, const httplib::Request& req, httplib::Response& res) {
  const auto id = parse_movie_id(req.matches[1].str(), "path segment {id}");
  const auto model = choose_model(ctx, param(req, "algorithm").value_or(""), "query parameter 'algorithm'");
  const auto n = int_param(req, "n", kDefaultSimilar, 1, kMaxTopN);
  Filters filters;
  filters.min_ratings =
      static_cast<std::int32_t>(int_param(req, "min_ratings", kDefaultMinRatings, 0, kMaxMinRatings));
  if (const auto years = param(req, "years")) parse_years_text(*years, filters, "query parameter 'years'");
  const auto* movie = model.catalog->find(id);
  if (!movie) throw HttpError(404, fmt::format("no movie with id {}", id));

  const auto similar = model.recommender->similar(id, filters, static_cast<int>(n));
  std::vector<const CatalogMovie*> movies{movie};
  for (const auto& s : similar) movies.push_back(&catalog_movie(model, s.movie_index));
  const auto media = media_for(ctx, movies);
  json list = json::array();
  for (std::size_t i = 0; i < similar.size(); ++i) {
    list.push_back(
        {{"movie", movie_json(*movies[i + 1], media[i + 1])}, {"similarity", round3(similar[i].similarity)}});
  }
  send_json(
      res,
      {{"movie", movie_json(*movie, media[0])}, {"algorithm", model.name}, {"similar", std::move(list)}});
}

void handle_results_page(Context& ctx, const httplib::Request& req, httplib::Response& res) {
  require_media_type(req, "application/x-www-form-urlencoded");
  const auto primary = ctx.primary();
  const auto models = ctx.models->snapshot();
  const auto form = parse_rating_form(primary, models, req, ctx.options.max_ratings);
  const auto model = choose_model(ctx, form.algorithm, "form field 'algorithm'");

  std::string b = "<main id=\"main\" class=\"results-page\">\n";
  if (form.ratings.empty()) {
    b += "<section class=\"results notice\">\n<h1>Rate at least one movie</h1>\n"
         "<p>Move the slider of a movie you have seen (half stars allowed), then ask for recommendations "
         "again.</p>\n</section>\n";
    b += result_forms(form, models, model);
    send_html(res, render_page("Rate at least one movie", b + "</main>"));
    return;
  }

  RecommendRequest request;
  for (const auto& [id, rating] : form.ratings) request.ratings.push_back({id, rating});
  check_known(model, request.ratings, "form");
  if (const auto f = parse_year_filter(form.years)) request.filters.years = *f;
  request.top_n = static_cast<int>(kResultsOnPage);
  request.explain = kExplain;
  const auto recs = model.recommender->recommend(request);

  const auto count = form.ratings.size();
  const auto from_ratings =
      fmt::format("From your {} rating{}, {} model", count, count == 1 ? "" : "s", model.name);
  if (recs.empty()) {
    b += "<section class=\"results notice\">\n<h1>No movie matches these filters</h1>\n";
    b += "<p>Every movie " + html_escape(years_phrase(form.years)) +
         " with enough ratings is one you have rated already. Choose other years below, or rate fewer "
         "movies.</p>\n</section>\n";
    b += result_forms(form, models, model);
    send_html(res, render_page("No recommendations", b + "</main>"));
    return;
  }

  std::vector<const CatalogMovie*> movies;
  for (const auto& r : recs) movies.push_back(&catalog_movie(model, r.movie_index));
  const auto media = media_for(ctx, movies);
  b += "<section class=\"results\" id=\"results\" aria-labelledby=\"results-h\">\n";
  b += fmt::format("<h1 id=\"results-h\">{} movie{} you might like</h1>\n",
                   recs.size() == kResultsOnPage ? "Five" : std::to_string(recs.size()),
                   recs.size() == 1 ? "" : "s");
  b += "<p class=\"summary\">" + html_escape(from_ratings) + ", " + html_escape(years_phrase(form.years)) +
       ". None of them is one you rated.</p>\n";
  b += "<div class=\"grid results-grid\" id=\"results-list\">\n";
  for (std::size_t i = 0; i < recs.size(); ++i) b += result_card(model, recs[i], media[i], i + 1);
  b += "</div>\n</section>\n";
  b += result_forms(form, models, model);
  send_html(res, render_page("Your recommendations", b + "</main>"));
}

}  // namespace cinefactor::server
