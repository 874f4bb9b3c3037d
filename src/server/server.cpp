#include "cinefactor/server.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <regex>
#include <set>
#include <thread>

#include "server/http_transport.hpp"
#include "server/server_internal.hpp"

namespace cinefactor {
namespace {

using Clock = std::chrono::steady_clock;

// Complete requests that may wait for a handler thread, per thread; more are shed with 503.
constexpr std::size_t kQueuedPerThread = 64;

// Security headers on every response. The CSP allows only this origin, plus posters from TMDB's
// image host and data: URIs; no inline script or style, no framing.
const httplib::Headers& security_headers() {
  static const httplib::Headers kHeaders{
      {"Content-Security-Policy",
       "default-src 'self'; img-src 'self' data: https://image.tmdb.org; script-src 'self'; style-src "
       "'self'; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'"},
      {"X-Content-Type-Options", "nosniff"},
      {"Referrer-Policy", "strict-origin-when-cross-origin"},
      {"X-Frame-Options", "DENY"},
      {"Cross-Origin-Opener-Policy", "same-origin"},
  };
  return kHeaders;
}

// Client-chosen strings never become label values: unusual methods are counted as "other".
std::string method_label(const std::string& method) {
  static const std::set<std::string> kMethods{"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"};
  return kMethods.contains(method) ? method : "other";
}

// The methods httplib knew: any other is a 400, a known one without a route a 404.
bool known_method(const std::string& method) {
  static const std::set<std::string> kKnown{"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                            "CONNECT", "OPTIONS", "TRACE", "PATCH"};
  return kKnown.contains(method);
}

std::string reason_for(int status, const httplib::Request& req, std::size_t max_body) {
  switch (status) {
    case 404:
      return "no such page: " + req.path;
    case 413:
      return "the request body is larger than the limit of " + std::to_string(max_body) + " bytes";
    case 400:
      return "malformed request";
    case 405:
      return "method not allowed";
    case 414:
      return "the request target is too long";
    case 416:
      return "the requested range cannot be satisfied";
    default:
      return status >= 500 ? "internal error" : "the request cannot be answered";
  }
}

std::pair<int, std::string> classify(std::exception_ptr ep) {
  try {
    std::rethrow_exception(ep);
  } catch (const HttpError& e) {
    return {e.status(), e.what()};
  } catch (const InvalidArgument& e) {
    return {400, e.what()};
  } catch (const ParseError& e) {
    return {400, e.what()};
  } catch (const std::exception& e) {
    spdlog::error("server: unexpected error: {}", e.what());
    return {500, "internal error"};
  } catch (...) {
    spdlog::error("server: unexpected non-standard exception");
    return {500, "internal error"};
  }
}

}  // namespace

// --- ModelRegistry -----------------------------------------------------------------------------------

ModelRegistry::ModelRegistry() : models_(std::make_shared<const std::vector<LoadedModel>>()) {}

void ModelRegistry::put(std::string name, std::shared_ptr<const Model> model, std::string source) {
  if (name.empty()) throw InvalidArgument("a model needs a name");
  if (!model) throw InvalidArgument("model '" + name + "' is null");
  LoadedModel loaded{std::move(name), model, std::make_shared<const CatalogIndex>(*model),
                     std::make_shared<const Recommender>(model), std::move(source)};
  std::lock_guard lock(mutex_);
  auto next = std::make_shared<std::vector<LoadedModel>>(*models_);
  auto it =
      std::find_if(next->begin(), next->end(), [&](const LoadedModel& m) { return m.name == loaded.name; });
  if (it != next->end()) {
    *it = std::move(loaded);
  } else {
    next->push_back(std::move(loaded));
  }
  models_ = std::move(next);
}

void ModelRegistry::put(std::shared_ptr<const Model> model, std::string source) {
  if (!model) throw InvalidArgument("model is null");
  put(std::string(algorithm_name(model->algorithm)), model, std::move(source));
}

ModelRegistry::Snapshot ModelRegistry::snapshot() const {
  std::lock_guard lock(mutex_);
  return models_;
}

std::optional<LoadedModel> ModelRegistry::find(std::string_view name) const {
  const auto snap = snapshot();
  for (const auto& m : *snap) {
    if (m.name == name) return m;
  }
  return std::nullopt;
}

std::optional<LoadedModel> ModelRegistry::primary() const {
  const auto snap = snapshot();
  if (snap->empty()) return std::nullopt;
  return snap->front();
}

// --- Context -------------------------------------------------------------------------------------------

namespace server {

std::uint64_t Context::next_seed() {
  std::lock_guard lock(rng_mutex);
  return rng();
}

LoadedModel Context::primary() const {
  auto m = models->primary();
  if (!m) throw HttpError(503, "no model is loaded");
  return *m;
}

}  // namespace server

// --- Server --------------------------------------------------------------------------------------------

struct Server::Impl {
  server::Context ctx;
  std::vector<std::regex> patterns;  // of route_table(), in its order
  std::unique_ptr<server::HttpTransport> transport;
  int port = 0;
  std::mutex stop_mutex;  // one stop() at a time
  std::mutex state_mutex;
  std::condition_variable state_changed;
  bool started = false;
  bool stopped = false;

  void configure();
  // The route that takes `req` (HEAD takes the GET routes), its path captures in `matches`.
  const server::RouteSpec* match(const httplib::Request& req, std::smatch& matches) const;
  // Answers a complete request (on a handler thread).
  void handle(httplib::Request& req, httplib::Response& res);
  // The answer to a request the transport refuses (413, 431, 503), in the route's format.
  void refuse(const httplib::Request& req, httplib::Response& res, int status, std::string_view why);
};

void Server::Impl::configure() {
  auto& o = ctx.options;
  for (const auto& spec : server::route_table()) {
    const std::string method = spec.method;
    if (method != "GET" && method != "POST") {
      throw InvalidArgument(std::string("route table: unsupported method ") + spec.method);
    }
    patterns.emplace_back(spec.pattern);
  }
  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  // Handlers wait for TMDB lookups (up to TmdbOptions::wait), so keep more threads than cores.
  constexpr unsigned kMinThreads = 8;
  server::TransportLimits limits;
  limits.threads =
      o.threads > 0 ? static_cast<std::size_t>(o.threads) : std::max<std::size_t>(kMinThreads, 2 * hw);
  limits.max_queued = kQueuedPerThread * limits.threads;
  limits.max_connections = o.max_connections;
  limits.connection_memory = o.connection_memory;
  limits.max_header_fields = o.max_header_fields;
  limits.max_body_bytes = o.max_body_bytes;
  limits.idle_timeout = o.idle_timeout;
  transport = std::make_unique<server::HttpTransport>(
      limits, [this](httplib::Request& req, httplib::Response& res) { handle(req, res); },
      [this](const httplib::Request& req, httplib::Response& res, int status, std::string_view why) {
        refuse(req, res, status, why);
      });
}

const server::RouteSpec* Server::Impl::match(const httplib::Request& req, std::smatch& matches) const {
  const std::string method = req.method == "HEAD" ? "GET" : req.method;
  const auto routes = server::route_table();
  for (std::size_t r = 0; r < routes.size(); ++r) {
    if (method == routes[r].method && std::regex_match(req.path, matches, patterns[r])) return &routes[r];
  }
  return nullptr;
}

void Server::Impl::handle(httplib::Request& req, httplib::Response& res) {
  const auto start = Clock::now();
  res.headers = security_headers();
  const auto* route = match(req, req.matches);
  if (route) {
    try {
      route->handler(ctx, req, res);
    } catch (...) {
      const auto [status, message] = classify(std::current_exception());
      // Keep the security headers; drop what the handler set.
      res.body.clear();
      res.headers.erase("Content-Type");
      res.headers.erase("Cache-Control");
      server::send_error(res, status, message, route->page);
    }
    if (res.status == -1) res.status = 200;
  } else {
    res.status = known_method(req.method) ? 404 : 400;
  }
  // An error status without a body (no route, or a handler that set only the status) gets the
  // error body every other error has.
  if (res.status >= 400 && res.body.empty()) {
    server::send_error(res, res.status, reason_for(res.status, req, ctx.options.max_body_bytes),
                       route ? route->page : !req.path.starts_with("/api/"));
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  ctx.metrics.observe(route ? route->name : "unmatched", method_label(req.method), res.status, seconds);
  spdlog::debug("{} {} {} {:.1f} ms", req.method, req.path, res.status, seconds * 1e3);
}

void Server::Impl::refuse(const httplib::Request& req, httplib::Response& res, int status,
                          std::string_view why) {
  std::smatch unused;
  const auto* route = match(req, unused);
  res.headers = security_headers();
  server::send_error(res, status, why, route ? route->page : !req.path.starts_with("/api/"));
  ctx.metrics.observe(route ? route->name : "unmatched", method_label(req.method), status, 0.0);
  spdlog::debug("{} {} {} refused: {}", req.method, req.path, status, why);
}

Server::Server(ServerOptions options, std::shared_ptr<ModelRegistry> models)
    : impl_(std::make_unique<Impl>()) {
  if (!models) throw InvalidArgument("the server needs a model registry");
  auto& c = impl_->ctx;
  c.options = std::move(options);
  c.models = std::move(models);
  c.rng.seed(c.options.seed ? *c.options.seed
                            : (std::uint64_t{std::random_device{}()} << 32) ^ std::random_device{}());
  c.tmdb = std::make_unique<TmdbClient>(c.options.tmdb);
  impl_->configure();
}

Server::~Server() {
  stop();
}

void Server::start() {
  auto& i = *impl_;
  {
    std::lock_guard lock(i.state_mutex);
    if (i.started) throw InvalidArgument("the server was already started");
    i.started = true;
  }
  i.port = i.transport->start(i.ctx.options.host, i.ctx.options.port);
  spdlog::info("serving on {}", url());
}

void Server::wait() {
  auto& i = *impl_;
  std::unique_lock lock(i.state_mutex);
  i.state_changed.wait(lock, [&] { return i.stopped || !i.started; });
}

void Server::stop() {
  auto& i = *impl_;
  std::lock_guard stopping(i.stop_mutex);
  {
    std::lock_guard lock(i.state_mutex);
    if (!i.started || i.stopped) return;
  }
  i.transport->stop(i.ctx.options.grace_period);
  i.ctx.tmdb->wait_idle();
  std::lock_guard lock(i.state_mutex);
  i.stopped = true;
  i.state_changed.notify_all();
}

bool Server::running() const {
  return impl_->transport->running();
}
int Server::port() const {
  return impl_->port;
}
std::string Server::url() const {
  return "http://" + impl_->ctx.options.host + ":" + std::to_string(impl_->port);
}
std::vector<RouteInfo> Server::routes() {
  std::vector<RouteInfo> out;
  for (const auto& r : server::route_table()) out.push_back({r.method, r.openapi_path, r.name, r.page});
  return out;
}

}  // namespace cinefactor
