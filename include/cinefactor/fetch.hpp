// Getting the official MovieLens archives: the registry of known datasets (URL, published MD5,
// folder inside the zip, expected files), download over HTTP(S), MD5 verification and safe
// unpacking. A dataset directory appears under its final name only by an atomic rename of a fully
// unpacked and checked temporary directory, so an interrupted fetch never leaves a partial dataset.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cinefactor {

// One downloadable dataset, as listed in datasets/movielens.json.
struct DatasetSpec {
  std::string name;                // ml-latest-small, ml-100k, ...; also the folder it unpacks to
  std::string url;                 // official download URL of the zip
  std::string md5;                 // MD5 GroupLens publishes for the zip (32 lowercase hex digits)
  std::string folder;              // top-level folder inside the zip (ml-10m has "ml-10M100K")
  std::vector<std::string> files;  // files that must exist in the unpacked dataset
  std::int64_t approx_bytes = 0;   // approximate size of the zip, for progress and listings
  std::string description;
};

struct DatasetRegistry {
  std::string license;  // the usage terms shared by every dataset listed
  std::vector<DatasetSpec> datasets;

  // The entry called `name`, or nullptr.
  const DatasetSpec* find(std::string_view name) const;
  // "ml-latest-small, ml-100k, ..." in registry order.
  std::string names() const;
};

// Parses a registry document; `source` names it in errors. Throws FormatError.
DatasetRegistry parse_registry(std::string_view json_text, const std::string& source);
// Reads and parses a registry file. Throws IoError or FormatError.
DatasetRegistry load_registry(const std::filesystem::path& path);
// The text of datasets/movielens.json embedded into the binary at build time.
std::string_view embedded_registry_text();
// The embedded registry, parsed once.
const DatasetRegistry& builtin_registry();

// The MD5 of a file as 32 lowercase hex digits, streamed through OpenSSL's EVP interface.
// `show_progress` draws a progress bar (for large archives). Throws IoError.
std::string md5_file(const std::filesystem::path& path, bool show_progress = false);

// Download tunables.
struct DownloadOptions {
  int connect_timeout_s = 30;                                    // seconds to establish the connection
  int read_timeout_s = 60;                                       // seconds without any data before giving up
  std::string ca_bundle = "/etc/ssl/certs/ca-certificates.crt";  // CA certificates for HTTPS
  std::int64_t expected_bytes = 0;  // size hint for the progress bar when the server sends none
};

// Streams `url` (http:// or https://, redirects followed) into `dest`, which is created or
// truncated; on failure `dest` is removed. Throws IoError "cannot download URL: reason".
// Returns the number of bytes written.
std::int64_t download_file(const std::string& url, const std::filesystem::path& dest,
                           const DownloadOptions& options = {});

// Unpacks `zip` into the existing empty directory `dest`. Rejects (throws FormatError, naming the
// zip and the entry) absolute paths, ".." components, backslashes, symbolic links and other
// non-regular entries before writing anything. Every file is fsynced. A non-empty
// `progress_label` draws a progress bar. Returns the bytes written.
std::int64_t unpack_zip(const std::filesystem::path& zip, const std::filesystem::path& dest,
                        const std::string& progress_label = "");

// True when `dir` holds every file of `spec`.
bool dataset_complete(const DatasetSpec& spec, const std::filesystem::path& dir);

// Removes the temporary files and directories of `name` under `dir` (".NAME.tmp-PID-*" and
// ".NAME.zip.tmp-PID-*") whose process PID is no longer running. Returns how many were removed.
int remove_stale_partials(const std::filesystem::path& dir, const std::string& name);

struct FetchOptions {
  std::filesystem::path dir = "datasets";     // the dataset goes to dir/NAME
  std::optional<std::filesystem::path> from;  // local zip file, or a directory holding NAME.zip
  bool force = false;                         // replace an existing dir/NAME
  // Replaces everything before the zip's file name in the registry URL (mirrors, tests).
  // Empty: the environment variable CINEFACTOR_MOVIELENS_URL, else the registry URL.
  std::string base_url;
  DownloadOptions download;
};

struct FetchResult {
  std::filesystem::path dataset_dir;  // dir/NAME
  bool already_present = false;       // nothing was done: dir/NAME was complete
  bool downloaded = false;            // the zip came over the network (else from --from)
  std::string source;                 // URL or local path of the zip
  std::string md5;                    // verified MD5 of the zip (empty when already present)
  std::int64_t zip_bytes = 0;
  std::int64_t unpacked_bytes = 0;
  int stale_removed = 0;  // stale temporaries of dead fetches removed first
  double seconds = 0.0;
};

// Fetches `spec` as described in FetchOptions: download (or take the local zip), verify the MD5
// (a mismatch is a FormatError naming both sums and the file), unpack into the hidden temporary
// dir/.NAME.tmp-PID-*, check the expected files, rename into dir/NAME. Nothing is left behind on
// failure.
FetchResult fetch_dataset(const DatasetSpec& spec, const FetchOptions& options);

}  // namespace cinefactor
