// How a request travels: libmicrohttpd's epoll thread accepts the connection, reads the request line
// and header fields into the connection's fixed memory pool (`connection_memory`; a head that does
// not fit is answered 431 by libmicrohttpd) and the body into the exchange (at most
// `max_body_bytes`, 413 beyond). Only then is the connection suspended and the request queued for a
// handler thread; the handler's answer resumes it and the epoll thread writes it out. Nothing a
// client does before its request is complete occupies a handler thread.
#include "server/http_transport.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "cinefactor/error.hpp"

namespace cinefactor::server {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kListenBacklog = 1024;  // connections the kernel queues for accept()
// httplib's own cap on a form body it parses into parameters (CPPHTTPLIB_FORM_URL_ENCODED_...).
constexpr std::size_t kMaxFormBytes = 8192;
// The largest body that is read and dropped before its 413 (see State::access).
constexpr std::size_t kMaxDroppedBytes = 8 << 20;
// How long a connection refused at shutdown is read from (and discarded) before it is closed, so
// that closing it with unread bytes does not send a reset before the client read the answer.
constexpr auto kRefusalLinger = std::chrono::milliseconds(500);

// A fixed-size pool of handler threads with a bounded queue.
class WorkerPool {
 public:
  explicit WorkerPool(std::size_t threads, std::size_t max_queued) : max_queued_(max_queued) {
    for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
  }
  ~WorkerPool() { stop(); }
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // False when the queue is full (the caller sheds the request) or the pool stopped.
  bool submit(std::function<void()> job) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_ || queue_.size() >= max_queued_) return false;
      queue_.push_back(std::move(job));
    }
    cv_.notify_one();
    return true;
  }
  // Runs every job already queued, then joins the threads.
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    while (true) {
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      auto job = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      job();
      lock.lock();
    }
  }

  std::size_t max_queued_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

// Answers the connections still in the accept queue once the server stops accepting: 503 with
// Retry-After and Connection: close, then a short read of what the client sent, then close.
class QueueDrainer {
 public:
  explicit QueueDrainer(int listen_fd) : fd_(listen_fd) {
    ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
    thread_ = std::thread([this] { run(); });
  }
  // Answers what is still queued, then closes the listening socket: from then on the kernel
  // refuses connections (connection refused), it does not reset them.
  ~QueueDrainer() {
    stop_ = true;
    thread_.join();
    accept_all();
    for (auto& c : closing_) ::close(c.fd);
    ::close(fd_);
  }
  QueueDrainer(const QueueDrainer&) = delete;
  QueueDrainer& operator=(const QueueDrainer&) = delete;

 private:
  struct Closing {
    int fd;
    Clock::time_point until;
  };

  void accept_all() {
    static const std::string kBody =
        R"({"error":{"status":503,"message":"the server is shutting down; retry shortly"}})";
    static const std::string kAnswer =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
        "Connection: close\r\nContent-Length: " +
        std::to_string(kBody.size()) + "\r\n\r\n" + kBody;
    while (true) {
      const int c = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (c < 0) return;
      // A fresh socket's send buffer takes the whole answer at once.
      [[maybe_unused]] const auto sent = ::send(c, kAnswer.data(), kAnswer.size(), MSG_NOSIGNAL);
      ::shutdown(c, SHUT_WR);
      closing_.push_back({c, Clock::now() + kRefusalLinger});
    }
  }
  // Reads and discards until the client closes or its time is up.
  void linger() {
    char buf[4096];
    std::erase_if(closing_, [&](const Closing& c) {
      ssize_t n = 0;
      while ((n = ::recv(c.fd, buf, sizeof buf, 0)) > 0) {
      }
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) || Clock::now() >= c.until) {
        ::close(c.fd);
        return true;
      }
      return false;
    });
  }
  void run() {
    constexpr int kPollMs = 20;
    while (!stop_) {
      std::vector<pollfd> fds{{fd_, POLLIN, 0}};
      for (const auto& c : closing_) fds.push_back({c.fd, POLLIN, 0});
      ::poll(fds.data(), fds.size(), kPollMs);
      accept_all();
      linger();
    }
  }

  int fd_;
  std::atomic<bool> stop_{false};
  std::vector<Closing> closing_;  // touched by the thread, then by the destructor after join
  std::thread thread_;
};

// The media types httplib compressed for a client that accepts gzip; the transport keeps doing so.
bool compressible(const std::string& type) {
  if (type.starts_with("text/")) return !type.starts_with("text/event-stream");
  for (const char* t : {"image/svg+xml", "application/javascript", "application/json", "application/xml",
                        "application/xhtml+xml"}) {
    if (type.starts_with(t)) return true;
  }
  return false;
}

void gzip_if_accepted(const httplib::Request& req, httplib::Response& res) {
  if (res.body.empty() || res.has_header("Content-Encoding") ||
      !compressible(res.get_header_value("Content-Type")) ||
      req.get_header_value("Accept-Encoding").find("gzip") == std::string::npos) {
    return;
  }
  constexpr int kGzipWindowBits = 15 + 16;  // 15: the largest window; +16: a gzip header and trailer
  constexpr int kMemLevel = 8;
  z_stream z{};
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, kGzipWindowBits, kMemLevel, Z_DEFAULT_STRATEGY) !=
      Z_OK)
    return;
  std::string out(deflateBound(&z, static_cast<uLong>(res.body.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(res.body.data());
  z.avail_in = static_cast<uInt>(res.body.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const bool done = deflate(&z, Z_FINISH) == Z_STREAM_END;
  out.resize(z.total_out);
  deflateEnd(&z);
  if (!done) return;
  res.body = std::move(out);
  res.set_header("Content-Encoding", "gzip");
  res.set_header("Vary", "Accept-Encoding");
}

void log_from_microhttpd(void*, const char* format, va_list args) {
  char buf[512];
  std::vsnprintf(buf, sizeof buf, format, args);
  std::string line(buf);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  spdlog::debug("http: {}", line);
}

// A listening socket on host:port (SO_REUSEADDR only: a second server must fail to bind, not share
// the port), with a wide backlog and TCP_NODELAY for the accepted sockets to inherit.
int listen_on(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const auto service = std::to_string(port);
  if (::getaddrinfo(host.c_str(), service.c_str(), &hints, &found) != 0 || !found) {
    throw IoError("cannot listen on " + host + ":" + service + " (not an address of this machine)");
  }
  int fd = -1;
  for (auto* a = found; a && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
    if (::bind(fd, a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd, kListenBacklog) != 0) {
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(found);
  if (fd < 0) {
    throw IoError(port == 0 ? "cannot bind to any port on " + host
                            : "cannot listen on " + host + ":" + service +
                                  " (in use, or not an address of this machine)");
  }
  return fd;
}

int bound_port(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  if (addr.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
  return ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
}

}  // namespace

// One request and its answer. Created when libmicrohttpd has read the request line, freed when the
// request completes (answered, or the connection closed).
struct Exchange {
  std::string target;  // as sent: path and query, percent-encoded
  bool head_done = false;
  bool dispatched = false;
  bool answered = false;  // the response is ready (handler done, or refused)
  int refusal = 0;        // a status the transport answers itself (413 while reading the body)
  httplib::Request req;
  httplib::Response res;
};

struct HttpTransport::State {
  TransportLimits limits;
  Handler handler;
  Refusal refusal;
  MHD_Daemon* daemon = nullptr;
  int listen_fd = -1;
  std::unique_ptr<WorkerPool> pool;
  std::unique_ptr<QueueDrainer> drainer;
  std::atomic<bool> stopping{false};
  std::mutex mutex;  // guards in_flight, stopped
  std::condition_variable idle;
  std::size_t in_flight = 0;  // requests whose head arrived and that are not completed yet
  bool stopped = false;

  void refuse(Exchange& x, int status, std::string_view why) {
    x.res = httplib::Response{};
    refusal(x.req, x.res, status, why);
    x.res.status = status;
    x.answered = true;
  }
  MHD_Result respond(MHD_Connection* c, Exchange& x) {
    auto& res = x.res;
    MHD_Response* r =
        MHD_create_response_from_buffer(res.body.size(), res.body.data(), MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    for (const auto& [name, value] : res.headers) {
      if (name == "Content-Length") continue;  // libmicrohttpd writes it
      MHD_add_response_header(r, name.c_str(), value.c_str());
    }
    if (stopping) MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    const auto ok = MHD_queue_response(c, static_cast<unsigned>(res.status), r);
    MHD_destroy_response(r);
    return ok;
  }
  std::string body_too_large() const {
    return "the request body is larger than the limit of " + std::to_string(limits.max_body_bytes) + " bytes";
  }
  void begin(Exchange& x, MHD_Connection* c, const char* method, const char* version);
  MHD_Result access(MHD_Connection* c, const char* method, const char* version, const char* upload,
                    std::size_t* upload_size, void** slot);
};

void HttpTransport::State::begin(Exchange& x, MHD_Connection* c, const char* method, const char* version) {
  auto& req = x.req;
  req.method = method;
  req.version = version;
  req.target = x.target;
  const auto q = x.target.find('?');
  req.path = httplib::detail::decode_url(x.target.substr(0, q), false);
  if (q != std::string::npos) httplib::detail::parse_query_text(x.target.substr(q + 1), req.params);
  MHD_get_connection_values(
      c, MHD_HEADER_KIND,
      [](void* cls, MHD_ValueKind, const char* key, const char* value) {
        static_cast<httplib::Headers*>(cls)->emplace(key, value ? value : "");
        return MHD_YES;
      },
      &req.headers);
  if (const auto* info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS)) {
    char ip[INET6_ADDRSTRLEN] = "";
    const auto* sa = info->client_addr;
    if (sa->sa_family == AF_INET) {
      const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
      ::inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
      req.remote_port = ntohs(in->sin_port);
    } else if (sa->sa_family == AF_INET6) {
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
      ::inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
      req.remote_port = ntohs(in6->sin6_port);
    }
    req.remote_addr = ip;
  }
}

MHD_Result HttpTransport::State::access(MHD_Connection* c, const char* method, const char* version,
                                        const char* upload, std::size_t* upload_size, void** slot) {
  auto* x = static_cast<Exchange*>(*slot);
  if (!x) return MHD_NO;  // the URI callback always creates one
  if (!x->head_done) {
    x->head_done = true;
    {
      std::lock_guard lock(mutex);
      ++in_flight;
    }
    begin(*x, c, method, version);
    if (x->req.headers.size() > limits.max_header_fields) {
      refuse(*x, 431,
             "the request has more than " + std::to_string(limits.max_header_fields) + " header fields");
      return respond(c, *x);
    }
    // libmicrohttpd answers 400 itself to a Content-Length that is not a number. A body declared
    // too large is read and dropped, then refused, so that a client still sending it reads the 413
    // (as httplib did) rather than a reset; one too large even for that is refused at once.
    const auto length = x->req.get_header_value("Content-Length");
    const auto declared = length.empty() ? 0 : std::strtoull(length.c_str(), nullptr, 10);
    if (declared > limits.max_body_bytes) {
      if (declared > kMaxDroppedBytes) {
        refuse(*x, 413, body_too_large());
        return respond(c, *x);
      }
      x->refusal = 413;
    }
    return MHD_YES;
  }
  if (*upload_size > 0) {
    if (!x->refusal) {
      if (x->req.body.size() + *upload_size > limits.max_body_bytes) {
        x->refusal = 413;
        x->req.body.clear();
        x->req.body.shrink_to_fit();
      } else {
        x->req.body.append(upload, *upload_size);
      }
    }
    *upload_size = 0;
    return MHD_YES;
  }
  if (x->answered) return respond(c, *x);  // resumed after the handler, or refused
  if (x->dispatched) return MHD_YES;       // spurious call while the handler runs
  if (x->refusal) {
    refuse(*x, x->refusal, body_too_large());
    return respond(c, *x);
  }
  auto& req = x->req;
  if (req.get_header_value("Content-Type").starts_with("application/x-www-form-urlencoded")) {
    if (req.body.size() > kMaxFormBytes) {
      refuse(*x, 413,
             "the form body is larger than the limit of " + std::to_string(kMaxFormBytes) + " bytes");
      return respond(c, *x);
    }
    httplib::detail::parse_query_text(req.body, req.params);
  }
  x->dispatched = true;
  // Suspended before it is queued: the handler may resume it before submit() even returns.
  MHD_suspend_connection(c);
  const bool queued = pool->submit([this, x, c] {
    try {
      handler(x->req, x->res);
    } catch (const std::exception& e) {  // the handler renders its own errors; this is a last resort
      spdlog::error("server: unexpected error answering {} {}: {}", x->req.method, x->req.path, e.what());
      x->res = httplib::Response{};
      x->res.status = 500;
      x->res.set_content(R"({"error":{"status":500,"message":"internal error"}})", "application/json");
    }
    gzip_if_accepted(x->req, x->res);
    x->answered = true;
    MHD_resume_connection(c);  // x may be gone from here on
  });
  if (!queued) {
    refuse(*x, 503, "the server is busy; retry shortly");
    x->res.set_header("Retry-After", "1");
    MHD_resume_connection(c);
  }
  return MHD_YES;
}

HttpTransport::HttpTransport(TransportLimits limits, Handler handler, Refusal refusal)
    : state_(std::make_unique<State>()) {
  state_->limits = limits;
  state_->handler = std::move(handler);
  state_->refusal = std::move(refusal);
}

HttpTransport::~HttpTransport() {
  stop(std::chrono::milliseconds(0));
}

int HttpTransport::start(const std::string& host, int port) {
  auto& s = *state_;
  if (s.daemon || s.stopped) throw InvalidArgument("the server was already started");
  s.listen_fd = listen_on(host, port);
  const int bound = bound_port(s.listen_fd);
  s.pool = std::make_unique<WorkerPool>(s.limits.threads, s.limits.max_queued);

  const auto on_uri = [](void*, const char* uri, MHD_Connection*) -> void* {
    auto* x = new Exchange;
    x->target = uri;
    return x;
  };
  const auto on_completed = [](void* cls, MHD_Connection*, void** slot, MHD_RequestTerminationCode) {
    auto* st = static_cast<State*>(cls);
    auto* x = static_cast<Exchange*>(*slot);
    if (!x) return;
    if (x->head_done) {
      std::lock_guard lock(st->mutex);
      --st->in_flight;
      st->idle.notify_all();
    }
    delete x;
    *slot = nullptr;
  };
  const auto on_request = [](void* cls, MHD_Connection* c, const char*, const char* method,
                             const char* version, const char* upload, std::size_t* upload_size,
                             void** slot) -> MHD_Result {
    return static_cast<State*>(cls)->access(c, method, version, upload, upload_size, slot);
  };
  const unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
  // The logger first: libmicrohttpd logs the options that come before it to stderr.
  s.daemon = MHD_start_daemon(
      flags, 0, nullptr, nullptr, +on_request, &s, MHD_OPTION_EXTERNAL_LOGGER, &log_from_microhttpd, nullptr,
      MHD_OPTION_LISTEN_SOCKET, static_cast<MHD_socket>(s.listen_fd), MHD_OPTION_CONNECTION_LIMIT,
      static_cast<unsigned>(s.limits.max_connections), MHD_OPTION_CONNECTION_TIMEOUT,
      static_cast<unsigned>(s.limits.idle_timeout.count()), MHD_OPTION_CONNECTION_MEMORY_LIMIT,
      static_cast<std::size_t>(s.limits.connection_memory), MHD_OPTION_URI_LOG_CALLBACK, +on_uri, nullptr,
      MHD_OPTION_NOTIFY_COMPLETED, static_cast<MHD_RequestCompletedCallback>(+on_completed), &s,
      MHD_OPTION_END);
  if (!s.daemon) {
    s.pool->stop();
    ::close(s.listen_fd);
    s.listen_fd = -1;
    throw IoError("cannot start the HTTP server on " + host + ":" + std::to_string(bound));
  }
  return bound;
}

void HttpTransport::stop(std::chrono::milliseconds grace) {
  auto& s = *state_;
  if (!s.daemon) return;
  s.stopping = true;
  // From here libmicrohttpd accepts nothing; the drainer answers what waits in the accept queue.
  const auto fd = MHD_quiesce_daemon(s.daemon);
  if (fd != MHD_INVALID_SOCKET) s.drainer = std::make_unique<QueueDrainer>(fd);
  {
    std::unique_lock lock(s.mutex);
    if (!s.idle.wait_for(lock, grace, [&] { return s.in_flight == 0; })) {
      spdlog::warn("{} request{} still in flight after the grace period of {} ms: closing", s.in_flight,
                   s.in_flight == 1 ? "" : "s", grace.count());
    }
  }
  s.pool->stop();  // handlers already running finish, so no connection is resumed after this
  MHD_stop_daemon(s.daemon);
  s.daemon = nullptr;
  s.drainer.reset();  // closes the listening socket
  if (fd == MHD_INVALID_SOCKET) ::close(s.listen_fd);
  s.listen_fd = -1;
  std::lock_guard lock(s.mutex);
  s.stopped = true;
}

bool HttpTransport::running() const {
  return state_->daemon && !state_->stopping;
}

}  // namespace cinefactor::server
