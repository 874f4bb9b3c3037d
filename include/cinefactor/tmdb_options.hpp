// How the web app reaches TMDB for posters and trailers (credentials, cache, timeouts): the server's
// options carry it; the client itself is internal to the server.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

namespace cinefactor {

struct TmdbOptions {
  std::string base_url = "https://api.themoviedb.org";             // env TMDB_BASE_URL, flag --tmdb-url
  std::string image_base_url = "https://image.tmdb.org/t/p/w342";  // poster_path is appended
  std::string api_key;              // v3 key, sent as ?api_key= (env TMDB_API_KEY)
  std::string bearer_token;         // v4 read access token (env TMDB_BEARER_TOKEN or TMDB_READ_ACCESS_TOKEN)
  std::filesystem::path cache_dir;  // empty = $XDG_CACHE_HOME/cinefactor/tmdb or ~/.cache/cinefactor/tmdb
  std::chrono::milliseconds ttl{std::chrono::hours(24 * 7)};       // a found movie
  std::chrono::milliseconds negative_ttl{std::chrono::hours(24)};  // TMDB does not know the movie (404)
  std::chrono::milliseconds error_ttl{std::chrono::minutes(10)};   // 5xx, malformed answer, no connection
  std::chrono::milliseconds wait{300};                             // the longest a caller waits for a lookup
  std::chrono::milliseconds request_timeout{5000};  // connect / read timeout of one HTTP request

  bool has_credentials() const noexcept { return !api_key.empty() || !bearer_token.empty(); }
  // Defaults overridden by TMDB_API_KEY, TMDB_BEARER_TOKEN / TMDB_READ_ACCESS_TOKEN, TMDB_BASE_URL.
  static TmdbOptions from_environment();
};

}  // namespace cinefactor
