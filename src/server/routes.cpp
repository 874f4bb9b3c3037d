// The one route table of the server. Every route here must be documented in web/openapi.json (a test
// checks it). Match order matters: literal paths before the patterns that would also match them.
#include "server/server_internal.hpp"

namespace cinefactor::server {

std::span<const RouteSpec> route_table() {
  static const RouteSpec kRoutes[] = {
      {"GET", "/", "/", "home", true, &handle_home},
      {"GET", R"(/poster/([^/]+)\.svg)", "/poster/{id}.svg", "poster", true, &handle_poster_svg},
      {"GET", "/static/(.+)", "/static/{path}", "static", true, &handle_static},
      {"GET", "/healthz", "/healthz", "healthz", false, &handle_healthz},
      {"GET", "/metrics", "/metrics", "metrics", false, &handle_metrics},
      {"GET", "/api/v1/openapi.json", "/api/v1/openapi.json", "openapi", false, &handle_openapi},
      {"GET", "/api/v1/movies/popular", "/api/v1/movies/popular", "movies_popular", false,
       &handle_movies_popular},
      {"GET", "/api/v1/movies/search", "/api/v1/movies/search", "movies_search", false,
       &handle_movies_search},
      {"GET", "/api/v1/movies/([^/]+)/similar", "/api/v1/movies/{id}/similar", "movie_similar", false,
       &handle_movie_similar},
      {"GET", "/api/v1/movies/([^/]+)", "/api/v1/movies/{id}", "movie", false, &handle_movie},
      {"POST", "/api/v1/recommendations", "/api/v1/recommendations", "recommendations", false,
       &handle_api_recommendations},
      {"POST", "/recommendations", "/recommendations", "results_page", true, &handle_results_page},
  };
  return kRoutes;
}

}  // namespace cinefactor::server
