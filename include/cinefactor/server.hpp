// The web app's HTTP server: server-rendered pages (work without JavaScript, enhanced by
// web/app.js), a JSON API under /api/v1, the embedded static files, posters, /healthz and Prometheus
// /metrics. httplib stays out of this header; handlers live in src/server_*.cpp behind one route table.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cinefactor/error.hpp"
#include "cinefactor/model_registry.hpp"
#include "cinefactor/tmdb_options.hpp"

namespace cinefactor {

// An error with the HTTP status it should answer (4xx for the caller's mistakes).
class HttpError : public Error {
 public:
  HttpError(int status, const std::string& message) : Error(message), status_(status) {}
  int status() const noexcept { return status_; }

 private:
  int status_;
};

struct ServerOptions {
  std::string host = "127.0.0.1";          // loopback unless told otherwise
  int port = 8080;                         // 0 = any free port (see Server::port())
  int threads = 0;                         // request worker threads; 0 = sized to the machine
  std::size_t max_body_bytes = 64 * 1024;  // larger request bodies get 413
  std::size_t max_ratings = 500;           // ratings one request or form may carry (more: 400)
  // What a client may hold. Requests are read by one event thread; only a complete request takes a
  // handler thread, so slow or idle clients cost a connection slot and at most `connection_memory`
  // + `max_body_bytes` bytes each: the server's memory for requests is bounded by
  // max_connections x (connection_memory + max_body_bytes).
  std::size_t max_connections = 1000;     // open connections; more wait in the kernel's accept queue
  std::size_t connection_memory = 32768;  // request line + header fields (+ response head); more: 431
  std::size_t max_header_fields = 100;    // header fields of one request; more: 431
  std::chrono::seconds idle_timeout{5};   // a connection with no bytes moving for this long is closed
  // stop() waits this long for the requests already received to be answered, then closes.
  std::chrono::milliseconds grace_period{10000};
  std::size_t page_movies = 15;       // movies to rate on the home page
  std::size_t page_pool = 50;         // ... drawn from this many most-rated ones
  std::optional<std::uint64_t> seed;  // fixes the random draws (tests); fresh randomness when empty
  TmdbOptions tmdb;                   // credentials come from here (see TmdbOptions::from_environment)
};

// A registered route, as documented in the OpenAPI document.
struct RouteInfo {
  std::string method;  // "GET", "POST"
  std::string path;    // OpenAPI path template: "/api/v1/movies/{id}"
  std::string name;    // handler name, also the `route` label of the metrics
  bool page = false;   // HTML (errors as pages) rather than JSON
};

class Server {
 public:
  // Throws InvalidArgument when `models` is null.
  Server(ServerOptions options, std::shared_ptr<ModelRegistry> models);
  ~Server();  // stop()s
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds host:port (an ephemeral port when 0) and serves on a background thread; returns once the
  // socket listens. Throws IoError when it cannot bind.
  void start();
  // Blocks until stop() is called (from another thread or a signal handler's helper thread).
  void wait();
  // Stops accepting connections (those still in the accept queue get 503 + Retry-After); requests
  // already received are answered, for at most `grace_period`; then every connection is closed and
  // running TMDB lookups finish. Safe to call twice.
  void stop();

  bool running() const;
  int port() const;         // the bound port (after start())
  std::string url() const;  // "http://host:port"

  // Every route the server registers.
  static std::vector<RouteInfo> routes();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cinefactor
