#include "server/tmdb_client.hpp"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <variant>

#include "cinefactor/error.hpp"
#include "core/atomic_file.hpp"
#include "core/text.hpp"

namespace cinefactor {
namespace {

using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

constexpr int kPosterWidth = 342;  // TMDB's w342 size, so placeholders and real posters line up
constexpr int kPosterHeight = 513;
constexpr std::size_t kTitleLineChars = 16;  // characters per line of the placeholder's title
constexpr std::size_t kTitleMaxLines = 6;

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

std::filesystem::path default_cache_dir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) {
    return std::filesystem::path(xdg) / "cinefactor" / "tmdb";
  }
  if (const char* home = std::getenv("HOME"); home && *home) {
    return std::filesystem::path(home) / ".cache" / "cinefactor" / "tmdb";
  }
  return std::filesystem::temp_directory_path() / "cinefactor-tmdb-cache";
}

std::int64_t unix_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One TMDB answer about one movie, as cached.
struct Lookup {
  enum class Status { ok, not_found, error };
  Status status = Status::error;
  std::int64_t fetched_at_ms = 0;  // unix time in milliseconds
  std::int64_t tmdb_id = 0;        // as TMDB reported it (0 = unknown)
  std::string poster_path;         // "/abc.jpg", empty when TMDB has none
  std::string trailer_key;         // YouTube video key, empty when none
  std::string error;               // why, for status error
};

const char* status_name(Lookup::Status s) {
  switch (s) {
    case Lookup::Status::ok:
      return "ok";
    case Lookup::Status::not_found:
      return "not_found";
    case Lookup::Status::error:
      return "error";
  }
  return "error";
}

json to_json(const Lookup& l) {
  return {{"status", status_name(l.status)}, {"fetched_at_ms", l.fetched_at_ms}, {"tmdb_id", l.tmdb_id},
          {"poster_path", l.poster_path},    {"trailer_key", l.trailer_key},     {"error", l.error}};
}

std::optional<Lookup> from_json(const json& j) {
  if (!j.is_object()) return std::nullopt;
  Lookup l;
  const auto status = j.value("status", std::string());
  if (status == "ok") {
    l.status = Lookup::Status::ok;
  } else if (status == "not_found") {
    l.status = Lookup::Status::not_found;
  } else if (status == "error") {
    l.status = Lookup::Status::error;
  } else {
    return std::nullopt;
  }
  l.fetched_at_ms = j.value("fetched_at_ms", std::int64_t{0});
  l.tmdb_id = j.value("tmdb_id", std::int64_t{0});
  l.poster_path = j.value("poster_path", std::string());
  l.trailer_key = j.value("trailer_key", std::string());
  l.error = j.value("error", std::string());
  return l;
}

// Base URL split into what httplib::Client takes (scheme://host:port) and a path prefix.
struct BaseUrl {
  std::string origin;
  std::string prefix;
};

BaseUrl split_base_url(const std::string& url) {
  const auto scheme_end = url.find("://");
  const auto host_start = scheme_end == std::string::npos ? 0 : scheme_end + 3;
  const auto slash = url.find('/', host_start);
  if (slash == std::string::npos) return {url, ""};
  auto prefix = url.substr(slash);
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  return {url.substr(0, slash), prefix};
}

// Picks the YouTube video to show: an official "Trailer" first, then any trailer, then a teaser.
std::string pick_trailer(const json& details) {
  const auto videos = details.find("videos");
  if (videos == details.end() || !videos->is_object()) return {};
  const auto results = videos->find("results");
  if (results == videos->end() || !results->is_array()) return {};
  std::string best;
  int best_rank = 0;
  for (const auto& v : *results) {
    if (!v.is_object()) continue;
    const auto site = v.value("site", std::string());
    const auto key = v.contains("key") && v["key"].is_string() ? v["key"].get<std::string>() : std::string();
    const auto type = v.value("type", std::string());
    const bool official = v.contains("official") && v["official"].is_boolean() && v["official"].get<bool>();
    if (site != "YouTube" || key.empty()) continue;
    int rank = 0;
    if (type == "Trailer") {
      rank = official ? 4 : 3;
    } else if (type == "Teaser") {
      rank = official ? 2 : 1;
    }
    if (rank > best_rank) {
      best_rank = rank;
      best = key;
    }
  }
  return best;
}

}  // namespace

// --- offline links and the placeholder poster ---------------------------------------------------

std::string placeholder_poster_path(std::int64_t movie_id) {
  return "/poster/" + std::to_string(movie_id) + ".svg";
}

std::string imdb_url(std::int64_t imdb_id) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "tt%07lld", static_cast<long long>(imdb_id));
  return std::string("https://www.imdb.com/title/") + buf + "/";
}

std::string tmdb_url(std::int64_t tmdb_id) {
  return "https://www.themoviedb.org/movie/" + std::to_string(tmdb_id);
}

std::string trailer_search_url(const Movie& movie) {
  std::string q = movie.title;
  if (movie.year > 0) q += " " + std::to_string(movie.year);
  q += " trailer";
  return "https://www.youtube.com/results?search_query=" + text::url_encode_query(q);
}

MovieMedia offline_media(const Movie& movie) {
  MovieMedia m;
  m.poster_url = placeholder_poster_path(movie.id);
  m.trailer_url = trailer_search_url(movie);
  if (movie.imdb_id) m.imdb_url = imdb_url(*movie.imdb_id);
  if (movie.tmdb_id) m.tmdb_url = tmdb_url(*movie.tmdb_id);
  return m;
}

std::string placeholder_poster_svg(const Movie& movie) {
  // Hue from a multiplicative hash of the id: neighbouring ids get distant colours.
  const auto hash = static_cast<std::uint64_t>(movie.id) * 2654435761ull;
  const int hue = static_cast<int>(hash % 360);
  const auto lines = text::wrap_words(movie.title, kTitleLineChars, kTitleMaxLines);
  constexpr int kLineHeight = 38;
  const int block = static_cast<int>(lines.size()) * kLineHeight;
  const int first_baseline = (kPosterHeight - block) / 2 + kLineHeight / 2;

  std::string svg;
  svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(kPosterWidth) +
         "\" height=\"" + std::to_string(kPosterHeight) + "\" viewBox=\"0 0 " + std::to_string(kPosterWidth) +
         " " + std::to_string(kPosterHeight) + "\" role=\"img\" aria-label=\"" +
         text::xml_escape(movie.title) + "\">\n";
  svg +=
      "<defs><linearGradient id=\"g\" x1=\"0\" y1=\"0\" x2=\"0\" y2=\"1\"><stop offset=\"0\" "
      "stop-color=\"hsl(" +
      std::to_string(hue) + ",55%,38%)\"/><stop offset=\"1\" stop-color=\"hsl(" +
      std::to_string((hue + 40) % 360) + ",50%,18%)\"/></linearGradient></defs>\n";
  svg += "<rect width=\"100%\" height=\"100%\" fill=\"url(#g)\"/>\n";
  svg += "<rect x=\"14\" y=\"14\" width=\"" + std::to_string(kPosterWidth - 28) + "\" height=\"" +
         std::to_string(kPosterHeight - 28) +
         "\" fill=\"none\" stroke=\"#ffffff\" stroke-opacity=\"0.35\" rx=\"6\"/>\n";
  svg += "<g fill=\"#ffffff\" font-family=\"system-ui, sans-serif\" text-anchor=\"middle\">\n";
  for (std::size_t i = 0; i < lines.size(); ++i) {
    svg += "<text x=\"" + std::to_string(kPosterWidth / 2) + "\" y=\"" +
           std::to_string(first_baseline + static_cast<int>(i) * kLineHeight) +
           "\" font-size=\"30\" font-weight=\"600\">" + text::xml_escape(lines[i]) + "</text>\n";
  }
  if (movie.year > 0) {
    svg += "<text x=\"" + std::to_string(kPosterWidth / 2) + "\" y=\"" + std::to_string(kPosterHeight - 48) +
           "\" font-size=\"26\" fill-opacity=\"0.8\">" + std::to_string(movie.year) + "</text>\n";
  }
  svg += "</g>\n</svg>\n";
  return svg;
}

// --- options ---------------------------------------------------------------------------------------

TmdbOptions TmdbOptions::from_environment() {
  TmdbOptions o;
  o.api_key = env_or_empty("TMDB_API_KEY");
  o.bearer_token = env_or_empty("TMDB_BEARER_TOKEN");
  if (o.bearer_token.empty()) o.bearer_token = env_or_empty("TMDB_READ_ACCESS_TOKEN");
  if (auto url = env_or_empty("TMDB_BASE_URL"); !url.empty()) o.base_url = url;
  return o;
}

// --- the client --------------------------------------------------------------------------------------

struct TmdbClient::State {
  TmdbOptions options;
  std::filesystem::path cache_dir;
  BaseUrl base;

  std::mutex mutex;
  std::condition_variable idle;
  int running = 0;
  struct Entry {
    std::optional<Lookup> result;  // the latest answer, possibly stale
    std::optional<std::shared_future<Lookup>> in_flight;
  };
  std::map<std::string, Entry> entries;

  std::atomic<std::int64_t> http_requests{0};
  std::atomic<std::int64_t> cache_hits{0};
  std::atomic<std::int64_t> timeouts{0};
  std::atomic<std::int64_t> failures{0};
  std::atomic<bool> warned_cache_write{false};

  std::chrono::milliseconds ttl_of(const Lookup& l) const {
    switch (l.status) {
      case Lookup::Status::ok:
        return options.ttl;
      case Lookup::Status::not_found:
        return options.negative_ttl;
      case Lookup::Status::error:
        return options.error_ttl;
    }
    return options.error_ttl;
  }
  bool fresh(const Lookup& l) const { return unix_now_ms() - l.fetched_at_ms < ttl_of(l).count(); }

  std::filesystem::path cache_file(const std::string& key) const { return cache_dir / (key + ".json"); }

  std::optional<Lookup> read_cache(const std::string& key) const {
    std::ifstream in(cache_file(key), std::ios::binary);
    if (!in) return std::nullopt;
    const auto j = json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) {
      spdlog::warn("tmdb cache: ignoring unreadable {}", cache_file(key).string());
      return std::nullopt;
    }
    return from_json(j);
  }

  void write_cache(const std::string& key, const Lookup& l) {
    try {
      std::filesystem::create_directories(cache_dir);
      write_file_atomic(cache_file(key), to_json(l).dump() + "\n");
    } catch (const std::exception& e) {
      if (!warned_cache_write.exchange(true)) spdlog::warn("tmdb cache: cannot write: {}", e.what());
    }
  }

  // One GET against TMDB; nullopt with `error` set when there is no usable HTTP answer.
  httplib::Result get(const std::string& path_and_query) {
    httplib::Client cli(base.origin);
    const auto timeout = options.request_timeout;
    cli.set_connection_timeout(std::chrono::duration_cast<std::chrono::microseconds>(timeout));
    cli.set_read_timeout(std::chrono::duration_cast<std::chrono::microseconds>(timeout));
    cli.set_write_timeout(std::chrono::duration_cast<std::chrono::microseconds>(timeout));
    if (!options.bearer_token.empty()) cli.set_bearer_token_auth(options.bearer_token);
    std::string target = base.prefix + path_and_query;
    if (!options.api_key.empty()) {
      target += (target.find('?') == std::string::npos ? "?" : "&");
      target += "api_key=" + text::url_encode_query(options.api_key);
    }
    http_requests.fetch_add(1);
    return cli.Get(target, httplib::Headers{{"Accept", "application/json"}});
  }

  // Turns an HTTP result into JSON, or fills `out` with the not_found / error outcome.
  std::optional<json> answer_json(const httplib::Result& res, const std::string& what, Lookup& out) {
    if (!res) {
      out.status = Lookup::Status::error;
      out.error = what + ": no answer (" + httplib::to_string(res.error()) + " error)";
      return std::nullopt;
    }
    if (res->status == 404) {
      out.status = Lookup::Status::not_found;
      return std::nullopt;
    }
    if (res->status != 200) {
      out.status = Lookup::Status::error;
      out.error = what + ": HTTP " + std::to_string(res->status);
      return std::nullopt;
    }
    auto j = json::parse(res->body, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) {
      out.status = Lookup::Status::error;
      out.error = what + ": the answer is not a JSON object";
      return std::nullopt;
    }
    return j;
  }

  Lookup fetch(const Movie& movie) {
    Lookup out;
    out.fetched_at_ms = unix_now_ms();
    std::int64_t tmdb_id = movie.tmdb_id.value_or(0);
    if (tmdb_id == 0 && movie.imdb_id) {
      char imdb[32];
      std::snprintf(imdb, sizeof imdb, "tt%07lld", static_cast<long long>(*movie.imdb_id));
      const std::string what = std::string("/3/find/") + imdb;
      auto j = answer_json(get(what + "?external_source=imdb_id"), what, out);
      if (!j) return out;
      const auto results = j->find("movie_results");
      if (results == j->end() || !results->is_array() || results->empty() || !(*results)[0].is_object() ||
          !(*results)[0].contains("id") || !(*results)[0]["id"].is_number_integer()) {
        out.status = Lookup::Status::not_found;
        return out;
      }
      tmdb_id = (*results)[0]["id"].get<std::int64_t>();
    }
    const std::string what = "/3/movie/" + std::to_string(tmdb_id);
    auto j = answer_json(get(what + "?append_to_response=videos"), what, out);
    if (!j) return out;
    out.status = Lookup::Status::ok;
    out.tmdb_id = tmdb_id;
    if (j->contains("poster_path") && (*j)["poster_path"].is_string()) {
      out.poster_path = (*j)["poster_path"].get<std::string>();
    }
    out.trailer_key = pick_trailer(*j);
    return out;
  }
};

namespace {

std::optional<std::string> cache_key(const Movie& movie) {
  if (movie.tmdb_id) return "tmdb-" + std::to_string(*movie.tmdb_id);
  if (movie.imdb_id) return "imdb-" + std::to_string(*movie.imdb_id);
  return std::nullopt;
}

MovieMedia combine(const Movie& movie, const std::optional<Lookup>& l, const std::string& image_base) {
  MovieMedia m = offline_media(movie);
  if (!l || l->status != Lookup::Status::ok) return m;
  if (!l->poster_path.empty()) {
    m.poster_url = image_base + l->poster_path;
    m.poster_from_tmdb = true;
  }
  if (!l->trailer_key.empty()) {
    m.trailer_url = "https://www.youtube.com/watch?v=" + text::url_encode_query(l->trailer_key);
    m.trailer_from_tmdb = true;
  }
  if (m.tmdb_url.empty() && l->tmdb_id > 0) m.tmdb_url = tmdb_url(l->tmdb_id);
  return m;
}

}  // namespace

TmdbClient::TmdbClient(TmdbOptions options) : state_(std::make_shared<State>()) {
  state_->options = std::move(options);
  state_->cache_dir = state_->options.cache_dir.empty() ? default_cache_dir() : state_->options.cache_dir;
  state_->base = split_base_url(state_->options.base_url);
}

TmdbClient::~TmdbClient() {
  wait_idle();
}

bool TmdbClient::enabled() const noexcept {
  return state_->options.has_credentials();
}

void TmdbClient::wait_idle() {
  std::unique_lock lock(state_->mutex);
  state_->idle.wait(lock, [&] { return state_->running == 0; });
}

TmdbStats TmdbClient::stats() const {
  return {state_->http_requests.load(), state_->cache_hits.load(), state_->timeouts.load(),
          state_->failures.load()};
}

std::vector<MovieMedia> TmdbClient::media(std::span<const Movie* const> movies,
                                          std::optional<std::chrono::milliseconds> wait) {
  std::vector<MovieMedia> out;
  out.reserve(movies.size());
  if (!enabled()) {
    for (const Movie* m : movies) out.push_back(offline_media(*m));
    return out;
  }
  auto& s = *state_;
  const auto deadline = Clock::now() + wait.value_or(s.options.wait);

  // Start (or join) every lookup first, so they run concurrently under the one deadline.
  using Pending = std::variant<std::monostate, Lookup, std::shared_future<Lookup>>;
  std::vector<Pending> pending(movies.size());
  std::vector<std::optional<Lookup>> stale(movies.size());
  for (std::size_t i = 0; i < movies.size(); ++i) {
    const Movie& movie = *movies[i];
    const auto key = cache_key(movie);
    if (!key) continue;
    std::unique_lock lock(s.mutex);
    auto& entry = s.entries[*key];
    if (!entry.result && !entry.in_flight) {
      entry.result = s.read_cache(*key);  // small file; at most once per movie per process
    }
    if (entry.result && s.fresh(*entry.result)) {
      s.cache_hits.fetch_add(1);
      pending[i] = *entry.result;
      continue;
    }
    stale[i] = entry.result;
    if (!entry.in_flight) {
      auto promise = std::make_shared<std::promise<Lookup>>();
      entry.in_flight = promise->get_future().share();
      ++s.running;
      // The thread holds the state alive, so a lookup outliving its caller (or the client) is safe.
      std::thread([state = state_, movie, k = *key, promise] {
        Lookup result;
        try {
          result = state->fetch(movie);
        } catch (const std::exception& e) {
          result.status = Lookup::Status::error;
          result.fetched_at_ms = unix_now_ms();
          result.error = e.what();
        }
        if (result.status == Lookup::Status::error) {
          state->failures.fetch_add(1);
          spdlog::warn("tmdb: movie {}: {}", movie.id, result.error);
        }
        state->write_cache(k, result);
        {
          std::lock_guard guard(state->mutex);
          auto& e = state->entries[k];
          e.result = result;
          e.in_flight.reset();
        }
        promise->set_value(result);
        std::lock_guard guard(state->mutex);
        --state->running;
        state->idle.notify_all();
      }).detach();
    }
    pending[i] = *entry.in_flight;
  }

  for (std::size_t i = 0; i < movies.size(); ++i) {
    std::optional<Lookup> known;
    if (auto* l = std::get_if<Lookup>(&pending[i])) {
      known = *l;
    } else if (auto* f = std::get_if<std::shared_future<Lookup>>(&pending[i])) {
      if (f->wait_until(deadline) == std::future_status::ready) {
        known = f->get();
      } else {
        s.timeouts.fetch_add(1);
        known = stale[i];  // an expired answer beats a placeholder while the refresh runs
      }
    }
    out.push_back(combine(*movies[i], known, s.options.image_base_url));
  }
  return out;
}

}  // namespace cinefactor
