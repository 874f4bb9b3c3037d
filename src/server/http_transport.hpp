// The server's HTTP transport: GNU libmicrohttpd reads requests on one epoll thread, and only a
// request that has fully arrived (head and body) takes one of the handler threads. Idle keep-alive
// connections and clients that send slowly cost a connection slot and at most `connection_memory`
// bytes, never a handler thread, so they cannot delay anyone else. Requests are handed to the
// handlers as httplib::Request / httplib::Response, which the route handlers already speak.
// Not a public header: it includes httplib.
#pragma once

#include <httplib.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace cinefactor::server {

struct TransportLimits {
  std::size_t threads = 8;                // handler threads
  std::size_t max_queued = 512;           // complete requests waiting for a handler; more get 503
  std::size_t max_connections = 1000;     // open connections; more wait in the kernel's accept queue
  std::size_t connection_memory = 32768;  // request line + header fields of one connection
  std::size_t max_header_fields = 100;    // more get 431
  std::size_t max_body_bytes = 65536;     // larger bodies get 413
  std::chrono::seconds idle_timeout{5};   // a connection with no bytes moving for this long is closed
};

class HttpTransport {
 public:
  // Answers a request on a handler thread; `res` carries no status yet (-1).
  using Handler = std::function<void(httplib::Request& req, httplib::Response& res)>;
  // Fills `res` for a request the transport refuses itself (413, 431, 503), on the transport's thread.
  using Refusal = std::function<void(const httplib::Request& req, httplib::Response& res, int status,
                                     std::string_view why)>;

  HttpTransport(TransportLimits limits, Handler handler, Refusal refusal);
  ~HttpTransport();  // stop(0)
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  // Binds host:port (any free port when 0) and starts serving; returns the bound port. IoError when
  // it cannot bind.
  int start(const std::string& host, int port);
  // Stops accepting; connections still in the accept queue are answered 503 with Retry-After and
  // Connection: close; requests already received are answered (new requests on open connections
  // too, with Connection: close) until none is left or `grace` has passed; then every connection
  // is closed and the listening socket too. Safe to call twice; blocks until done.
  void stop(std::chrono::milliseconds grace);
  bool running() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace cinefactor::server
