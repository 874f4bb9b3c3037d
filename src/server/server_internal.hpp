// Internals of the HTTP server shared by src/server*.cpp: the context handlers receive, the route
// table, metrics, parameter parsing, JSON and HTML building blocks. Not a public header: it
// includes httplib.
#pragma once

#include <httplib.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "cinefactor/recommender.hpp"
#include "cinefactor/server.hpp"
#include "server/catalog_index.hpp"
#include "server/tmdb_client.hpp"

namespace cinefactor::server {

// Request counts by (route, method, status) and latency histograms by route, in Prometheus text
// format 0.0.4.
class Metrics {
 public:
  // Upper bounds (seconds) of the latency buckets; +Inf is implied.
  static constexpr std::array<double, 12> kLatencyBuckets{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                          0.1,   0.25,   0.5,   1.0,  2.5,   5.0};

  void observe(std::string_view route, std::string_view method, int status, double seconds);
  std::string render(const ModelRegistry::Snapshot& models, const TmdbStats& tmdb) const;

 private:
  struct Histogram {
    std::array<std::int64_t, kLatencyBuckets.size()> buckets{};  // non-cumulative here
    std::int64_t count = 0;
    double sum = 0.0;
  };
  mutable std::mutex mutex_;
  std::map<std::tuple<std::string, std::string, int>, std::int64_t> requests_;
  std::map<std::string, Histogram> latency_;
};

struct Context {
  ServerOptions options;
  std::shared_ptr<ModelRegistry> models;
  std::unique_ptr<TmdbClient> tmdb;
  Metrics metrics;
  std::chrono::system_clock::time_point started = std::chrono::system_clock::now();

  std::mutex rng_mutex;
  std::mt19937_64 rng;
  // A fresh seed from the server's generator (seeded by options.seed, or randomly).
  std::uint64_t next_seed();
  // The primary model (its catalog answers movie look-ups); HttpError 503 when none is loaded.
  LoadedModel primary() const;
};

using RouteHandler = void (*)(Context&, const httplib::Request&, httplib::Response&);

struct RouteSpec {
  const char* method;        // "GET" or "POST"
  const char* pattern;       // httplib regex, matched against the decoded path
  const char* openapi_path;  // the path template in web/openapi.json
  const char* name;          // metrics label and handler name
  bool page;                 // HTML route: errors render as pages
  RouteHandler handler;
};

// The one route table (src/server/routes.cpp), in match order.
std::span<const RouteSpec> route_table();

// --- handlers --------------------------------------------------------------------------------------
void handle_home(Context&, const httplib::Request&, httplib::Response&);
void handle_poster_svg(Context&, const httplib::Request&, httplib::Response&);
void handle_static(Context&, const httplib::Request&, httplib::Response&);
void handle_healthz(Context&, const httplib::Request&, httplib::Response&);
void handle_metrics(Context&, const httplib::Request&, httplib::Response&);
void handle_openapi(Context&, const httplib::Request&, httplib::Response&);
void handle_movies_popular(Context&, const httplib::Request&, httplib::Response&);
void handle_movies_search(Context&, const httplib::Request&, httplib::Response&);
void handle_movie(Context&, const httplib::Request&, httplib::Response&);
void handle_movie_similar(Context&, const httplib::Request&, httplib::Response&);
void handle_api_recommendations(Context&, const httplib::Request&, httplib::Response&);
void handle_results_page(Context&, const httplib::Request&, httplib::Response&);

// --- limits shared by the recommendation requests ------------------------------------------------------
inline constexpr std::int64_t kMaxTopN = 100;  // results one request may ask for
inline constexpr std::int64_t kMaxMinRatings = std::numeric_limits<std::int32_t>::max();
inline constexpr int kExplain = 3;  // rated movies named per recommendation

// --- parameters --------------------------------------------------------------------------------------
// `s` quoted for an error message, cut after 40 bytes ("\"abc\"", "\"aaaa...\"").
std::string echo_value(std::string_view s);
// The first value of a query (or form) parameter.
std::optional<std::string> param(const httplib::Request& req, const std::string& name);
// An integer parameter in [min, max], `fallback` when absent; HttpError 400 naming the parameter and
// the expected range otherwise.
std::int64_t int_param(const httplib::Request& req, const std::string& name, std::int64_t fallback,
                       std::int64_t min, std::int64_t max);
std::optional<std::uint64_t> uint64_param(const httplib::Request& req, const std::string& name);
// A comma-separated list of movie ids ("1,2,3"; empty allowed).
std::vector<std::int64_t> id_list_param(const httplib::Request& req, const std::string& name,
                                        std::size_t max_count);
// A movie id from a path segment; HttpError 400 when it is not a positive integer.
std::int64_t parse_movie_id(std::string_view text, std::string_view what);
// The movie a path names, in `model`'s catalog; HttpError 404 "no movie with id ID" otherwise.
const CatalogMovie& movie_or_404(const LoadedModel& model, std::int64_t id);
// The catalog entries of `ids` in `model`, in order. Unknown ids are a 400 with the one unknown-id
// message (recommend/messages.hpp), all of them named, after "FIELD: " when `field` is not empty.
std::vector<const CatalogMovie*> find_movies(const LoadedModel& model, std::span<const std::int64_t> ids,
                                             std::string_view field);

// --- requests (src/server/requests.cpp) ------------------------------------------------------------
// The visitor's state as the rating form carries it (query string of GET /, body of the form POST):
// r{movie_id}=rating (0 = not seen, dropped), shown=ids of the draw on screen, q, action, years,
// algorithm. Every field is checked where it is parsed, 400 naming the field otherwise; the rated
// movie ids are checked where they are used (the home page's cards, the recommender).
struct RatingForm {
  std::map<std::int64_t, float> ratings;  // movie id -> rating > 0, on the half-star grid
  std::vector<const CatalogMovie*>
      shown;  // the draw on screen (the primary model's), when the form carries it
  std::string query;
  std::string action;                  // "shuffle", "search" or empty
  YearFilter years = YearFilter::any;  // any, old or new (the form's radio buttons)
  std::string algorithm;               // a loaded model's name, or empty (= the first model)
};
// At most `max_ratings` ratings (ServerOptions::max_ratings); `primary` knows the shown movies.
RatingForm parse_rating_form(const LoadedModel& primary, const ModelRegistry::Snapshot& models,
                             const httplib::Request& req, std::size_t max_ratings);

// A JSON recommendation request (POST /api/v1/recommendations), checked field by field (400 naming the
// field); the movie ids are left to the recommender.
struct ApiRequest {
  LoadedModel model;
  RecommendRequest request;
};
ApiRequest parse_api_request(Context& ctx, const httplib::Request& req);
// The media type of the request without parameters must be `expected`; 415 otherwise.
void require_media_type(const httplib::Request& req, std::string_view expected);
// The model a request names (empty: the first loaded); 400 naming `field` and the loaded ones otherwise.
LoadedModel choose_model(Context& ctx, const std::string& name, std::string_view field);
// Runs `parse`; an InvalidArgument it throws becomes a 400 "FIELD: message".
template <typename Parse>
auto naming_field(std::string_view field, Parse&& parse) {
  try {
    return parse();
  } catch (const InvalidArgument& e) {
    throw HttpError(400, std::string(field) + ": " + e.what());
  }
}

// --- responses ---------------------------------------------------------------------------------------
void send_json(httplib::Response& res, const nlohmann::json& body, int status = 200);
void send_html(httplib::Response& res, const std::string& html, int status = 200);
nlohmann::json error_json(int status, std::string_view message);
// `v` rounded to `decimals` decimal places, for JSON numbers people read.
double round_to(double v, int decimals);
// Fills `res` with an error, as JSON or as an HTML page.
void send_error(httplib::Response& res, int status, std::string_view message, bool page);

// The API's movie object: id, title, year, genres, imdb_id, tmdb_id, rating_count, rating_mean,
// poster, links {imdb, tmdb, trailer}.
nlohmann::json movie_json(const CatalogMovie& movie, const MovieMedia& media);
// Posters and links of several movies, under one TMDB deadline.
std::vector<MovieMedia> media_for(Context& ctx, std::span<const CatalogMovie* const> movies,
                                  std::optional<std::chrono::milliseconds> wait = std::nullopt);

// --- HTML --------------------------------------------------------------------------------------------
// A full page around `body` (already-escaped HTML): header, stylesheet, script.
std::string render_page(std::string_view title, std::string_view body);
// The years radio group (any, old, new) with `selected` checked.
std::string render_year_choices(YearFilter selected);
// The algorithm <select> (only with two or more models loaded), labels upper-cased, `selected` chosen.
std::string render_algorithm_choice(const ModelRegistry::Snapshot& models, std::string_view selected);
// "released before 2000", "released in 2000 or later", "of any year".
std::string_view years_phrase(YearFilter years);

// --- movie cards (src/server/cards.cpp) -------------------------------------------------------------
// The ranked-result part of a card on the results page.
struct CardResult {
  std::size_t rank = 0;              // "3." before the title
  std::string score;                 // "4.3 ★" (a predicted rating) or "0.512" (a match score)
  std::string score_label;           // "predicted for you" or "match score"
  std::vector<std::string> because;  // titles of the rated movies that explain it
};
struct CardOptions {
  std::optional<float> slider;       // a rating slider named r{id} at this value (0 = not seen)
  std::optional<CardResult> result;  // a ranked result (class "card result")
  bool compact = false;              // class "compact" (the rating page's "your other ratings")
};
// The one movie card of the server's pages: poster, title, year and genres, then the slider or the
// result's score and "because you liked", then the trailer / IMDb / TMDB links. web/app.js's
// movieCard() builds the same markup with DOM calls.
std::string render_movie_card(const CatalogMovie& movie, const MovieMedia& media, const CardOptions& options);
// The result part of a card for the recommendation at `rank` (1-based) of `model`.
CardResult card_result(const Model& model, const Recommendation& recommendation, std::size_t rank);

}  // namespace cinefactor::server
