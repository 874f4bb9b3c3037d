// Installing a MovieLens dataset: the download or local zip, its MD5 checked against the registry,
// the unpacked tree checked for the expected files and published as dir/NAME in one atomic rename
// (core/atomic_file.hpp's StagedDirectory), and the temporaries of interrupted fetches cleared.
#include <fmt/format.h>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>

#include "cinefactor/error.hpp"
#include "cinefactor/fetch.hpp"
#include "cinefactor/progress.hpp"
#include "core/atomic_file.hpp"
#include "core/regular_file.hpp"
#include "data/fetch_steps.hpp"

namespace cinefactor {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kProgressThreshold = std::int64_t{32} << 20;  // smaller files hash without a bar
constexpr const char* kBaseUrlEnv = "CINEFACTOR_MOVIELENS_URL";

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

// The files of `spec` that `dir` lacks, comma-separated; empty when none is missing.
std::string missing_files(const DatasetSpec& spec, const fs::path& dir) {
  std::string out;
  std::error_code ec;
  for (const auto& file : spec.files) {
    if (!fs::is_regular_file(dir / file, ec)) out += (out.empty() ? "" : ", ") + file;
  }
  return out;
}

}  // namespace

std::string md5_file(const fs::path& path, bool show_progress) {
  RegularFile file(path);  // a FIFO given as --from is refused, not waited on
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_md5(), nullptr) != 1)
    throw Error("OpenSSL cannot compute MD5");
  const auto size = static_cast<std::int64_t>(file.size());
  std::optional<Progress> progress;
  if (show_progress && size >= kProgressThreshold) progress.emplace("verifying MD5", size, "B");
  std::vector<unsigned char> buffer(detail::kIoChunk);
  while (true) {
    const std::size_t n = file.read(buffer.data(), buffer.size());
    if (n > 0 && EVP_DigestUpdate(ctx.get(), buffer.data(), n) != 1)
      throw Error("OpenSSL cannot compute MD5");
    if (progress) progress->advance(static_cast<std::int64_t>(n));
    if (n < buffer.size()) break;
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_size = 0;
  if (EVP_DigestFinal_ex(ctx.get(), digest, &digest_size) != 1) throw Error("OpenSSL cannot compute MD5");
  if (progress) progress->finish();
  std::string hex;
  for (unsigned int i = 0; i < digest_size; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

bool dataset_complete(const DatasetSpec& spec, const fs::path& dir) {
  std::error_code ec;
  return fs::is_directory(dir, ec) && missing_files(spec, dir).empty();
}

int remove_stale_partials(const fs::path& dir, const std::string& name) {
  int removed = 0;
  // The unpacked dataset (and a replaced one moved aside) are temporaries of dir/NAME, a download
  // is one of dir/NAME.zip.
  for (const auto& target : {dir / name, dir / (name + ".zip")}) {
    for (const auto& path : remove_stale_temporaries(target)) {
      spdlog::info("removed {} left by an interrupted fetch", path.string());
      ++removed;
    }
  }
  return removed;
}

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
    downloaded_zip.emplace(temp_sibling(dir / (spec.name + ".zip")));
    zip = downloaded_zip->path();
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

  StagedDirectory staged(final_dir);
  result.unpacked_bytes = unpack_zip(zip, staged.path(), "unpacking " + spec.name);
  const fs::path root = staged.path() / spec.folder;
  if (!fs::is_directory(root, ec)) {
    throw FormatError(result.source + ": the archive has no folder " + spec.folder + "/");
  }
  if (const auto missing = missing_files(spec, root); !missing.empty()) {
    throw FormatError(result.source + ": the archive lacks " + missing + " in " + spec.folder + "/");
  }
  // --force swaps an existing dir/NAME out in one atomic exchange, so dir/NAME is never absent.
  if (!staged.commit(options.force, spec.folder)) {
    if (!dataset_complete(spec, final_dir)) {
      throw IoError("cannot move the unpacked " + spec.name + " to " + final_dir.string() +
                    ": something else appeared there meanwhile");
    }
    spdlog::info("{} was installed by another fetch meanwhile", final_dir.string());
    result.already_present = true;
  }
  result.seconds = elapsed();
  return result;
}

}  // namespace cinefactor
