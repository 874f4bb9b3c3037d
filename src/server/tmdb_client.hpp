// Posters and trailers from The Movie Database (TMDB), with a disk cache, and the offline fallback
// (a generated placeholder poster and links built from the MovieLens ids). A page never waits on
// TMDB for longer than a short timeout: a slow answer fills the cache in the background instead.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "cinefactor/movie.hpp"
#include "cinefactor/tmdb_options.hpp"

namespace cinefactor {

// What the app shows for a movie: poster and trailer from TMDB when known, else placeholders.
struct MovieMedia {
  std::string poster_url;   // TMDB image, or the app's own /poster/{id}.svg
  std::string trailer_url;  // a YouTube video, or a YouTube search for "<title> <year> trailer"
  std::string imdb_url;     // empty when the movie has no imdb id
  std::string tmdb_url;     // empty when no tmdb id is known
  bool poster_from_tmdb = false;
  bool trailer_from_tmdb = false;
};

// Links that need no lookup: IMDb and TMDB pages, the placeholder poster, a trailer search.
MovieMedia offline_media(const Movie& movie);
std::string placeholder_poster_path(std::int64_t movie_id);  // "/poster/{id}.svg"
std::string imdb_url(std::int64_t imdb_id);                  // https://www.imdb.com/title/tt0114709/
std::string tmdb_url(std::int64_t tmdb_id);                  // https://www.themoviedb.org/movie/862
std::string trailer_search_url(const Movie& movie);          // YouTube search for "title year trailer"
// An SVG poster: the title (escaped, wrapped) and year on a colour derived from the movie id.
std::string placeholder_poster_svg(const Movie& movie);

struct TmdbStats {
  std::int64_t http_requests = 0;  // requests sent to TMDB
  std::int64_t cache_hits = 0;     // lookups answered from memory or disk
  std::int64_t timeouts = 0;       // lookups that answered with placeholders because TMDB was slow
  std::int64_t failures = 0;       // lookups that ended in an error (not 404)
};

class TmdbClient {
 public:
  explicit TmdbClient(TmdbOptions options);
  ~TmdbClient();  // waits for the lookups still running (bounded by request_timeout)
  TmdbClient(const TmdbClient&) = delete;
  TmdbClient& operator=(const TmdbClient&) = delete;

  bool enabled() const noexcept;

  // The media of several movies, looked up concurrently under one shared deadline of `wait`
  // (the options' wait when nullopt; zero = answer from the cache only, start lookups for the rest).
  std::vector<MovieMedia> media(std::span<const Movie* const> movies,
                                std::optional<std::chrono::milliseconds> wait = std::nullopt);

  // Blocks until no lookup is running (tests, shutdown).
  void wait_idle();
  TmdbStats stats() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace cinefactor
