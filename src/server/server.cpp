#include "cinefactor/server.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <set>
#include <thread>

#include "server/server_internal.hpp"

namespace cinefactor {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kListenBacklog = 1024;  // pending connections the kernel queues for accept()

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

// What the current worker thread is answering, for metrics and error rendering. httplib handles a
// request start to finish on one thread: the pre-routing handler opens the trace, the route
// wrapper names it, the logger (called after the response is written) closes it. Metrics are
// recorded before the response goes out (by the route wrapper, or by the error handler for
// requests no route took), so a client that got its answer always sees it counted.
struct RequestTrace {
  bool open = false;
  bool recorded = false;
  Clock::time_point start;
  const server::RouteSpec* route = nullptr;
};
thread_local RequestTrace t_trace;

double trace_seconds() {
  return t_trace.open ? std::chrono::duration<double>(Clock::now() - t_trace.start).count() : 0.0;
}

// Client-chosen strings never become label values: unusual methods are counted as "other".
std::string method_label(const std::string& method) {
  static const std::set<std::string> kMethods{"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"};
  return kMethods.contains(method) ? method : "other";
}

bool is_page_request(const httplib::Request& req) {
  if (t_trace.route) return t_trace.route->page;
  return !req.path.starts_with("/api/");
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
  httplib::Server http;
  std::thread thread;
  int port = 0;
  std::mutex state_mutex;
  std::condition_variable state_changed;
  bool started = false;
  bool stopped = false;
  socket_t listen_socket = INVALID_SOCKET;

  void configure();
};

void Server::Impl::configure() {
  auto& c = ctx;
  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  // Keep-alive connections hold a worker each, so keep a floor well above a small machine's cores.
  constexpr unsigned kMinThreads = 8;
  const std::size_t threads = c.options.threads > 0 ? static_cast<std::size_t>(c.options.threads)
                                                    : std::max<std::size_t>(kMinThreads, 2 * hw);
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http.set_payload_max_length(c.options.max_body_bytes);
  http.set_read_timeout(c.options.read_timeout);
  http.set_write_timeout(c.options.write_timeout);
  http.set_default_headers(security_headers());
  // SO_REUSEADDR only: httplib's default also sets SO_REUSEPORT, which would let a second server
  // share the port silently instead of failing to bind. The socket is remembered to widen its
  // listen backlog after binding (see start()).
  http.set_socket_options([this](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    // httplib writes headers and body in separate sends: with Nagle's algorithm the body waits for
    // the client's delayed ACK (~40 ms per response). Accepted sockets inherit TCP_NODELAY.
    ::setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
    listen_socket = sock;
  });

  for (const auto& spec : server::route_table()) {
    const auto* route = &spec;
    httplib::Server::Handler handler = [this, route](const httplib::Request& req, httplib::Response& res) {
      t_trace.route = route;
      try {
        route->handler(ctx, req, res);
      } catch (...) {
        const auto [status, message] = classify(std::current_exception());
        // Keep the default (security) headers httplib put in already; drop what the handler set.
        res.body.clear();
        res.headers.erase("Content-Type");
        res.headers.erase("Cache-Control");
        server::send_error(res, status, message, route->page);
      }
      if (res.status == -1) res.status = 200;
      ctx.metrics.observe(route->name, method_label(req.method), res.status, trace_seconds());
      t_trace.recorded = true;
    };
    const std::string method = spec.method;
    if (method == "GET") {
      http.Get(spec.pattern, handler);
    } else if (method == "POST") {
      http.Post(spec.pattern, handler);
    } else {
      throw InvalidArgument(std::string("route table: unsupported method ") + spec.method);
    }
  }

  http.set_pre_routing_handler([](const httplib::Request&, httplib::Response&) {
    t_trace = RequestTrace{true, false, Clock::now(), nullptr};
    return httplib::Server::HandlerResponse::Unhandled;
  });
  // A fallback: route handlers catch their own exceptions (above); this covers anything thrown around them.
  http.set_exception_handler([](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
    const auto [status, message] = classify(ep);
    server::send_error(res, status, message, is_page_request(req));
  });
  // Errors httplib produces itself (no route, body too large, bad request) get the same bodies.
  http.set_error_handler(
      httplib::Server::HandlerWithResponse([this](const httplib::Request& req, httplib::Response& res) {
        if (!t_trace.recorded) {
          ctx.metrics.observe(t_trace.route ? t_trace.route->name : "unmatched", method_label(req.method),
                              res.status, trace_seconds());
          t_trace.recorded = true;
        }
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        server::send_error(res, res.status, reason_for(res.status, req, ctx.options.max_body_bytes),
                           is_page_request(req));
        return httplib::Server::HandlerResponse::Handled;
      }));
  http.set_logger([](const httplib::Request& req, const httplib::Response& res) {
    spdlog::debug("{} {} {} {:.1f} ms", req.method, req.path, res.status, trace_seconds() * 1e3);
    t_trace = RequestTrace{};
  });
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
  const auto& host = i.ctx.options.host;
  if (i.ctx.options.port == 0) {
    i.port = i.http.bind_to_any_port(host);
    if (i.port < 0) throw IoError("cannot bind to any port on " + host);
  } else {
    if (!i.http.bind_to_port(host, i.ctx.options.port)) {
      throw IoError("cannot listen on " + host + ":" + std::to_string(i.ctx.options.port) +
                    " (in use, or not an address of this machine)");
    }
    i.port = i.ctx.options.port;
  }
  // httplib listens with a backlog of 5: a burst of new connections (many clients at once, a load
  // test) would overflow it and see stalls or resets. listen() again on the bound socket widens it.
  if (i.listen_socket != INVALID_SOCKET) ::listen(i.listen_socket, kListenBacklog);
  i.thread = std::thread([&i] {
    i.http.listen_after_bind();
    std::lock_guard lock(i.state_mutex);
    i.stopped = true;
    i.state_changed.notify_all();
  });
  // stop() only works once the accept loop runs; wait for it (the socket already listens).
  while (!i.http.is_running()) {
    {
      std::lock_guard lock(i.state_mutex);
      if (i.stopped) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  spdlog::info("serving on {}", url());
}

void Server::wait() {
  auto& i = *impl_;
  std::unique_lock lock(i.state_mutex);
  i.state_changed.wait(lock, [&] { return i.stopped || !i.started; });
}

void Server::stop() {
  auto& i = *impl_;
  {
    std::lock_guard lock(i.state_mutex);
    if (!i.started) return;
  }
  i.http.stop();  // closes the listening socket; listen_after_bind joins the workers (in-flight requests
                  // finish)
  if (i.thread.joinable()) {
    if (i.thread.get_id() == std::this_thread::get_id()) {
      i.thread.detach();
    } else {
      i.thread.join();
    }
  }
  i.ctx.tmdb->wait_idle();
}

bool Server::running() const {
  return impl_->http.is_running();
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
