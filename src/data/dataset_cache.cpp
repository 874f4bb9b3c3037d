// The binary dataset cache (see dataset_cache.hpp): writing it atomically, and reading it back only when
// the source files, the format and every checksum still agree.
#include "data/dataset_cache.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <span>

#include "cinefactor/error.hpp"
#include "core/atomic_file.hpp"
#include "core/hash64.hpp"
#include "core/regular_file.hpp"
#include "data/movielens.hpp"

namespace cinefactor::detail {
namespace {

// File layout (native byte order, checked through kEndianMark):
//   [0, 32)  magic[8] | u32 version | u32 endian mark | u64 meta bytes | u64 hash64(meta)
//   meta     u32 layout | u32 option flags | u32 n sources
//            | n x (u32 name length, name, u64 size, i64 mtime ns, i64 ctime ns, u64 inode, u64 device)
//            | u64 payload bytes | u64 payload hash | f32 scale min, max | i64 skipped lines, duplicates
//            | i32 users, movies | i64 nnz | u32 has timestamps | u64 catalog bytes
//   payload  user ids (i64) | movie ids (i64) | indptr (i64) | indices (i32) | values (f32)
//            | by-movie indptr (i64) | by-movie indices (i32) | by-movie values (f32)
//            | timestamps (u32, when present) | movie_of_column (i32) | catalog blob
// Both views are stored: reading 200 MB more for ML-25M is cheaper than transposing on every load.
// The payload hash folds hash64_parallel() of each section in that order.
constexpr char kMagic[8] = {'C', 'F', 'D', 'S', 'C', 'A', 'C', 'H'};
constexpr std::uint32_t kEndianMark = 0x01020304u;
constexpr std::size_t kPrefixBytes = 32;
// Far above any real header (a few sources); a larger claim means a corrupted prefix.
constexpr std::uint64_t kMaxMetaBytes = std::uint64_t{1} << 20;
constexpr std::uint32_t kFlagSkipBadLines = 1u;

std::uint32_t option_flags(const LoadOptions& options) {
  return options.skip_bad_lines ? kFlagSkipBadLines : 0u;
}

class ByteWriter {
 public:
  template <typename T>
  void put(const T& value) {
    static_assert(std::is_trivially_copyable_v<T>);
    bytes_.append(reinterpret_cast<const char*>(&value), sizeof value);
  }
  void put_string(std::string_view s) {
    put(static_cast<std::uint32_t>(s.size()));
    bytes_.append(s);
  }
  const std::string& bytes() const noexcept { return bytes_; }

 private:
  std::string bytes_;
};

class ByteReader {
 public:
  ByteReader(std::string_view bytes, const char* what) : bytes_(bytes), what_(what) {}
  template <typename T>
  T get() {
    static_assert(std::is_trivially_copyable_v<T>);
    need(sizeof(T));
    T value;
    std::memcpy(&value, bytes_.data() + pos_, sizeof value);
    pos_ += sizeof value;
    return value;
  }
  std::string get_string() {
    const auto n = get<std::uint32_t>();
    need(n);
    std::string s(bytes_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  bool done() const noexcept { return pos_ == bytes_.size(); }

 private:
  void need(std::size_t n) const {
    if (bytes_.size() - pos_ < n) throw FormatError(fmt::format("its {} ends early", what_));
  }
  std::string_view bytes_;
  std::size_t pos_ = 0;
  const char* what_;
};

struct Meta {
  std::uint32_t layout = 0;
  std::uint32_t flags = 0;
  std::vector<SourceStamp> sources;
  std::uint64_t payload_bytes = 0;
  std::uint64_t payload_hash = 0;
  float scale_min = 0.0f;
  float scale_max = 0.0f;
  std::int64_t skipped = 0;
  std::int64_t duplicates = 0;
  std::int32_t users = 0;
  std::int32_t movies = 0;
  std::int64_t nnz = 0;
  std::uint32_t has_timestamps = 0;
  std::uint64_t catalog_bytes = 0;
};

template <typename T>
std::span<const char> bytes_of(const std::vector<T>& v) {
  return {reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T)};
}
template <typename T>
std::span<const char> bytes_of(std::span<const T> v) {
  return {reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T)};
}

std::uint64_t payload_hash(const std::vector<std::span<const char>>& sections) {
  std::uint64_t h = 0;
  for (const auto& s : sections) h = hash64_combine(h, hash64_parallel(s.data(), s.size()));
  return h;
}

std::string encode_catalog(const std::vector<Movie>& movies) {
  ByteWriter w;
  w.put(static_cast<std::uint64_t>(movies.size()));
  for (const auto& m : movies) {
    w.put(m.id);
    w.put(m.year);
    w.put(static_cast<std::uint8_t>(m.imdb_id.has_value()));
    w.put(static_cast<std::uint8_t>(m.tmdb_id.has_value()));
    w.put(m.imdb_id.value_or(0));
    w.put(m.tmdb_id.value_or(0));
    w.put_string(m.title);
    w.put(static_cast<std::uint32_t>(m.genres.size()));
    for (const auto& g : m.genres) w.put_string(g);
  }
  return w.bytes();
}

std::vector<Movie> decode_catalog(std::string_view bytes) {
  ByteReader r(bytes, "movie catalog");
  const auto n = r.get<std::uint64_t>();
  // Each movie takes at least its fixed fields: a larger count is corruption, not a reason to allocate.
  constexpr std::uint64_t kMinMovieBytes = 8 + 4 + 1 + 1 + 8 + 8 + 4 + 4;
  if (n > bytes.size() / kMinMovieBytes)
    throw FormatError("its movie catalog claims more movies than it holds");
  std::vector<Movie> movies(static_cast<std::size_t>(n));
  for (auto& m : movies) {
    m.id = r.get<std::int64_t>();
    m.year = r.get<std::int32_t>();
    const bool has_imdb = r.get<std::uint8_t>() != 0;
    const bool has_tmdb = r.get<std::uint8_t>() != 0;
    const auto imdb = r.get<std::int64_t>();
    const auto tmdb = r.get<std::int64_t>();
    if (has_imdb) m.imdb_id = imdb;
    if (has_tmdb) m.tmdb_id = tmdb;
    m.title = r.get_string();
    const auto genres = r.get<std::uint32_t>();
    for (std::uint32_t g = 0; g < genres; ++g) m.genres.push_back(r.get_string());
  }
  if (!r.done()) throw FormatError("its movie catalog has trailing bytes");
  for (std::size_t i = 1; i < movies.size(); ++i) {
    if (movies[i - 1].id >= movies[i].id) throw FormatError("its movie catalog is not sorted by id");
  }
  return movies;
}

// The cache file, read in order; an early end is a damaged cache (FormatError), not an I/O error.
class CacheReader {
 public:
  explicit CacheReader(const std::filesystem::path& path) : file_(path) {}
  std::uint64_t size() const noexcept { return file_.size(); }
  void read(void* out, std::size_t n) {
    if (file_.read(out, n) != n) throw FormatError("it ends early");
  }
  template <typename T>
  std::vector<T> read_vector(std::uint64_t count) {
    std::vector<T> v(static_cast<std::size_t>(count));
    read(v.data(), v.size() * sizeof(T));
    return v;
  }

 private:
  RegularFile file_;
};

std::string describe_change(const SourceStamp& was, const SourceStamp& now) {
  if (was.size != now.size)
    return fmt::format("{} changed size ({} -> {} bytes)", now.name, was.size, now.size);
  if (was.mtime_ns != now.mtime_ns) return fmt::format("{} was modified (mtime changed)", now.name);
  if (was.inode != now.inode || was.device != now.device)
    return fmt::format("{} was replaced (another file is there now)", now.name);
  return fmt::format("{} was modified (ctime changed; its mtime was kept)", now.name);
}

Dataset read_checked(CacheReader& in, std::uint64_t file_size, Layout layout,
                     const std::vector<SourceStamp>& sources, const LoadOptions& options,
                     std::string& why_not) {
  char prefix[kPrefixBytes];
  if (file_size < kPrefixBytes) throw FormatError(fmt::format("it is truncated ({} bytes)", file_size));
  in.read(prefix, kPrefixBytes);
  if (std::memcmp(prefix, kMagic, sizeof kMagic) != 0)
    throw FormatError("it is not a cinefactor dataset cache (foreign magic)");
  ByteReader pr(std::string_view(prefix + sizeof kMagic, kPrefixBytes - sizeof kMagic), "prefix");
  const auto version = pr.get<std::uint32_t>();
  const auto endian = pr.get<std::uint32_t>();
  const auto meta_bytes = pr.get<std::uint64_t>();
  const auto meta_hash = pr.get<std::uint64_t>();
  if (endian != kEndianMark) throw FormatError("it was written on a machine of another byte order");
  if (version != kCacheVersion) {
    throw FormatError(
        fmt::format("it has format version {}, this build reads version {}", version, kCacheVersion));
  }
  if (meta_bytes > kMaxMetaBytes || meta_bytes > file_size - kPrefixBytes)
    throw FormatError("its header is truncated or corrupted");
  std::string meta_text(static_cast<std::size_t>(meta_bytes), '\0');
  in.read(meta_text.data(), meta_text.size());
  if (hash64(meta_text.data(), meta_text.size()) != meta_hash)
    throw FormatError("its header checksum does not match (corrupted)");

  ByteReader r(meta_text, "header");
  Meta meta;
  meta.layout = r.get<std::uint32_t>();
  meta.flags = r.get<std::uint32_t>();
  const auto n_sources = r.get<std::uint32_t>();
  for (std::uint32_t i = 0; i < n_sources && i < sources.size() + 1; ++i) {
    SourceStamp s;
    s.name = r.get_string();
    s.size = r.get<std::uint64_t>();
    s.mtime_ns = r.get<std::int64_t>();
    s.ctime_ns = r.get<std::int64_t>();
    s.inode = r.get<std::uint64_t>();
    s.device = r.get<std::uint64_t>();
    meta.sources.push_back(std::move(s));
  }
  if (meta.layout != static_cast<std::uint32_t>(layout) || meta.sources.size() != sources.size()) {
    why_not = "it was built from another layout";
    return {};
  }
  for (std::size_t i = 0; i < sources.size(); ++i) {
    if (meta.sources[i].name != sources[i].name) {
      why_not = "it was built from other files";
      return {};
    }
    if (!(meta.sources[i] == sources[i])) {
      why_not = describe_change(meta.sources[i], sources[i]);
      return {};
    }
  }
  if (meta.flags != option_flags(options)) {
    why_not = fmt::format("it was built with skip_bad_lines={}", (meta.flags & kFlagSkipBadLines) != 0);
    return {};
  }
  meta.payload_bytes = r.get<std::uint64_t>();
  meta.payload_hash = r.get<std::uint64_t>();
  meta.scale_min = r.get<float>();
  meta.scale_max = r.get<float>();
  meta.skipped = r.get<std::int64_t>();
  meta.duplicates = r.get<std::int64_t>();
  meta.users = r.get<std::int32_t>();
  meta.movies = r.get<std::int32_t>();
  meta.nnz = r.get<std::int64_t>();
  meta.has_timestamps = r.get<std::uint32_t>();
  meta.catalog_bytes = r.get<std::uint64_t>();
  if (!r.done()) throw FormatError("its header has trailing bytes");

  // Compared without adding: a forged payload size near 2^64 would wrap the sum back to the file size.
  if (meta.payload_bytes != file_size - kPrefixBytes - meta_bytes) {
    throw FormatError(
        fmt::format("it is truncated or padded ({} bytes, the header describes {} more after it)", file_size,
                    meta.payload_bytes));
  }
  if (meta.users < 0 || meta.movies < 0 || meta.nnz < 0) throw FormatError("its dimensions are negative");
  const auto users = static_cast<std::uint64_t>(meta.users);
  const auto movies = static_cast<std::uint64_t>(meta.movies);
  const auto nnz = static_cast<std::uint64_t>(meta.nnz);
  // Overflow-checked: counts whose products wrap past 2^64 must not add up to the payload's size.
  std::uint64_t sections_bytes = 0;
  bool overflow = false;
  const auto add = [&](std::uint64_t count, std::uint64_t width) {
    std::uint64_t bytes = 0;
    overflow = overflow || __builtin_mul_overflow(count, width, &bytes) ||
               __builtin_add_overflow(sections_bytes, bytes, &sections_bytes);
  };
  add(users, 8);                          // user ids
  add(movies, 8);                         // movie ids
  add(users + 1, 8);                      // by-user indptr
  add(nnz, 4 + 4);                        // by-user indices and values
  add(movies + 1, 8);                     // by-movie indptr
  add(nnz, 4 + 4);                        // by-movie indices and values
  add(meta.has_timestamps ? nnz : 0, 4);  // timestamps
  add(movies, 4);                         // movie_of_column
  add(meta.catalog_bytes, 1);             // catalog blob
  if (overflow || sections_bytes != meta.payload_bytes) throw FormatError("its section sizes do not add up");

  auto user_ids = in.read_vector<std::int64_t>(users);
  auto movie_ids = in.read_vector<std::int64_t>(movies);
  // One view of the matrix: rows + 1 offsets, then the nnz column indices and the nnz values.
  const auto read_view = [&](std::int32_t rows, std::int32_t cols) {
    SparseMatrix view;
    view.rows = rows;
    view.cols = cols;
    view.indptr = in.read_vector<std::int64_t>(static_cast<std::uint64_t>(rows) + 1);
    view.indices = in.read_vector<std::int32_t>(nnz);
    view.values = in.read_vector<float>(nnz);
    return view;
  };
  SparseMatrix csr = read_view(meta.users, meta.movies);
  SparseMatrix csc = read_view(meta.movies, meta.users);
  auto timestamps = in.read_vector<std::uint32_t>(meta.has_timestamps ? nnz : 0);
  auto movie_of_column = in.read_vector<std::int32_t>(movies);
  std::string catalog(static_cast<std::size_t>(meta.catalog_bytes), '\0');
  in.read(catalog.data(), catalog.size());

  const std::vector<std::span<const char>> sections = {bytes_of(user_ids),
                                                       bytes_of(movie_ids),
                                                       bytes_of(csr.indptr),
                                                       bytes_of(csr.indices),
                                                       bytes_of(csr.values),
                                                       bytes_of(csc.indptr),
                                                       bytes_of(csc.indices),
                                                       bytes_of(csc.values),
                                                       bytes_of(timestamps),
                                                       bytes_of(movie_of_column),
                                                       {catalog.data(), catalog.size()}};
  if (payload_hash(sections) != meta.payload_hash)
    throw FormatError("its data checksum does not match (corrupted)");

  Dataset ds;
  ds.layout = layout;
  ds.scale = {meta.scale_min, meta.scale_max};
  ds.movies = decode_catalog(catalog);
  ds.ratings = RatingMatrix::from_csr_and_csc(std::move(csr), std::move(csc), std::move(timestamps),
                                              std::move(user_ids), std::move(movie_ids));
  const auto ids = ds.ratings.movie_ids();
  for (std::size_t j = 0; j < movie_of_column.size(); ++j) {
    const auto m = movie_of_column[j];
    if (m < 0 || static_cast<std::size_t>(m) >= ds.movies.size() ||
        ds.movies[static_cast<std::size_t>(m)].id != ids[j]) {
      throw FormatError("its column-to-movie map does not match the catalog");
    }
  }
  ds.movie_of_column = std::move(movie_of_column);
  ds.report.skipped_lines = meta.skipped;
  ds.report.duplicates = meta.duplicates;
  ds.report.from_cache = true;
  return ds;
}

}  // namespace

std::vector<SourceStamp> stamp_sources(const std::filesystem::path& dir, Layout layout) {
  constexpr std::int64_t kNanosPerSecond = 1'000'000'000;
  const auto nanos = [](const timespec& t) {
    return static_cast<std::int64_t>(t.tv_sec) * kNanosPerSecond + t.tv_nsec;
  };
  std::vector<SourceStamp> stamps;
  for (const auto& name : layout_files(layout)) {
    const auto path = dir / name;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
      throw IoError("cannot stat " + path.string() + ": " + std::strerror(errno));
    stamps.push_back({name, static_cast<std::uint64_t>(st.st_size), nanos(st.st_mtim), nanos(st.st_ctim),
                      static_cast<std::uint64_t>(st.st_ino), static_cast<std::uint64_t>(st.st_dev)});
  }
  return stamps;
}

CacheRead read_dataset_cache(const std::filesystem::path& file, Layout layout,
                             const std::vector<SourceStamp>& sources, const LoadOptions& options) {
  CacheRead result;
  struct stat st {};
  if (::lstat(file.c_str(), &st) != 0 && errno == ENOENT) {
    result.why_not = "there is no cache yet";
    return result;
  }
  std::optional<CacheReader> in;
  try {
    in.emplace(file);  // refuses a FIFO or a directory there without blocking
  } catch (const IoError& e) {
    result.why_not = e.what();
    return result;
  }
  try {
    Dataset ds = read_checked(*in, in->size(), layout, sources, options, result.why_not);
    if (result.why_not.empty()) result.dataset = std::move(ds);
  } catch (const Error& e) {
    result.why_not = e.what();
  } catch (const std::bad_alloc&) {
    result.why_not = "its sizes are corrupted (out of memory)";
  }
  return result;
}

void write_dataset_cache(const std::filesystem::path& file, const Dataset& dataset,
                         const std::vector<SourceStamp>& sources, const LoadOptions& options) {
  const auto& m = dataset.ratings;
  const auto& csr = m.by_user();
  const auto& csc = m.by_movie();
  const std::string catalog = encode_catalog(dataset.movies);
  const std::vector<std::span<const char>> sections = {bytes_of(m.user_ids()),
                                                       bytes_of(m.movie_ids()),
                                                       bytes_of(csr.indptr),
                                                       bytes_of(csr.indices),
                                                       bytes_of(csr.values),
                                                       bytes_of(csc.indptr),
                                                       bytes_of(csc.indices),
                                                       bytes_of(csc.values),
                                                       bytes_of(m.timestamps()),
                                                       bytes_of(dataset.movie_of_column),
                                                       {catalog.data(), catalog.size()}};
  std::uint64_t payload_bytes = 0;
  for (const auto& s : sections) payload_bytes += s.size();

  ByteWriter meta;
  meta.put(static_cast<std::uint32_t>(dataset.layout));
  meta.put(option_flags(options));
  meta.put(static_cast<std::uint32_t>(sources.size()));
  for (const auto& s : sources) {
    meta.put_string(s.name);
    meta.put(s.size);
    meta.put(s.mtime_ns);
    meta.put(s.ctime_ns);
    meta.put(s.inode);
    meta.put(s.device);
  }
  meta.put(payload_bytes);
  meta.put(payload_hash(sections));
  meta.put(dataset.scale.min);
  meta.put(dataset.scale.max);
  meta.put(dataset.report.skipped_lines);
  meta.put(dataset.report.duplicates);
  meta.put(m.n_users());
  meta.put(m.n_movies());
  meta.put(m.nnz());
  meta.put(static_cast<std::uint32_t>(!m.timestamps().empty()));
  meta.put(static_cast<std::uint64_t>(catalog.size()));

  ByteWriter prefix;
  for (char c : kMagic) prefix.put(c);
  prefix.put(kCacheVersion);
  prefix.put(kEndianMark);
  prefix.put(static_cast<std::uint64_t>(meta.bytes().size()));
  prefix.put(hash64(meta.bytes().data(), meta.bytes().size()));

  AtomicFile out(file);
  out.write(prefix.bytes());
  out.write(meta.bytes());
  for (const auto& s : sections) out.write({s.data(), s.size()});
  out.commit();
}

}  // namespace cinefactor::detail
