// The web app's HTTP server: server-rendered pages (work without JavaScript, enhanced by
// web/app.js), a JSON API under /api/v1, the embedded static files, posters, /healthz and Prometheus
// /metrics. httplib stays out of this header; handlers live in src/server_*.cpp behind one route table.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cinefactor/catalog_index.hpp"
#include "cinefactor/error.hpp"
#include "cinefactor/model.hpp"
#include "cinefactor/recommender.hpp"
#include "cinefactor/tmdb.hpp"

namespace cinefactor {

// An error with the HTTP status it should answer (4xx for the caller's mistakes).
class HttpError : public Error {
 public:
  HttpError(int status, const std::string& message) : Error(message), status_(status) {}
  int status() const noexcept { return status_; }

 private:
  int status_;
};

// One model the server can answer with.
struct LoadedModel {
  std::string name;  // what requests select it by ("nmf", "svd")
  std::shared_ptr<const Model> model;
  std::shared_ptr<const CatalogIndex> catalog;     // built over model->catalog
  std::shared_ptr<const Recommender> recommender;  // over model, built once at load, swapped with it
  std::string source;                              // where it was loaded from (shown by /healthz)
};

// The loaded models, replaceable while requests run (hot reload): readers take a snapshot, which
// keeps the models it holds alive however long the request lasts.
class ModelRegistry {
 public:
  using Snapshot = std::shared_ptr<const std::vector<LoadedModel>>;

  ModelRegistry();
  // Adds a model under `name`, replacing one already there by that name (same position). Builds the
  // catalog index and the recommender before the swap (requests never see a half-built model);
  // throws InvalidArgument when the model has no catalog, is inconsistent, or the name is empty.
  void put(std::string name, std::shared_ptr<const Model> model, std::string source = {});
  // Adds under the algorithm's name (algorithm_name(model->algorithm)).
  void put(std::shared_ptr<const Model> model, std::string source = {});

  Snapshot snapshot() const;
  std::optional<LoadedModel> find(std::string_view name) const;
  // The first model added: its catalog serves the movie pages and the movie API.
  std::optional<LoadedModel> primary() const;
  bool empty() const;

 private:
  mutable std::mutex mutex_;
  Snapshot models_;
};

struct ServerOptions {
  std::string host = "127.0.0.1";          // loopback unless told otherwise
  int port = 8080;                         // 0 = any free port (see Server::port())
  int threads = 0;                         // request worker threads; 0 = sized to the machine
  std::size_t max_body_bytes = 64 * 1024;  // larger request bodies get 413
  std::size_t max_ratings = 500;           // ratings one request or form may carry (more: 400)
  std::chrono::seconds read_timeout{5};
  std::chrono::seconds write_timeout{5};
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
  // Stops accepting connections; requests already being handled finish and get their answers,
  // then running TMDB lookups finish. Safe to call twice.
  void stop();

  bool running() const;
  int port() const;         // the bound port (after start())
  std::string url() const;  // "http://host:port"
  ModelRegistry& models();
  TmdbClient& tmdb();

  // Every route the server registers.
  static std::vector<RouteInfo> routes();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cinefactor
