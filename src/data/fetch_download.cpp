// Downloading over HTTP(S) with cpp-httplib: URL checks, redirects, timeouts, certificate
// verification, and errors that say what happened.
#include <fmt/format.h>
#include <httplib.h>
#include <openssl/x509.h>

#include <cstdlib>
#include <exception>

#include "cinefactor/error.hpp"
#include "cinefactor/fetch.hpp"
#include "cinefactor/progress.hpp"
#include "core/atomic_file.hpp"
#include "data/fetch_steps.hpp"

namespace cinefactor {
namespace detail {

UrlParts split_url(const std::string& url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) throw InvalidArgument("not a URL: " + url);
  const auto scheme = url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") {
    throw InvalidArgument("unsupported URL scheme '" + scheme + "' in " + url + " (expected http or https)");
  }
  const auto path_start = url.find('/', scheme_end + 3);
  UrlParts parts;
  parts.origin = url.substr(0, path_start);
  parts.path = path_start == std::string::npos ? "/" : url.substr(path_start);
  if (parts.origin.size() == scheme_end + 3) throw InvalidArgument("no host in URL " + url);
  return parts;
}

}  // namespace detail

namespace {

namespace fs = std::filesystem;

constexpr int kHttpOk = 200;

// httplib names its errors tersely ("Connection"); say what happened.
std::string http_error_text(httplib::Error error, const std::string& origin, const DownloadOptions& options) {
  switch (error) {
    case httplib::Error::Connection:
      return "cannot connect to " + origin + " (no network, unknown host or connection refused)";
    case httplib::Error::ConnectionTimeout:
      return fmt::format("no connection to {} within {} s", origin, options.connect_timeout_s);
    case httplib::Error::Read:
      return fmt::format("connection lost or no data for {} s while receiving", options.read_timeout_s);
    case httplib::Error::Write:
      return "connection lost while sending the request";
    case httplib::Error::ExceedRedirectCount:
      return "too many redirects";
    case httplib::Error::SSLConnection:
      return "TLS handshake failed";
    case httplib::Error::SSLLoadingCerts:
      return "cannot load CA certificates from " + options.ca_bundle;
    case httplib::Error::SSLServerVerification:
      return "the server certificate does not verify";
    default:
      return "HTTP client error: " + httplib::to_string(error);
  }
}

}  // namespace

std::int64_t download_file(const std::string& url, const fs::path& dest, const DownloadOptions& options) {
  const auto fail = [&](const std::string& reason) {
    return IoError("cannot download " + url + ": " + reason);
  };
  detail::UrlParts parts;
  try {
    parts = detail::split_url(url);
  } catch (const InvalidArgument& e) {
    throw fail(e.what());
  }
  httplib::Client client(parts.origin);
  if (!client.is_valid()) throw fail("this build cannot open " + parts.origin);
  client.set_follow_location(true);
  client.set_connection_timeout(options.connect_timeout_s);
  client.set_read_timeout(options.read_timeout_s);
  client.set_ca_cert_path(options.ca_bundle);
  client.enable_server_certificate_verification(true);

  ScopedPath guard(dest);  // declared first: the file is closed before it is removed
  SyncedFile out(dest);
  const auto file_name = url.substr(url.rfind('/') + 1);
  Progress progress("downloading " + file_name, options.expected_bytes, "B");
  int status = 0;
  std::int64_t content_length = -1;
  std::int64_t written = 0;
  std::exception_ptr write_error;  // thrown again once httplib has returned
  const auto result = client.Get(
      parts.path, httplib::Headers{},
      [&](const httplib::Response& response) {
        status = response.status;
        if (status != kHttpOk) return false;
        if (response.has_header("Content-Length")) {
          content_length = std::strtoll(response.get_header_value("Content-Length").c_str(), nullptr, 10);
          progress.set_total(content_length);
        }
        return true;
      },
      [&](const char* data, std::size_t length) {
        try {
          out.write({data, length});
        } catch (const IoError&) {
          write_error = std::current_exception();
          return false;
        }
        written += static_cast<std::int64_t>(length);
        progress.advance(static_cast<std::int64_t>(length));
        return true;
      });
  progress.finish();
  if (write_error) std::rethrow_exception(write_error);
  if (status != 0 && status != kHttpOk) throw fail(fmt::format("HTTP status {}", status));
  if (!result) {
    std::string reason = http_error_text(result.error(), parts.origin, options);
    if (result.error() == httplib::Error::SSLServerVerification) {
      reason += fmt::format(" ({})", X509_verify_cert_error_string(client.get_openssl_verify_result()));
    }
    if (written > 0) reason += fmt::format(" after {} bytes", written);
    throw fail(reason);
  }
  if (content_length >= 0 && written != content_length) {
    throw fail(fmt::format("truncated: received {} of {} bytes", written, content_length));
  }
  out.close();
  guard.release();
  return written;
}

}  // namespace cinefactor
