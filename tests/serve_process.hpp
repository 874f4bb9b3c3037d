// `cinefactor serve` as a child process for the tests that need the real binary: its stdout and
// stderr (the log) are read into output() by a thread, so the child never blocks on a full pipe.
// Also raw loopback connections, for what httplib::Client will not send (a negative Content-Length,
// a million header fields, a byte per second).
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <mutex>
#include <regex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace cinefactor::test {

// A running `cinefactor serve ARGS`, killed at scope exit if still alive.
class ServeProcess {
 public:
  explicit ServeProcess(const std::vector<std::string>& args) {
    // httplib 0.11's client writes without MSG_NOSIGNAL: a request sent as the server closes its
    // connection (it is stopping) must fail that request, not kill the test with SIGPIPE.
    ::signal(SIGPIPE, SIG_IGN);
    int out[2];
    if (::pipe(out) != 0) throw std::runtime_error("pipe failed");
    pid_ = ::fork();
    if (pid_ == 0) {
      ::signal(SIGPIPE, SIG_DFL);  // the server runs as it would anywhere
      ::dup2(out[1], STDOUT_FILENO);
      ::dup2(out[1], STDERR_FILENO);
      ::close(out[0]);
      ::close(out[1]);
      std::vector<std::string> all{CINEFACTOR_BINARY, "serve"};
      all.insert(all.end(), args.begin(), args.end());
      std::vector<char*> argv;
      for (auto& a : all) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(CINEFACTOR_BINARY, argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    reader_ = std::thread([this, fd = out[0]] {
      char buf[4096];
      ssize_t n = 0;
      while ((n = ::read(fd, buf, sizeof buf)) > 0) {
        std::lock_guard lock(mutex_);
        output_.append(buf, static_cast<std::size_t>(n));
      }
      ::close(fd);
    });
  }
  ~ServeProcess() {
    if (pid_ > 0 && exit_code_ < 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    reader_.join();  // the pipe closes with the child
  }
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  // The port from the "serving ... on http://127.0.0.1:PORT/" line (0 when it did not come in time).
  int wait_for_port(std::chrono::seconds timeout = std::chrono::seconds(60)) {
    std::smatch m;
    const auto text = wait_for(R"(http://127\.0\.0\.1:([0-9]+)/)", timeout);
    static const std::regex re(R"(http://127\.0\.0\.1:([0-9]+)/)");
    return std::regex_search(text, m, re) ? std::stoi(m[1].str()) : 0;
  }
  // Waits until the output contains a match of `pattern`; returns the output (empty on timeout).
  std::string wait_for(const std::string& pattern, std::chrono::milliseconds timeout) {
    const std::regex re(pattern);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      const auto text = output();
      if (std::regex_search(text, re)) return text;
      if (exited()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return {};
  }
  void signal(int sig) { ::kill(pid_, sig); }
  pid_t pid() const { return pid_; }
  // Resident memory of the child in KiB (VmRSS), -1 when it cannot be read.
  long rss_kib() const {
    std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
    std::string line;
    while (std::getline(in, line)) {
      if (line.starts_with("VmRSS:")) return std::stol(line.substr(6));
    }
    return -1;
  }
  // The exit code, or -1 when it does not exit in time.
  int wait_exit(std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (exit_code_ < 0 && std::chrono::steady_clock::now() < deadline) {
      if (!exited()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return exit_code_;
  }
  std::string output() const {
    std::lock_guard lock(mutex_);
    return output_;
  }

 private:
  bool exited() {
    if (exit_code_ >= 0) return true;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) != pid_) return false;
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return true;
  }

  pid_t pid_ = -1;
  int exit_code_ = -1;
  mutable std::mutex mutex_;
  std::string output_;
  std::thread reader_;
};

// One TCP connection to 127.0.0.1:port, closed by the destructor.
class RawConnection {
 public:
  // An HTTP response as read off the wire; status 0 when none came (error says why: 0 = timeout or
  // the peer closed before answering, else the errno, e.g. ECONNRESET).
  struct Reply {
    int status = 0;
    int error = 0;
    std::string head;
    std::string body;
  };

  explicit RawConnection(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      connect_error_ = errno;
      ::close(fd_);
      fd_ = -1;
    }
    int yes = 1;
    if (fd_ >= 0) ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
  }
  ~RawConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return fd_ >= 0; }
  int connect_error() const { return connect_error_; }
  // False when the peer closed or reset the connection.
  bool send_all(std::string_view data) {
    while (!data.empty()) {
      const auto n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  // True when the peer has sent something (or closed) within `timeout`.
  bool readable(std::chrono::milliseconds timeout) const {
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(timeout.count())) > 0;
  }
  // Reads one response: the head, then Content-Length bytes of body.
  Reply read_response(std::chrono::milliseconds timeout) {
    Reply r;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::size_t head_end = std::string::npos;
    std::size_t length = 0;
    while (true) {
      if (head_end == std::string::npos) {
        head_end = buffer_.find("\r\n\r\n");
        if (head_end != std::string::npos) {
          r.head = buffer_.substr(0, head_end + 4);
          r.status = std::stoi(r.head.substr(9, 3));
          static const std::regex kLength(R"(\r\n[Cc]ontent-[Ll]ength: *([0-9]+))");
          std::smatch m;
          if (std::regex_search(r.head, m, kLength)) length = std::stoul(m[1].str());
        }
      }
      if (head_end != std::string::npos && buffer_.size() >= head_end + 4 + length) {
        r.body = buffer_.substr(head_end + 4, length);
        buffer_.erase(0, head_end + 4 + length);
        return r;
      }
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !readable(left)) break;
      char buf[65536];
      const auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n < 0) r.error = errno;
      if (n <= 0) break;
      buffer_.append(buf, static_cast<std::size_t>(n));
    }
    r.status = 0;
    return r;
  }

 private:
  int fd_ = -1;
  int connect_error_ = 0;
  std::string buffer_;
};

}  // namespace cinefactor::test
