// Internals of the HTTP server shared by src/server*.cpp: the context handlers receive, the route
// table, metrics, parameter parsing, JSON and HTML building blocks. Not a public header: it
// includes httplib.
#pragma once

#include <httplib.h>

#include <array>
#include <chrono>
#include <cstdint>
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

// --- parameters --------------------------------------------------------------------------------------
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
// A rating 0..5 in steps of 0.5; HttpError 400 naming `what` otherwise.
float parse_rating(std::string_view text, std::string_view what);

// The visitor's state as the rating form carries it (query string of GET /, body of the form POST):
// r{movie_id}=rating (0 = not seen, dropped), shown=ids of the draw on screen, q, action, years,
// algorithm. Every field is validated: HttpError 400 naming the field otherwise.
struct RatingForm {
  std::map<std::int64_t, float> ratings;  // movie id -> rating > 0
  std::vector<std::int64_t> shown;        // the draw on screen, when the form carries it
  std::string query;
  std::string action;         // "shuffle", "search" or empty
  std::string years = "any";  // "old", "new" or "any"
  std::string algorithm;      // a loaded model's name, or empty (= the first model)
};
// At most `max_ratings` ratings (ServerOptions::max_ratings).
RatingForm parse_rating_form(const LoadedModel& model, const ModelRegistry::Snapshot& models,
                             const httplib::Request& req, std::size_t max_ratings);

// --- responses ---------------------------------------------------------------------------------------
void send_json(httplib::Response& res, const nlohmann::json& body, int status = 200);
void send_html(httplib::Response& res, const std::string& html, int status = 200);
nlohmann::json error_json(int status, std::string_view message);
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
// A movie card; with a slider named r{id} when `slider` (value = rating, 0 = not seen).
std::string render_movie_card(const CatalogMovie& movie, const MovieMedia& media, std::optional<float> slider,
                              std::string_view extra_class = {});
std::string rating_label(float rating);
// The years radio group ("any", "old", "new") with `selected` checked.
std::string render_year_choices(std::string_view selected);
// "Comedy, Drama".
std::string genres_text(const Movie& movie);

}  // namespace cinefactor::server
