// Unpacking a zip archive with libzip, safely: every entry is checked (no absolute paths, "..",
// backslashes, links or duplicates) before anything is written, and every file is synced.
#include <fmt/format.h>
#include <sys/stat.h>
#include <zip.h>

#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "cinefactor/error.hpp"
#include "cinefactor/fetch.hpp"
#include "cinefactor/progress.hpp"
#include "core/atomic_file.hpp"
#include "data/fetch_steps.hpp"

namespace cinefactor {
namespace detail {

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

}  // namespace detail

namespace {

namespace fs = std::filesystem;

class ZipArchive {
 public:
  explicit ZipArchive(const fs::path& path) {
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
    if (!detail::is_plain_relative(name)) throw unsafe("empty, '.' or '..' path component");
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

}  // namespace

std::int64_t unpack_zip(const fs::path& zip, const fs::path& dest, const std::string& progress_label) {
  const ZipArchive archive(zip);
  const auto entries = safe_entries(archive, zip);
  std::int64_t total = 0;
  for (const auto& entry : entries) total += entry.size;
  std::optional<Progress> progress;
  if (!progress_label.empty()) progress.emplace(progress_label, total, "B");
  std::vector<char> buffer(detail::kIoChunk);
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
    // Exclusive: never follow or overwrite anything already there.
    SyncedFile out(target, /*exclusive=*/true);
    std::int64_t entry_bytes = 0;
    while (true) {
      const zip_int64_t n = zip_fread(in.get(), buffer.data(), buffer.size());
      if (n < 0) {
        throw FormatError(fmt::format("{}: cannot read entry \"{}\": {}", zip.string(), entry.name,
                                      zip_file_strerror(in.get())));
      }
      if (n == 0) break;
      out.write({buffer.data(), static_cast<std::size_t>(n)});
      entry_bytes += n;
      if (progress) progress->advance(n);
    }
    if (entry_bytes != entry.size) {
      throw FormatError(fmt::format("{}: entry \"{}\" holds {} bytes, its header says {}", zip.string(),
                                    entry.name, entry_bytes, entry.size));
    }
    out.close();
    written += entry_bytes;
  }
  if (progress) progress->finish();
  fsync_tree(dest);
  return written;
}

}  // namespace cinefactor
