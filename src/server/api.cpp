// The JSON API (/api/v1), /healthz, /metrics, the OpenAPI document and the embedded static files,
// with the parameter parsing and response helpers the page handlers share.
#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <unordered_set>

#include "core/text.hpp"
#include "server/assets.hpp"
#include "server/server_internal.hpp"

namespace cinefactor::server {
namespace {

using nlohmann::json;

constexpr std::int64_t kMaxPageSize = 100;     // movies per popular draw
constexpr std::int64_t kMaxPool = 100000;      // most-rated movies to draw from
constexpr std::int64_t kMaxSearchLimit = 100;  // search results
constexpr std::int64_t kDefaultSearchLimit = 20;
constexpr std::size_t kMaxQueryBytes = 200;
constexpr std::size_t kMaxExcluded = 1000;

template <typename T>
std::optional<T> parse_integer(std::string_view text) {
  T value{};
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty()) return std::nullopt;
  return value;
}

}  // namespace

// --- parameters --------------------------------------------------------------------------------------

std::string echo_value(std::string_view s) {
  constexpr std::size_t kShown = 40;  // long junk is cut in messages
  std::string v(s.substr(0, kShown));
  if (s.size() > kShown) v += "...";
  return "\"" + v + "\"";
}

std::optional<std::string> param(const httplib::Request& req, const std::string& name) {
  if (!req.has_param(name)) return std::nullopt;
  return req.get_param_value(name);
}

std::int64_t int_param(const httplib::Request& req, const std::string& name, std::int64_t fallback,
                       std::int64_t min, std::int64_t max) {
  const auto raw = param(req, name);
  if (!raw) return fallback;
  const auto v = parse_integer<std::int64_t>(text::trim(*raw));
  if (!v || *v < min || *v > max) {
    throw HttpError(400, fmt::format("query parameter '{}': expected an integer from {} to {}, got {}", name,
                                     min, max, echo_value(*raw)));
  }
  return *v;
}

std::optional<std::uint64_t> uint64_param(const httplib::Request& req, const std::string& name) {
  const auto raw = param(req, name);
  if (!raw) return std::nullopt;
  const auto v = parse_integer<std::uint64_t>(text::trim(*raw));
  if (!v) {
    throw HttpError(
        400, fmt::format("query parameter '{}': expected a non-negative integer below 2^64, got {}", name,
                         echo_value(*raw)));
  }
  return v;
}

std::int64_t parse_movie_id(std::string_view text, std::string_view what) {
  const auto v = parse_integer<std::int64_t>(text);
  if (!v || *v <= 0)
    throw HttpError(400,
                    fmt::format("{}: expected a positive integer movie id, got {}", what, echo_value(text)));
  return *v;
}

const CatalogMovie& movie_or_404(const LoadedModel& model, std::int64_t id) {
  const auto* movie = model.catalog->find(id);
  if (!movie) throw HttpError(404, fmt::format("no movie with id {}", id));
  return *movie;
}

std::vector<std::int64_t> id_list_param(const httplib::Request& req, const std::string& name,
                                        std::size_t max_count) {
  std::vector<std::int64_t> ids;
  const auto raw = param(req, name);
  if (!raw) return ids;
  std::string_view rest = text::trim(*raw);
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const auto item = text::trim(rest.substr(0, comma));
    ids.push_back(parse_movie_id(item, "query parameter '" + name + "' (comma-separated movie ids)"));
    if (ids.size() > max_count) {
      throw HttpError(400,
                      fmt::format("query parameter '{}': expected at most {} movie ids", name, max_count));
    }
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return ids;
}

// --- responses ---------------------------------------------------------------------------------------

void send_json(httplib::Response& res, const json& body, int status) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
  res.set_header("Cache-Control", "no-store");
}

void send_html(httplib::Response& res, const std::string& html, int status) {
  res.status = status;
  res.set_content(html, "text/html; charset=utf-8");
  res.set_header("Cache-Control", "no-store");
}

double round_to(double v, int decimals) {
  const double scale = std::pow(10.0, decimals);
  return std::round(v * scale) / scale;
}

json error_json(int status, std::string_view message) {
  return {{"error", {{"status", status}, {"message", message}}}};
}

void send_error(httplib::Response& res, int status, std::string_view message, bool page) {
  if (page) {
    const auto title = status == 404 ? std::string("Not found") : "Error " + std::to_string(status);
    send_html(res,
              render_page(title, "<main class=\"error\"><h1>" + text::html_escape(title) + "</h1><p>" +
                                     text::html_escape(message) +
                                     "</p><p><a href=\"/\">Back to the movies</a></p></main>"),
              status);
  } else {
    send_json(res, error_json(status, message), status);
  }
}

json movie_json(const CatalogMovie& cm, const MovieMedia& media) {
  const auto& m = cm.movie;
  auto opt = [](const std::optional<std::int64_t>& v) { return v ? json(*v) : json(nullptr); };
  auto link = [](const std::string& s) { return s.empty() ? json(nullptr) : json(s); };
  return {
      {"id", m.id},
      {"title", m.title},
      {"year", m.year > 0 ? json(m.year) : json(nullptr)},
      {"genres", m.genres},
      {"imdb_id", opt(m.imdb_id)},
      {"tmdb_id", opt(m.tmdb_id)},
      {"rating_count", cm.rating_count},
      {"rating_mean", round_to(cm.rating_mean, 2)},
      {"poster", media.poster_url},
      {"links",
       {{"imdb", link(media.imdb_url)},
        {"tmdb", link(media.tmdb_url)},
        {"trailer", link(media.trailer_url)}}},
  };
}

std::vector<MovieMedia> media_for(Context& ctx, std::span<const CatalogMovie* const> movies,
                                  std::optional<std::chrono::milliseconds> wait) {
  std::vector<const Movie*> plain;
  plain.reserve(movies.size());
  for (const auto* m : movies) plain.push_back(&m->movie);
  return ctx.tmdb->media(plain, wait);
}

namespace {

json movies_json(Context& ctx, const std::vector<const CatalogMovie*>& movies,
                 std::optional<std::chrono::milliseconds> wait = std::nullopt) {
  const auto media = media_for(ctx, movies, wait);
  json out = json::array();
  for (std::size_t i = 0; i < movies.size(); ++i) out.push_back(movie_json(*movies[i], media[i]));
  return out;
}

}  // namespace

// --- handlers ----------------------------------------------------------------------------------------

void handle_movies_popular(Context& ctx, const httplib::Request& req, httplib::Response& res) {
  const auto size =
      int_param(req, "size", static_cast<std::int64_t>(ctx.options.page_movies), 1, kMaxPageSize);
  const auto pool = int_param(req, "pool", static_cast<std::int64_t>(ctx.options.page_pool), 1, kMaxPool);
  if (size > pool) {
    throw HttpError(
        400, fmt::format("query parameter 'size': expected at most pool ({}) movies, got {}", pool, size));
  }
  const auto seed = uint64_param(req, "seed");
  const auto excluded = id_list_param(req, "exclude", kMaxExcluded);
  const std::unordered_set<std::int64_t> exclude(excluded.begin(), excluded.end());
  const auto model = ctx.primary();
  std::mt19937_64 rng(seed ? *seed : ctx.next_seed());
  const auto movies = model.catalog->sample_popular(static_cast<std::size_t>(size),
                                                    static_cast<std::size_t>(pool), rng, exclude);
  json body{{"size", movies.size()}, {"pool", pool}, {"movies", movies_json(ctx, movies)}};
  if (seed) body["seed"] = *seed;
  send_json(res, body);
}

void handle_movies_search(Context& ctx, const httplib::Request& req, httplib::Response& res) {
  const auto raw = param(req, "q");
  const auto query = raw ? std::string(text::trim(*raw)) : std::string();
  if (query.empty()) throw HttpError(400, "query parameter 'q': expected a non-empty part of a title");
  if (query.size() > kMaxQueryBytes) {
    throw HttpError(400, fmt::format("query parameter 'q': expected at most {} bytes, got {}", kMaxQueryBytes,
                                     query.size()));
  }
  const auto limit = int_param(req, "limit", kDefaultSearchLimit, 1, kMaxSearchLimit);
  const auto model = ctx.primary();
  const auto movies = model.catalog->search(query, static_cast<std::size_t>(limit));
  // Search results show what the cache knows now; the look-ups started here fill it for later.
  send_json(res, {{"query", query}, {"movies", movies_json(ctx, movies, std::chrono::milliseconds(0))}});
}

void handle_movie(Context& ctx, const httplib::Request& req, httplib::Response& res) {
  const auto id = parse_movie_id(req.matches[1].str(), "path segment {id}");
  const auto& movie = movie_or_404(ctx.primary(), id);
  const CatalogMovie* one[] = {&movie};
  send_json(res, movie_json(movie, media_for(ctx, one).front()));
}

void handle_healthz(Context& ctx, const httplib::Request&, httplib::Response& res) {
  const auto snap = ctx.models->snapshot();
  json models = json::array();
  for (const auto& m : *snap) {
    models.push_back({{"name", m.name},
                      {"algorithm", algorithm_name(m.model->algorithm)},
                      {"rank", m.model->rank()},
                      {"users", m.model->n_users()},
                      {"movies", m.model->n_movies()},
                      {"fingerprint", fmt::format("{:016x}", m.model->data_fingerprint)},
                      {"source", m.source}});
  }
  const auto uptime = std::chrono::duration<double>(std::chrono::system_clock::now() - ctx.started).count();
  send_json(res,
            {{"status", snap->empty() ? "unavailable" : "ok"},
             {"models", models},
             {"tmdb", {{"enabled", ctx.tmdb->enabled()}}},
             {"uptime_seconds", round_to(uptime, 3)}},
            snap->empty() ? 503 : 200);
}

void handle_metrics(Context& ctx, const httplib::Request&, httplib::Response& res) {
  res.set_content(ctx.metrics.render(ctx.models->snapshot(), ctx.tmdb->stats()),
                  "text/plain; version=0.0.4; charset=utf-8");
  res.set_header("Cache-Control", "no-store");
}

void handle_openapi(Context&, const httplib::Request&, httplib::Response& res) {
  const auto doc = find_asset("openapi.json");
  if (!doc) throw HttpError(500, "the OpenAPI document is not embedded");
  res.set_content(doc->bytes.data(), doc->bytes.size(), std::string(doc->content_type));
}

void handle_static(Context&, const httplib::Request& req, httplib::Response& res) {
  // Only exact embedded names: the path is never joined to a directory, so "../" cannot escape.
  const auto asset = find_asset(req.matches[1].str());
  if (!asset) throw HttpError(404, "no such file: " + req.path);
  res.set_content(asset->bytes.data(), asset->bytes.size(), std::string(asset->content_type));
  res.set_header("Cache-Control", "public, max-age=300");
}

}  // namespace cinefactor::server
