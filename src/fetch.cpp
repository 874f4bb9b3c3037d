#include "cinefactor/fetch.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <httplib.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <system_error>

#include "cinefactor/atomic_file.hpp"
#include "cinefactor/error.hpp"
#include "cinefactor/progress.hpp"

#include "embedded.hpp"

namespace cinefactor {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kIoChunk = std::size_t{1} << 20;  // bytes per read/write in streaming loops
constexpr std::int64_t kProgressThreshold = std::int64_t{32} << 20;  // smaller files hash without a bar
constexpr std::size_t kMd5HexDigits = 32;
constexpr const char* kRegistryFormat = "cinefactor-movielens-registry";
constexpr int kRegistryVersion = 1;
constexpr const char* kBaseUrlEnv = "CINEFACTOR_MOVIELENS_URL";
constexpr int kHttpOk = 200;

std::string errno_text(int err) {
  return std::strerror(err);
}

// A path removed (recursively) at scope exit unless released: temporaries of a fetch.
class ScopedPath {
 public:
  explicit ScopedPath(fs::path path) : path_(std::move(path)) {}
  ~ScopedPath() {
    if (path_.empty()) return;
    std::error_code ec;
    fs::remove_all(path_, ec);
    if (ec) spdlog::warn("cannot remove {}: {}", path_.string(), ec.message());
  }
  ScopedPath(const ScopedPath&) = delete;
  ScopedPath& operator=(const ScopedPath&) = delete;
  const fs::path& path() const { return path_; }
  // Keeps the path: the temporary became a result.
  void release() { path_.clear(); }

 private:
  fs::path path_;
};

struct FileCloser {
  void operator()(std::FILE* f) const {
    if (f != nullptr) std::fclose(f);
  }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

// Flushes, fsyncs and closes; throws IoError naming `path` on failure.
void close_synced(FilePtr file, const fs::path& path) {
  std::FILE* f = file.release();
  bool ok = std::fflush(f) == 0;
  int err = errno;
  if (ok && ::fsync(fileno(f)) != 0) {
    ok = false;
    err = errno;
  }
  if (std::fclose(f) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (!ok) throw IoError("cannot write " + path.string() + ": " + errno_text(err));
}

bool is_lower_hex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// A relative path made of plain components: no "", ".", ".." component, no backslash, not absolute.
bool is_plain_relative(std::string_view path) {
  if (path.empty() || path.front() == '/' || path.find('\\') != std::string_view::npos) return false;
  std::size_t start = 0;
  while (start <= path.size()) {
    const auto end = std::min(path.find('/', start), path.size());
    const auto part = path.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  return true;
}

bool is_dataset_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_' || c == '.')) {
      return false;
    }
  }
  return name.front() != '.';
}

std::string required_string(const nlohmann::json& entry, const char* key, const std::string& where) {
  if (!entry.contains(key) || !entry[key].is_string()) {
    throw FormatError(fmt::format("{}: \"{}\" must be a string", where, key));
  }
  return entry[key].get<std::string>();
}

struct UrlParts {
  std::string origin;  // scheme://host[:port]
  std::string path;    // /... (at least "/")
};

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

std::string effective_url(const DatasetSpec& spec, const std::string& base_override) {
  std::string base = base_override;
  if (base.empty()) {
    if (const char* env = std::getenv(kBaseUrlEnv)) base = env;
  }
  if (base.empty()) return spec.url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  const auto slash = spec.url.rfind('/');
  return base + "/" + spec.url.substr(slash == std::string::npos ? 0 : slash + 1);
}

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

bool process_alive(pid_t pid) {
  return ::kill(pid, 0) == 0 || errno == EPERM;
}

// The PID in a temporary name "<prefix><digits>", or 0 when `file_name` is not one.
pid_t temp_owner(const std::string& file_name, const std::string& prefix) {
  if (file_name.size() <= prefix.size() || file_name.compare(0, prefix.size(), prefix) != 0) return 0;
  long long pid = 0;
  for (std::size_t i = prefix.size(); i < file_name.size(); ++i) {
    const char c = file_name[i];
    if (c < '0' || c > '9' || pid > 1'000'000'000LL) return 0;
    pid = pid * 10 + (c - '0');
  }
  return static_cast<pid_t>(pid);
}

std::string pid_suffix() {
  return std::to_string(::getpid());
}

class ZipArchive {
 public:
  explicit ZipArchive(const fs::path& path) : path_(path) {
    int err = 0;
    zip_ = zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &err);
    if (zip_ == nullptr) {
      zip_error_t error;
      zip_error_init_with_code(&error, err);
      const std::string message = zip_error_strerror(&error);
      zip_error_fini(&error);
      throw FormatError(path.string() + ": not a readable zip archive: " + message);
    }
  }
  ~ZipArchive() { zip_discard(zip_); }
  ZipArchive(const ZipArchive&) = delete;
  ZipArchive& operator=(const ZipArchive&) = delete;
  zip_t* get() const { return zip_; }
  std::string error() const { return zip_strerror(zip_); }

 private:
  fs::path path_;
  zip_t* zip_ = nullptr;
};

struct ZipEntry {
  zip_uint64_t index = 0;
  std::string name;
  bool directory = false;
  std::int64_t size = 0;
};

// Lists and checks every entry before anything is written: a zip-slip entry aborts the whole unpack.
std::vector<ZipEntry> safe_entries(const ZipArchive& archive, const fs::path& zip) {
  const zip_int64_t count = zip_get_num_entries(archive.get(), 0);
  if (count < 0) throw FormatError(zip.string() + ": cannot list entries: " + archive.error());
  std::vector<ZipEntry> entries;
  std::set<std::string> seen;
  for (zip_uint64_t i = 0; i < static_cast<zip_uint64_t>(count); ++i) {
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(archive.get(), i, 0, &st) != 0 || (st.valid & ZIP_STAT_NAME) == 0) {
      throw FormatError(fmt::format("{}: cannot read entry {}: {}", zip.string(), i, archive.error()));
    }
    ZipEntry entry;
    entry.index = i;
    entry.name = st.name;
    entry.size = (st.valid & ZIP_STAT_SIZE) != 0 ? static_cast<std::int64_t>(st.size) : 0;
    const auto unsafe = [&](const std::string& why) {
      return FormatError(
          fmt::format("{}: unsafe entry \"{}\": {}; nothing was unpacked", zip.string(), entry.name, why));
    };
    std::string_view name = entry.name;
    if (!name.empty() && name.back() == '/') {
      entry.directory = true;
      name.remove_suffix(1);
    }
    if (!name.empty() && name.front() == '/') throw unsafe("absolute path");
    if (name.find('\\') != std::string_view::npos) throw unsafe("backslash in path");
    if (!is_plain_relative(name)) throw unsafe("empty, '.' or '..' path component");
    zip_uint8_t opsys = 0;
    zip_uint32_t attributes = 0;
    if (zip_file_get_external_attributes(archive.get(), i, 0, &opsys, &attributes) != 0) {
      throw FormatError(
          fmt::format("{}: cannot read attributes of \"{}\": {}", zip.string(), entry.name, archive.error()));
    }
    if (opsys == ZIP_OPSYS_UNIX) {
      // Unix zips keep st_mode in the high 16 bits of the external attributes.
      constexpr int kModeShift = 16;
      const auto type = static_cast<mode_t>(attributes >> kModeShift) & S_IFMT;
      if (type == S_IFLNK) throw unsafe("symbolic link");
      if (type != 0 && type != S_IFREG && type != S_IFDIR) throw unsafe("not a regular file or directory");
      if (type == S_IFDIR) entry.directory = true;
    }
    if (!seen.insert(std::string(name)).second) throw unsafe("duplicate entry");
    entries.push_back(std::move(entry));
  }
  return entries;
}

void fsync_dir_tree(const fs::path& root) {
  for (const auto& item : fs::recursive_directory_iterator(root)) {
    if (item.is_directory()) fsync_path(item.path());
  }
  fsync_path(root);
}

}  // namespace

const DatasetSpec* DatasetRegistry::find(std::string_view name) const {
  for (const auto& spec : datasets) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

std::string DatasetRegistry::names() const {
  std::string out;
  for (const auto& spec : datasets) out += (out.empty() ? "" : ", ") + spec.name;
  return out;
}

DatasetRegistry parse_registry(std::string_view json_text, const std::string& source) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::parse_error& e) {
    throw FormatError(source + ": not valid JSON: " + e.what());
  }
  if (!doc.is_object() || doc.value("format", "") != kRegistryFormat) {
    throw FormatError(
        fmt::format("{}: not a dataset registry (expected \"format\": \"{}\")", source, kRegistryFormat));
  }
  if (!doc.contains("version") || !doc["version"].is_number_integer() ||
      doc["version"].get<int>() != kRegistryVersion) {
    throw FormatError(
        fmt::format("{}: unsupported registry version (expected {})", source, kRegistryVersion));
  }
  if (!doc.contains("datasets") || !doc["datasets"].is_array()) {
    throw FormatError(source + ": \"datasets\" must be an array");
  }
  DatasetRegistry registry;
  registry.license = doc.value("license", "");
  std::size_t position = 0;
  for (const auto& entry : doc["datasets"]) {
    const auto where = fmt::format("{}: datasets[{}]", source, position++);
    if (!entry.is_object()) throw FormatError(where + ": must be an object");
    DatasetSpec spec;
    spec.name = required_string(entry, "name", where);
    const auto named = fmt::format("{} ({})", where, spec.name);
    if (!is_dataset_name(spec.name))
      throw FormatError(named + ": \"name\" must be letters, digits, '-', '_' or '.'");
    if (registry.find(spec.name) != nullptr) throw FormatError(named + ": duplicate name");
    spec.url = required_string(entry, "url", named);
    try {
      split_url(spec.url);
    } catch (const InvalidArgument& e) {
      throw FormatError(named + ": " + e.what());
    }
    // An unknown checksum is written as null or "": fetching that dataset then refuses to run.
    if (entry.contains("md5") && !entry["md5"].is_null()) spec.md5 = required_string(entry, "md5", named);
    if (!spec.md5.empty() && (spec.md5.size() != kMd5HexDigits || !is_lower_hex(spec.md5))) {
      throw FormatError(named + ": \"md5\" must be 32 lowercase hex digits");
    }
    spec.folder = required_string(entry, "folder", named);
    if (!is_plain_relative(spec.folder) || spec.folder.find('/') != std::string::npos) {
      throw FormatError(named + ": \"folder\" must be one plain path component");
    }
    if (!entry.contains("files") || !entry["files"].is_array() || entry["files"].empty()) {
      throw FormatError(named + ": \"files\" must be a non-empty array");
    }
    for (const auto& file : entry["files"]) {
      if (!file.is_string() || !is_plain_relative(file.get<std::string>())) {
        throw FormatError(named + ": \"files\" must hold relative paths without '..'");
      }
      spec.files.push_back(file.get<std::string>());
    }
    if (entry.contains("approx_bytes")) {
      if (!entry["approx_bytes"].is_number_integer() || entry["approx_bytes"].get<std::int64_t>() < 0) {
        throw FormatError(named + ": \"approx_bytes\" must be a non-negative integer");
      }
      spec.approx_bytes = entry["approx_bytes"].get<std::int64_t>();
    }
    spec.description = entry.value("description", "");
    registry.datasets.push_back(std::move(spec));
  }
  return registry;
}

DatasetRegistry load_registry(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError("cannot open dataset registry " + path.string() + ": " + errno_text(errno));
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) throw IoError("cannot read dataset registry " + path.string());
  return parse_registry(text, path.string());
}

std::string_view embedded_registry_text() {
  const auto* entry = detail::find_embedded(detail::kDataFiles, detail::kDataFilesCount, "movielens.json");
  if (entry == nullptr) throw Error("the dataset registry was not embedded into this build");
  return detail::embedded_bytes(*entry);
}

const DatasetRegistry& builtin_registry() {
  static const DatasetRegistry registry =
      parse_registry(embedded_registry_text(), "datasets/movielens.json (built in)");
  return registry;
}

std::string md5_file(const fs::path& path, bool show_progress) {
  FilePtr file(std::fopen(path.c_str(), "rb"));
  if (!file) throw IoError("cannot open " + path.string() + ": " + errno_text(errno));
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_md5(), nullptr) != 1)
    throw Error("OpenSSL cannot compute MD5");
  std::error_code ec;
  const auto size = static_cast<std::int64_t>(fs::file_size(path, ec));
  std::optional<Progress> progress;
  if (show_progress && !ec && size >= kProgressThreshold) progress.emplace("verifying MD5", size, "B");
  std::vector<unsigned char> buffer(kIoChunk);
  while (true) {
    const std::size_t n = std::fread(buffer.data(), 1, buffer.size(), file.get());
    if (n > 0 && EVP_DigestUpdate(ctx.get(), buffer.data(), n) != 1)
      throw Error("OpenSSL cannot compute MD5");
    if (progress) progress->advance(static_cast<std::int64_t>(n));
    if (n < buffer.size()) break;
  }
  if (std::ferror(file.get()) != 0) throw IoError("cannot read " + path.string() + ": " + errno_text(errno));
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_size = 0;
  if (EVP_DigestFinal_ex(ctx.get(), digest, &digest_size) != 1) throw Error("OpenSSL cannot compute MD5");
  if (progress) progress->finish();
  std::string hex;
  for (unsigned int i = 0; i < digest_size; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

std::int64_t download_file(const std::string& url, const fs::path& dest, const DownloadOptions& options) {
  const auto fail = [&](const std::string& reason) {
    return IoError("cannot download " + url + ": " + reason);
  };
  UrlParts parts;
  try {
    parts = split_url(url);
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

  ScopedPath guard(dest);
  FilePtr out(std::fopen(dest.c_str(), "wb"));
  if (!out) throw IoError("cannot create " + dest.string() + ": " + errno_text(errno));
  const auto file_name = url.substr(url.rfind('/') + 1);
  Progress progress("downloading " + file_name, options.expected_bytes, "B");
  int status = 0;
  std::int64_t content_length = -1;
  std::int64_t written = 0;
  int write_errno = 0;
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
        if (std::fwrite(data, 1, length, out.get()) != length) {
          write_errno = errno;
          return false;
        }
        written += static_cast<std::int64_t>(length);
        progress.advance(static_cast<std::int64_t>(length));
        return true;
      });
  progress.finish();
  if (write_errno != 0) throw IoError("cannot write " + dest.string() + ": " + errno_text(write_errno));
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
  close_synced(std::move(out), dest);
  guard.release();
  return written;
}

std::int64_t unpack_zip(const fs::path& zip, const fs::path& dest, const std::string& progress_label) {
  const ZipArchive archive(zip);
  const auto entries = safe_entries(archive, zip);
  std::int64_t total = 0;
  for (const auto& entry : entries) total += entry.size;
  std::optional<Progress> progress;
  if (!progress_label.empty()) progress.emplace(progress_label, total, "B");
  std::vector<char> buffer(kIoChunk);
  std::int64_t written = 0;
  for (const auto& entry : entries) {
    const fs::path target = dest / entry.name;
    std::error_code ec;
    if (entry.directory) {
      fs::create_directories(target, ec);
      if (ec) throw IoError("cannot create " + target.string() + ": " + ec.message());
      continue;
    }
    fs::create_directories(target.parent_path(), ec);
    if (ec) throw IoError("cannot create " + target.parent_path().string() + ": " + ec.message());
    std::unique_ptr<zip_file_t, decltype(&zip_fclose)> in(zip_fopen_index(archive.get(), entry.index, 0),
                                                          &zip_fclose);
    if (!in)
      throw FormatError(
          fmt::format("{}: cannot open entry \"{}\": {}", zip.string(), entry.name, archive.error()));
    // "x": never follow or overwrite anything already there.
    FilePtr out(std::fopen(target.c_str(), "wbx"));
    if (!out) throw IoError("cannot create " + target.string() + ": " + errno_text(errno));
    std::int64_t entry_bytes = 0;
    while (true) {
      const zip_int64_t n = zip_fread(in.get(), buffer.data(), buffer.size());
      if (n < 0) {
        throw FormatError(fmt::format("{}: cannot read entry \"{}\": {}", zip.string(), entry.name,
                                      zip_file_strerror(in.get())));
      }
      if (n == 0) break;
      if (std::fwrite(buffer.data(), 1, static_cast<std::size_t>(n), out.get()) !=
          static_cast<std::size_t>(n)) {
        throw IoError("cannot write " + target.string() + ": " + errno_text(errno));
      }
      entry_bytes += n;
      if (progress) progress->advance(n);
    }
    if (entry_bytes != entry.size) {
      throw FormatError(fmt::format("{}: entry \"{}\" holds {} bytes, its header says {}", zip.string(),
                                    entry.name, entry_bytes, entry.size));
    }
    close_synced(std::move(out), target);
    written += entry_bytes;
  }
  if (progress) progress->finish();
  fsync_dir_tree(dest);
  return written;
}

bool dataset_complete(const DatasetSpec& spec, const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return false;
  for (const auto& file : spec.files) {
    if (!fs::is_regular_file(dir / file, ec)) return false;
  }
  return true;
}

int remove_stale_partials(const fs::path& dir, const std::string& name) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return 0;
  const std::string prefixes[] = {"." + name + ".partial-", "." + name + ".zip.partial-",
                                  "." + name + ".old-"};
  std::vector<fs::path> stale;
  for (const auto& item : fs::directory_iterator(dir, ec)) {
    const auto file_name = item.path().filename().string();
    for (const auto& prefix : prefixes) {
      const pid_t pid = temp_owner(file_name, prefix);
      if (pid > 0 && pid != ::getpid() && !process_alive(pid)) stale.push_back(item.path());
    }
  }
  if (ec) throw IoError("cannot list " + dir.string() + ": " + ec.message());
  for (const auto& path : stale) {
    fs::remove_all(path, ec);
    if (ec) throw IoError("cannot remove stale " + path.string() + ": " + ec.message());
    spdlog::info("removed {} left by an interrupted fetch", path.string());
  }
  return static_cast<int>(stale.size());
}

namespace {

std::string missing_files(const DatasetSpec& spec, const fs::path& dir) {
  std::string out;
  std::error_code ec;
  for (const auto& file : spec.files) {
    if (!fs::is_regular_file(dir / file, ec)) out += (out.empty() ? "" : ", ") + file;
  }
  return out;
}

// Moves the unpacked `fresh` directory to `final_dir`. When `final_dir` exists (--force), the two
// are swapped in one renameat2(RENAME_EXCHANGE), so dir/NAME is never absent; where the file system
// cannot exchange, the old one is renamed away first. `fresh` then holds whatever is to be removed.
// Returns false when another fetch installed a complete dataset first.
bool install_dataset(const fs::path& fresh, const fs::path& final_dir, const DatasetSpec& spec,
                     bool replace) {
  std::error_code ec;
  if (replace && fs::exists(final_dir, ec)) {
    if (::renameat2(AT_FDCWD, fresh.c_str(), AT_FDCWD, final_dir.c_str(), RENAME_EXCHANGE) == 0) return true;
    if (errno != EINVAL && errno != ENOSYS) {
      throw IoError("cannot replace " + final_dir.string() + ": " + errno_text(errno));
    }
    const auto old = final_dir.parent_path() / ("." + spec.name + ".old-" + pid_suffix());
    fs::rename(final_dir, old, ec);
    if (ec) throw IoError("cannot move " + final_dir.string() + " away: " + ec.message());
    fs::rename(fresh, final_dir, ec);
    if (ec)
      throw IoError("cannot rename " + fresh.string() + " to " + final_dir.string() + ": " + ec.message());
    fs::rename(old, fresh, ec);  // removed with the partial directory
    if (ec) fs::remove_all(old, ec);
    return true;
  }
  if (::rename(fresh.c_str(), final_dir.c_str()) == 0) return true;
  const int err = errno;
  if ((err == EEXIST || err == ENOTEMPTY) && dataset_complete(spec, final_dir)) return false;
  throw IoError("cannot rename " + fresh.string() + " to " + final_dir.string() + ": " + errno_text(err));
}

}  // namespace

FetchResult fetch_dataset(const DatasetSpec& spec, const FetchOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  const auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  if (spec.md5.empty()) {
    throw Error(
        "no checksum is known for " + spec.name +
        ": refusing to fetch an archive that cannot be verified (add the MD5 GroupLens publishes in " +
        spec.url + ".md5 to datasets/movielens.json)");
  }
  FetchResult result;
  const fs::path& dir = options.dir;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw IoError("cannot create " + dir.string() + ": " + ec.message());
  result.stale_removed = remove_stale_partials(dir, spec.name);
  const fs::path final_dir = dir / spec.name;
  result.dataset_dir = final_dir;

  const bool exists = fs::exists(fs::symlink_status(final_dir, ec));
  if (exists && !options.force) {
    if (!dataset_complete(spec, final_dir)) {
      throw IoError(final_dir.string() + " exists but is not a complete " + spec.name + " dataset (missing " +
                    missing_files(spec, final_dir) + "); use --force to replace it");
    }
    result.already_present = true;
    result.seconds = elapsed();
    return result;
  }

  std::optional<ScopedPath> downloaded_zip;
  fs::path zip;
  if (options.from) {
    zip = *options.from;
    if (fs::is_directory(zip, ec)) zip /= spec.name + ".zip";
    if (!fs::is_regular_file(zip, ec))
      throw IoError(zip.string() + ": no such file (expected " + spec.name + ".zip)");
    result.source = zip.string();
  } else {
    const auto url = effective_url(spec, options.base_url);
    zip = dir / ("." + spec.name + ".zip.partial-" + pid_suffix());
    downloaded_zip.emplace(zip);
    DownloadOptions download = options.download;
    if (download.expected_bytes == 0) download.expected_bytes = spec.approx_bytes;
    spdlog::info("downloading {}", url);
    try {
      download_file(url, zip, download);
    } catch (const IoError& e) {
      throw IoError(std::string(e.what()) + "; use --from PATH with a local copy of the zip");
    }
    result.source = url;
    result.downloaded = true;
  }
  result.zip_bytes = static_cast<std::int64_t>(fs::file_size(zip, ec));

  result.md5 = md5_file(zip, true);
  if (result.md5 != spec.md5) {
    throw FormatError(
        fmt::format("{}: MD5 mismatch for {}.zip: expected {}, actual {}; the file is damaged or not "
                    "the official archive",
                    result.source, spec.name, spec.md5, result.md5));
  }
  spdlog::info("{}: MD5 {} verified", result.source, result.md5);

  const ScopedPath partial(dir / ("." + spec.name + ".partial-" + pid_suffix()));
  fs::create_directory(partial.path(), ec);
  if (ec) throw IoError("cannot create " + partial.path().string() + ": " + ec.message());
  result.unpacked_bytes = unpack_zip(zip, partial.path(), "unpacking " + spec.name);
  const fs::path root = partial.path() / spec.folder;
  if (!fs::is_directory(root, ec)) {
    throw FormatError(result.source + ": the archive has no folder " + spec.folder + "/");
  }
  if (const auto missing = missing_files(spec, root); !missing.empty()) {
    throw FormatError(result.source + ": the archive lacks " + missing + " in " + spec.folder + "/");
  }
  if (!install_dataset(root, final_dir, spec, options.force)) {
    spdlog::info("{} was installed by another fetch meanwhile", final_dir.string());
    result.already_present = true;
  }
  fsync_path(dir);
  result.seconds = elapsed();
  return result;
}

}  // namespace cinefactor
