// libFuzzer harness: the binary dataset cache reader (src/data/dataset_cache.cpp). An input is a cache
// file; before reading it the harness seals it as a writer would: it stamps the source files the cache
// names as the ones it was built from and writes both checksums (header and payload) for the sizes the
// header declares, so that the fuzzer reaches the checks behind them (section sizes, the two views of the
// matrix, the catalog, the column map). Found: a crash or exception (the reader reports every bad cache
// in CacheRead::why_not); a cache accepted with a dataset that breaks its invariants.
//
// The sealing follows the layout comment of dataset_cache.cpp. So that a format change cannot silently
// stop the sealing from working, the harness first seals a cache the library itself wrote for a small
// dataset and aborts when the reader does not accept it.
// With CINEFACTOR_FUZZ_WRITE_SEED=PATH it also writes that cache to PATH: the committed seed
// corpus/fuzz_dataset_cache/csv-three-movies.bin was made so.
#include <sys/stat.h>

#include <cstdint>
#include <cstring>
#include <iterator>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cinefactor/dataset.hpp"
#include "core/hash64.hpp"
#include "data/dataset_cache.hpp"
#include "fuzz_support.hpp"

namespace {

namespace detail = cinefactor::detail;
using cinefactor::fuzz::finding;

constexpr std::size_t kPrefixBytes = 32;
constexpr std::size_t kMetaBytesAt = 16;
constexpr std::size_t kMetaHashAt = 24;

// Reads the cache header's fields in order; returns false when the bytes end first.
class Cursor {
 public:
  explicit Cursor(std::string_view bytes, std::size_t pos = 0) : bytes_(bytes), pos_(pos) {}
  template <typename T>
  bool get(T& value) {
    if (pos_ > bytes_.size() || bytes_.size() - pos_ < sizeof(T)) return false;
    std::memcpy(&value, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  bool get_string(std::string& s) {
    std::uint32_t n = 0;
    if (!get(n) || bytes_.size() - pos_ < n) return false;
    s.assign(bytes_.substr(pos_, n));
    pos_ += n;
    return true;
  }
  std::size_t pos() const noexcept { return pos_; }

 private:
  std::string_view bytes_;
  std::size_t pos_;
};

struct Sealed {
  std::vector<detail::SourceStamp> sources;  // as the header names them
  cinefactor::Layout layout = cinefactor::Layout::csv;
  bool skip_bad_lines = false;
};

template <typename T>
void put(std::string& bytes, std::size_t at, T value) {
  std::memcpy(bytes.data() + at, &value, sizeof value);
}

// Writes the checksums into `bytes` and returns what the header says it was built from; nullopt when
// the header is too short to say.
std::optional<Sealed> seal(std::string& bytes) {
  std::uint64_t meta_bytes = 0;
  if (bytes.size() < kPrefixBytes || !Cursor(bytes, kMetaBytesAt).get(meta_bytes) ||
      meta_bytes > bytes.size() - kPrefixBytes)
    return {};
  const std::string_view meta = std::string_view(bytes).substr(kPrefixBytes, meta_bytes);
  Cursor r(meta);
  Sealed out;
  std::uint32_t layout = 0, flags = 0, n_sources = 0;
  if (!r.get(layout) || !r.get(flags) || !r.get(n_sources) || layout > 2) return {};
  out.layout = static_cast<cinefactor::Layout>(layout);
  out.skip_bad_lines = (flags & 1u) != 0;
  for (std::uint32_t i = 0; i < n_sources; ++i) {
    detail::SourceStamp s;
    if (!r.get_string(s.name) || !r.get(s.size) || !r.get(s.mtime_ns) || !r.get(s.ctime_ns) ||
        !r.get(s.inode) || !r.get(s.device))
      return {};
    out.sources.push_back(std::move(s));
  }
  const auto payload_hash_at = kPrefixBytes + r.pos() + sizeof(std::uint64_t);
  std::uint64_t payload_bytes = 0, payload_hash = 0;
  float scale_min = 0, scale_max = 0;
  std::int64_t skipped = 0, duplicates = 0, nnz = 0;
  std::int32_t users = 0, movies = 0;
  std::uint32_t has_timestamps = 0;
  std::uint64_t catalog_bytes = 0;
  const bool complete = r.get(payload_bytes) && r.get(payload_hash) && r.get(scale_min) && r.get(scale_max) &&
                        r.get(skipped) && r.get(duplicates) && r.get(users) && r.get(movies) && r.get(nnz) &&
                        r.get(has_timestamps) && r.get(catalog_bytes);
  // The payload's sections, in order, as element sizes x counts; sealed when they fit in the file.
  if (complete && users >= 0 && movies >= 0 && nnz >= 0 && users < (1 << 24) && movies < (1 << 24) &&
      nnz < (std::int64_t{1} << 28) && catalog_bytes < bytes.size()) {
    const auto u = static_cast<std::size_t>(users), m = static_cast<std::size_t>(movies),
               z = static_cast<std::size_t>(nnz);
    const std::size_t sizes[] = {u * 8,
                                 m * 8,
                                 (u + 1) * 8,
                                 z * 4,
                                 z * 4,
                                 (m + 1) * 8,
                                 z * 4,
                                 z * 4,
                                 has_timestamps ? z * 4 : 0,
                                 m * 4,
                                 static_cast<std::size_t>(catalog_bytes)};
    std::size_t at = kPrefixBytes + meta_bytes;
    std::uint64_t h = 0;
    bool fits = true;
    for (const auto n : sizes) {
      if (bytes.size() - at < n) {
        fits = false;
        break;
      }
      h = detail::hash64_combine(h, detail::hash64_parallel(bytes.data() + at, n));
      at += n;
    }
    if (fits) put(bytes, payload_hash_at, h);
  }
  put(bytes, kMetaHashAt, detail::hash64(bytes.data() + kPrefixBytes, meta_bytes));
  return out;
}

void check_invariants(const cinefactor::Dataset& ds) {
  if (ds.movie_of_column.size() != static_cast<std::size_t>(ds.ratings.n_movies()))
    finding("invariant", "movie_of_column is not one entry per column");
  for (std::size_t i = 1; i < ds.movies.size(); ++i) {
    if (ds.movies[i - 1].id >= ds.movies[i].id) finding("invariant", "the catalog is not strictly ascending");
  }
}

// Reads `bytes` as the cache of a directory holding exactly the sources it names.
detail::CacheRead read_sealed(std::string bytes, bool* sealed = nullptr) {
  const auto stamps = seal(bytes);
  if (sealed) *sealed = stamps.has_value();
  const auto file = cinefactor::fuzz::scratch_dir() / detail::kCacheFileName;
  cinefactor::fuzz::write_file(file, bytes);
  cinefactor::LoadOptions options;
  options.skip_bad_lines = stamps && stamps->skip_bad_lines;
  options.threads = 1;
  detail::CacheRead read;
  cinefactor::fuzz::expect_success_or<cinefactor::fuzz::NoException>([&] {
    read = detail::read_dataset_cache(file, stamps ? stamps->layout : cinefactor::Layout::csv,
                                      stamps ? stamps->sources : std::vector<detail::SourceStamp>{}, options);
    if (read.dataset) check_invariants(*read.dataset);
  });
  return read;
}

// A cache the library writes for a small csv dataset, the sealing self-check.
std::string library_cache() {
  const auto dir = cinefactor::fuzz::scratch_dir() / "self-check";
  std::filesystem::create_directories(dir);
  cinefactor::fuzz::write_file(dir / "ratings.csv",
                               "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,3,4.5,964981247\n"
                               "2,1,3.0,1445714835\n2,2,5.0,1445714836\n");
  cinefactor::fuzz::write_file(
      dir / "movies.csv",
      "movieId,title,genres\n1,Harbor Lights (1994),Drama|Romance\n"
      "2,Paper Kites (2003),Children|Comedy\n3,\"Lighthouse, The (1987)\",Mystery\n");
  cinefactor::fuzz::write_file(dir / "links.csv", "movieId,imdbId,tmdbId\n1,0100001,9001\n2,0100002,\n3,,\n");
  cinefactor::LoadOptions options;
  options.threads = 1;
  cinefactor::load_dataset(dir, options);  // writes DIR/.cinefactor-cache.bin
  std::ifstream in(dir / detail::kCacheFileName, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool self_checked = [] {
    auto bytes = library_cache();
    bool sealed = false;
    if (!read_sealed(bytes, &sealed).dataset || !sealed)
      finding("self-check", "the harness's sealing no longer matches the cache format (dataset_cache.cpp)");
    if (const char* out = std::getenv("CINEFACTOR_FUZZ_WRITE_SEED")) cinefactor::fuzz::write_file(out, bytes);
    return true;
  }();
  (void)self_checked;
  read_sealed(std::string(cinefactor::fuzz::as_text(data, size)));
  return 0;
}
