#include <fmt/format.h>

#include "server/server_internal.hpp"

namespace cinefactor::server {
namespace {

// Prometheus label values escape backslash, double quote and newline.
std::string label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string number(double v) {
  return fmt::format("{}", v);
}

}  // namespace

void Metrics::observe(std::string_view route, std::string_view method, int status, double seconds) {
  std::lock_guard lock(mutex_);
  ++requests_[{std::string(route), std::string(method), status}];
  auto& h = latency_[std::string(route)];
  for (std::size_t i = 0; i < kLatencyBuckets.size(); ++i) {
    if (seconds <= kLatencyBuckets[i]) {
      ++h.buckets[i];
      break;
    }
  }
  ++h.count;
  h.sum += seconds;
}

std::string Metrics::render(const ModelRegistry::Snapshot& models, const TmdbStats& tmdb) const {
  std::string out;
  {
    std::lock_guard lock(mutex_);
    out += "# HELP cinefactor_http_requests_total HTTP requests answered, by route, method and status.\n";
    out += "# TYPE cinefactor_http_requests_total counter\n";
    for (const auto& [key, count] : requests_) {
      const auto& [route, method, status] = key;
      out += fmt::format("cinefactor_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{}\"}} {}\n",
                         label(route), label(method), status, count);
    }
    out +=
        "# HELP cinefactor_http_request_duration_seconds Time from routing to the response written, by "
        "route.\n";
    out += "# TYPE cinefactor_http_request_duration_seconds histogram\n";
    for (const auto& [route, h] : latency_) {
      std::int64_t cumulative = 0;
      for (std::size_t i = 0; i < kLatencyBuckets.size(); ++i) {
        cumulative += h.buckets[i];
        out += fmt::format("cinefactor_http_request_duration_seconds_bucket{{route=\"{}\",le=\"{}\"}} {}\n",
                           label(route), number(kLatencyBuckets[i]), cumulative);
      }
      out += fmt::format("cinefactor_http_request_duration_seconds_bucket{{route=\"{}\",le=\"+Inf\"}} {}\n",
                         label(route), h.count);
      out += fmt::format("cinefactor_http_request_duration_seconds_sum{{route=\"{}\"}} {}\n", label(route),
                         number(h.sum));
      out += fmt::format("cinefactor_http_request_duration_seconds_count{{route=\"{}\"}} {}\n", label(route),
                         h.count);
    }
  }
  out += "# HELP cinefactor_model_info The loaded models (value 1), described by their labels.\n";
  out += "# TYPE cinefactor_model_info gauge\n";
  for (const auto& m : *models) {
    out += fmt::format(
        "cinefactor_model_info{{name=\"{}\",algorithm=\"{}\",rank=\"{}\",users=\"{}\",movies=\"{}\","
        "fingerprint=\"{:016x}\"}} 1\n",
        label(m.name), label(algorithm_name(m.model->algorithm)), m.model->rank(), m.model->n_users(),
        m.model->n_movies(), m.model->data_fingerprint);
  }
  out += "# HELP cinefactor_models_loaded Number of loaded models.\n";
  out += "# TYPE cinefactor_models_loaded gauge\n";
  out += fmt::format("cinefactor_models_loaded {}\n", models->size());
  out += "# HELP cinefactor_tmdb_requests_total HTTP requests sent to TMDB.\n";
  out += "# TYPE cinefactor_tmdb_requests_total counter\n";
  out += fmt::format("cinefactor_tmdb_requests_total {}\n", tmdb.http_requests);
  out += "# HELP cinefactor_tmdb_cache_hits_total Poster look-ups answered from the cache.\n";
  out += "# TYPE cinefactor_tmdb_cache_hits_total counter\n";
  out += fmt::format("cinefactor_tmdb_cache_hits_total {}\n", tmdb.cache_hits);
  out += "# HELP cinefactor_tmdb_timeouts_total Look-ups answered with placeholders because TMDB was slow.\n";
  out += "# TYPE cinefactor_tmdb_timeouts_total counter\n";
  out += fmt::format("cinefactor_tmdb_timeouts_total {}\n", tmdb.timeouts);
  out +=
      "# HELP cinefactor_tmdb_failures_total Look-ups that failed (not counting movies TMDB does not "
      "know).\n";
  out += "# TYPE cinefactor_tmdb_failures_total counter\n";
  out += fmt::format("cinefactor_tmdb_failures_total {}\n", tmdb.failures);
  return out;
}

}  // namespace cinefactor::server
