// The MovieLens readers (see movielens.hpp): movies, links and ratings of every layout, parsed in
// parallel chunks, every malformed line reported as file:line.
#include "data/movielens.hpp"

#include <fmt/format.h>
#include <omp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <unordered_map>

#include "cinefactor/error.hpp"
#include "cinefactor/progress.hpp"
#include "core/text.hpp"
#include "data/text_scan.hpp"
#include "data/title.hpp"

namespace cinefactor::detail {
namespace {

// Ratings files are parsed in chunks of about this many bytes (cut at line ends): small enough to
// balance the cores and to move the progress bar, large enough that scheduling costs nothing.
constexpr std::size_t kChunkBytes = std::size_t{4} << 20;
// Files at least this large show a progress bar while they are parsed.
constexpr std::size_t kProgressMinBytes = std::size_t{32} << 20;
// Movie ids up to this bound are checked through a presence table, larger ones by binary search.
constexpr std::int64_t kDenseMovieIdLimit = std::int64_t{1} << 26;
constexpr std::string_view kNoGenres = "(no genres listed)";
// u.item: movie id | title | release date | video release date | IMDb URL | 19 genre flags.
constexpr std::size_t kUItemFixedFields = 5;
constexpr std::array<std::string_view, 19> kUItemGenres = {
    "unknown",     "Action", "Adventure", "Animation", "Children's", "Comedy",  "Crime",
    "Documentary", "Drama",  "Fantasy",   "Film-Noir", "Horror",     "Musical", "Mystery",
    "Romance",     "Sci-Fi", "Thriller",  "War",       "Western"};
constexpr int kYearDigits = 4;

// How the lines of one ratings file look.
struct RatingFormat {
  std::string_view separator;
  std::string_view header;       // the exact first line, empty when the file has none
  std::string_view field_names;  // for messages
  RatingScale scale;
  float step = 0.5f;
};

RatingFormat rating_format(Layout layout) {
  switch (layout) {
    case Layout::csv:
      return {",", "userId,movieId,rating,timestamp", "userId,movieId,rating,timestamp", layout_scale(layout),
              layout_rating_step(layout)};
    case Layout::dat:
      return {"::", "", "UserID::MovieID::Rating::Timestamp", layout_scale(layout),
              layout_rating_step(layout)};
    case Layout::u_data:
      return {"\t", "", "user id, item id, rating, timestamp (tab-separated)", layout_scale(layout),
              layout_rating_step(layout)};
  }
  throw InvalidArgument("unknown layout");
}

// Skip-or-throw for the bad lines of one file, with the count and the first message for the warning.
class BadLines {
 public:
  BadLines(std::string file, bool skip) : file_(std::move(file)), skip_(skip) {}

  void fail(std::int64_t line, const std::string& message) {
    if (!skip_) throw ParseError(file_, line, message);
    if (count_ == 0) first_ = ParseError(file_, line, message).what();
    ++count_;
  }
  void add(std::int64_t count, const std::string& first) {
    if (count > 0 && count_ == 0) first_ = first;
    count_ += count;
  }
  std::int64_t count() const noexcept { return count_; }
  const std::string& first() const noexcept { return first_; }
  void warn() const {
    if (count_ > 0)
      spdlog::warn("{}: skipped {} bad line{} (first: {})", file_, count_, count_ == 1 ? "" : "s", first_);
  }

 private:
  std::string file_;
  bool skip_;
  std::int64_t count_ = 0;
  std::string first_;
};

// Movie id -> position in the catalog (sorted by id), for checking every rating against the catalog.
class MovieIndex {
 public:
  explicit MovieIndex(const std::vector<Movie>& movies) {
    ids_.reserve(movies.size());
    for (const auto& m : movies) ids_.push_back(m.id);
    if (!ids_.empty() && ids_.front() >= 0 && ids_.back() < kDenseMovieIdLimit) {
      slot_.assign(static_cast<std::size_t>(ids_.back()) + 1, -1);
      for (std::size_t i = 0; i < ids_.size(); ++i)
        slot_[static_cast<std::size_t>(ids_[i])] = static_cast<std::int32_t>(i);
    }
  }
  // The catalog position of `id`, or -1.
  std::int32_t find(std::int64_t id) const noexcept {
    if (!slot_.empty())
      return id >= 0 && id < static_cast<std::int64_t>(slot_.size()) ? slot_[static_cast<std::size_t>(id)]
                                                                     : -1;
    auto it = std::lower_bound(ids_.begin(), ids_.end(), id);
    return it != ids_.end() && *it == id ? static_cast<std::int32_t>(it - ids_.begin()) : -1;
  }
  std::int64_t id(std::int32_t position) const noexcept { return ids_[static_cast<std::size_t>(position)]; }
  std::size_t size() const noexcept { return ids_.size(); }

 private:
  std::vector<std::int64_t> ids_;
  std::vector<std::int32_t> slot_;
};

// One parsed rating; the user is carried by the chunk's runs.
struct ParsedRating {
  std::int64_t user;
  std::int32_t movie;  // catalog position
  float rating;
  std::uint32_t timestamp;
};

bool on_grid(float rating, const RatingFormat& format) noexcept {
  const float steps = (rating - format.scale.min) / format.step;
  return rating >= format.scale.min && rating <= format.scale.max && steps == std::nearbyint(steps);
}

// Digits beyond this many go to the general parser (which also diagnoses overflow).
constexpr int kFastDigitsMax = 18;

inline bool at_separator(const char* p, const char* end, std::string_view separator) noexcept {
  if (static_cast<std::size_t>(end - p) < separator.size()) return false;
  for (std::size_t i = 0; i < separator.size(); ++i) {
    if (p[i] != separator[i]) return false;
  }
  return true;
}

// Parses an unsigned decimal integer and the separator after it; returns the position after the
// separator, or nullptr (then the slow path says what is wrong).
inline const char* integer_then(const char* p, const char* end, std::int64_t& value,
                                std::string_view separator) noexcept {
  const char* start = p;
  std::uint64_t x = 0;
  while (p < end && static_cast<unsigned>(*p - '0') < 10u && p - start < kFastDigitsMax) {
    x = x * 10 + static_cast<unsigned>(*p - '0');
    ++p;
  }
  if (p == start || !at_separator(p, end, separator)) return nullptr;
  value = static_cast<std::int64_t>(x);
  return p + separator.size();
}

// The common case, fast: "user SEP movie SEP rating SEP timestamp" with every value valid.
inline bool parse_rating_line(const char* p, const char* end, const RatingFormat& format,
                              const MovieIndex& known, ParsedRating& out) noexcept {
  std::int64_t user = 0;
  std::int64_t movie = 0;
  std::int64_t timestamp = 0;
  float rating = 0.0f;
  if (!(p = integer_then(p, end, user, format.separator))) return false;
  if (!(p = integer_then(p, end, movie, format.separator))) return false;
  // Ratings are nearly always "d" or "d.d": read those exactly without the general float parser.
  if (p + 1 < end && p[0] >= '0' && p[0] <= '9' && at_separator(p + 1, end, format.separator)) {
    rating = static_cast<float>(p[0] - '0');
    p += 1 + format.separator.size();
  } else if (p + 3 < end && p[0] >= '0' && p[0] <= '9' && p[1] == '.' && p[2] >= '0' && p[2] <= '9' &&
             at_separator(p + 3, end, format.separator)) {
    rating = static_cast<float>(p[0] - '0') + static_cast<float>(p[2] - '0') / 10.0f;
    p += 3 + format.separator.size();
  } else {
    auto [ptr, ec] = std::from_chars(p, end, rating);
    if (ec != std::errc{} || ptr == p || !at_separator(ptr, end, format.separator)) return false;
    p = ptr + format.separator.size();
  }
  const char* digits = p;
  std::uint64_t ts = 0;
  while (p < end && static_cast<unsigned>(*p - '0') < 10u && p - digits < kFastDigitsMax) {
    ts = ts * 10 + static_cast<unsigned>(*p - '0');
    ++p;
  }
  if (p == digits || p != end) return false;
  timestamp = static_cast<std::int64_t>(ts);
  if (user < 0 || movie < 0 || timestamp < 0 || timestamp > std::numeric_limits<std::uint32_t>::max())
    return false;
  if (!on_grid(rating, format)) return false;
  const auto position = known.find(movie);
  if (position < 0) return false;
  out = {user, position, rating, static_cast<std::uint32_t>(timestamp)};
  return true;
}

std::string describe_scale(const RatingFormat& format) {
  return fmt::format("a rating from {:g} to {:g} in steps of {:g}", format.scale.min, format.scale.max,
                     format.step);
}

// Why parse_rating_line() refused `line`: what was expected, for the error message.
std::string describe_rating_error(std::string_view line, const RatingFormat& format, const MovieIndex& known,
                                  const std::string& movies_file) {
  if (line.empty()) return fmt::format("expected 4 fields ({}), found an empty line", format.field_names);
  const auto fields = split(line, format.separator);
  if (fields.size() != 4) {
    return fmt::format("expected 4 fields ({}), found {}", format.field_names, fields.size());
  }
  std::int64_t user = 0;
  std::int64_t movie = 0;
  std::int64_t timestamp = 0;
  float rating = 0.0f;
  if (!parse_int(fields[0], user) || user < 0) {
    return fmt::format("expected a non-negative integer user id, found {}", quote_field(fields[0]));
  }
  if (!parse_int(fields[1], movie) || movie < 0) {
    return fmt::format("expected a non-negative integer movie id, found {}", quote_field(fields[1]));
  }
  if (!parse_float(fields[2], rating) || !std::isfinite(rating)) {
    return fmt::format("expected a rating number, found {}", quote_field(fields[2]));
  }
  if (!on_grid(rating, format))
    return fmt::format("expected {}, found {}", describe_scale(format), fields[2]);
  if (!parse_int(fields[3], timestamp) || timestamp < 0 ||
      timestamp > std::numeric_limits<std::uint32_t>::max()) {
    return fmt::format("expected an integer timestamp (seconds since 1970, 0 to {}), found {}",
                       std::numeric_limits<std::uint32_t>::max(), quote_field(fields[3]));
  }
  if (known.find(movie) < 0)
    return fmt::format("expected a movie id listed in {}, found movie id {}", movies_file, movie);
  return fmt::format("expected {}", format.field_names);
}

// A run of consecutive ratings by one user, in file order.
struct UserRun {
  std::int64_t user;
  std::int64_t first;  // position of its first rating
};

struct Chunk {
  const char* begin = nullptr;
  const char* end = nullptr;
  std::int64_t first_line = 0;  // 1-based line number of the chunk's first line
  std::int64_t first_slot = 0;  // index of its first line among the rating lines
  std::int64_t lines = 0;
  std::int64_t valid = 0;
  std::int64_t bad = 0;
  std::int64_t first_bad_line = 0;
  std::string first_bad_message;
  std::vector<UserRun> runs;  // positions relative to first_slot
  bool sorted = true;         // strictly increasing (user, movie) inside the chunk
  std::int32_t first_movie = -1;
  std::int32_t last_movie = -1;
};

// Cuts `body` into chunks that end right after a '\n' (the last one at the end of body).
std::vector<Chunk> cut_chunks(std::string_view body) {
  std::vector<Chunk> chunks;
  const char* p = body.data();
  const char* end = body.data() + body.size();
  while (p < end) {
    const char* cut = end;
    if (static_cast<std::size_t>(end - p) > kChunkBytes) {
      const void* nl = std::memchr(p + kChunkBytes, '\n', static_cast<std::size_t>(end - (p + kChunkBytes)));
      cut = nl ? static_cast<const char*>(nl) + 1 : end;
    }
    Chunk c;
    c.begin = p;
    c.end = cut;
    chunks.push_back(std::move(c));
    p = cut;
  }
  return chunks;
}

std::int64_t count_newlines(const char* begin, const char* end) noexcept {
  std::int64_t n = 0;
  for (const char* p = begin; p < end; ++p) n += (*p == '\n');
  return n;
}

// The ratings of a file as parallel arrays in file order (bad lines removed), with the users as runs.
struct RatingsRead {
  std::vector<UserRun> runs;        // consecutive runs of one user merged
  std::vector<std::int32_t> movie;  // catalog position of each rating's movie
  std::vector<float> rating;
  std::vector<std::uint32_t> timestamp;
  bool sorted = true;  // strictly increasing (user, movie) over the whole file
  std::int64_t lines = 0;
  std::int64_t skipped = 0;
  std::string first_skipped;  // the message of the first skipped line
};

void parse_chunk(Chunk& chunk, std::int64_t index, const RatingFormat& format, const MovieIndex& known,
                 const std::string& movies_file, bool skip_bad_lines, RatingsRead& read,
                 std::atomic<std::int64_t>& first_failed_chunk) {
  std::int32_t* movies = read.movie.data() + chunk.first_slot;
  float* ratings = read.rating.data() + chunk.first_slot;
  std::uint32_t* timestamps = read.timestamp.data() + chunk.first_slot;
  std::int64_t n = 0;
  std::int64_t last_user = std::numeric_limits<std::int64_t>::min();
  std::int32_t last_movie = -1;
  const char* p = chunk.begin;
  ParsedRating r{};
  for (std::int64_t k = 0; k < chunk.lines; ++k) {
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(chunk.end - p)));
    const char* line_end = nl ? nl : chunk.end;
    const char* content_end = (line_end > p && line_end[-1] == '\r') ? line_end - 1 : line_end;
    if (parse_rating_line(p, content_end, format, known, r)) {
      if (r.user != last_user) {
        if (r.user < last_user) chunk.sorted = false;
        chunk.runs.push_back({r.user, n});
        last_user = r.user;
      } else if (r.movie <= last_movie) {
        chunk.sorted = false;
      }
      if (n == 0) chunk.first_movie = r.movie;
      last_movie = r.movie;
      movies[n] = r.movie;
      ratings[n] = r.rating;
      timestamps[n] = r.timestamp;
      ++n;
    } else {
      if (chunk.bad == 0) {
        chunk.first_bad_line = chunk.first_line + k;
        chunk.first_bad_message = describe_rating_error(
            std::string_view(p, static_cast<std::size_t>(content_end - p)), format, known, movies_file);
      }
      ++chunk.bad;
      if (!skip_bad_lines) {
        std::int64_t seen = first_failed_chunk.load();
        while (index < seen && !first_failed_chunk.compare_exchange_weak(seen, index)) {
        }
        break;
      }
    }
    p = line_end + 1;
  }
  chunk.valid = n;
  chunk.last_movie = last_movie;
}

// The ratings of the whole file (part == nullptr), or of one part of it: then the header is read only by
// the part that starts the file, trailing blank lines are dropped only by the part that ends it, an empty
// part is no error, skipped lines are counted but not logged, and the line numbers are the file's.
RatingsRead read_ratings(const std::filesystem::path& path, const RatingFormat& format,
                         const MovieIndex& known, const std::string& movies_file, const LoadOptions& options,
                         const RatingsPart* part = nullptr) {
  const std::string file = path.string();
  MappedFile mapped(path);
  std::string_view text = mapped.text();
  const auto size = static_cast<std::int64_t>(text.size());
  std::int64_t first_line = 1;
  bool at_start = true;
  bool at_end = true;
  if (part) {
    if (part->begin < 0 || part->end < part->begin || part->end > size || part->first_line < 1) {
      throw InvalidArgument(
          fmt::format("{}: part [{}, {}) starting at line {} is outside the file ({} bytes)", file,
                      part->begin, part->end, part->first_line, size));
    }
    text =
        text.substr(static_cast<std::size_t>(part->begin), static_cast<std::size_t>(part->end - part->begin));
    first_line = part->first_line;
    at_start = part->begin == 0;
    at_end = part->end == size;
  }
  if (text.empty() && !part)
    throw IoError(file + " is empty: expected MovieLens ratings (" + std::string(format.field_names) + ")");

  if (!format.header.empty() && at_start && !text.empty()) {
    text = strip_bom(text);
    const auto nl = text.find('\n');
    const auto header = text::trim(strip_cr(text.substr(0, nl)));
    if (header != format.header) {
      throw ParseError(
          file, 1, fmt::format("expected the header \"{}\", found {}", format.header, quote_field(header)));
    }
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    first_line += 1;
  }
  // A part that stops before the end of the file stops after a line's '\n': that line is its last one.
  if (!at_end && !text.empty() && text.back() == '\n') text.remove_suffix(1);
  // Blank lines at the very end are a common editing artifact, not data.
  while (at_end && !text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
    text.remove_suffix(1);
  if (text.empty()) {
    if (part) return {};
    throw IoError(file + " has no rating lines: expected " + std::string(format.field_names));
  }

  const int threads = options.threads > 0 ? options.threads : omp_get_max_threads();
  auto chunks = cut_chunks(text);
  const auto n_chunks = static_cast<std::int64_t>(chunks.size());
#pragma omp parallel for schedule(static) num_threads(threads)
  for (std::int64_t c = 0; c < n_chunks; ++c) {
    auto& chunk = chunks[static_cast<std::size_t>(c)];
    chunk.lines = count_newlines(chunk.begin, chunk.end) + (c + 1 == n_chunks ? 1 : 0);
  }
  std::int64_t total_lines = 0;
  for (auto& chunk : chunks) {
    chunk.first_slot = total_lines;
    chunk.first_line = first_line + total_lines;
    total_lines += chunk.lines;
  }

  RatingsRead read;
  read.lines = total_lines;
  read.movie.resize(static_cast<std::size_t>(total_lines));
  read.rating.resize(static_cast<std::size_t>(total_lines));
  read.timestamp.resize(static_cast<std::size_t>(total_lines));
  std::optional<Progress> progress;
  if (!part && mapped.size() >= kProgressMinBytes)
    progress.emplace("reading " + path.filename().string(), total_lines, "lines");

  // Without skip_bad_lines the first bad line (in file order) stops everything after it.
  std::atomic<std::int64_t> first_failed_chunk{n_chunks};
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
  for (std::int64_t c = 0; c < n_chunks; ++c) {
    if (c > first_failed_chunk.load(std::memory_order_relaxed)) continue;
    parse_chunk(chunks[static_cast<std::size_t>(c)], c, format, known, movies_file, options.skip_bad_lines,
                read, first_failed_chunk);
    if (progress) progress->advance(chunks[static_cast<std::size_t>(c)].lines);
  }
  if (progress) progress->finish();

  BadLines bad(file, options.skip_bad_lines);
  for (const auto& chunk : chunks) {
    if (chunk.bad == 0) continue;
    if (!options.skip_bad_lines) throw ParseError(file, chunk.first_bad_line, chunk.first_bad_message);
    bad.add(chunk.bad, ParseError(file, chunk.first_bad_line, chunk.first_bad_message).what());
  }

  // Join the chunks in file order: close the gaps skipped lines left, and merge the user runs.
  std::int64_t write = 0;
  const Chunk* previous = nullptr;
  for (auto& chunk : chunks) {
    if (chunk.valid == 0) continue;
    if (write != chunk.first_slot) {
      const auto from = static_cast<std::size_t>(chunk.first_slot);
      const auto count = static_cast<std::size_t>(chunk.valid);
      const auto to = static_cast<std::size_t>(write);
      std::copy_n(read.movie.begin() + static_cast<std::ptrdiff_t>(from), count,
                  read.movie.begin() + static_cast<std::ptrdiff_t>(to));
      std::copy_n(read.rating.begin() + static_cast<std::ptrdiff_t>(from), count,
                  read.rating.begin() + static_cast<std::ptrdiff_t>(to));
      std::copy_n(read.timestamp.begin() + static_cast<std::ptrdiff_t>(from), count,
                  read.timestamp.begin() + static_cast<std::ptrdiff_t>(to));
    }
    read.sorted = read.sorted && chunk.sorted;
    for (std::size_t k = 0; k < chunk.runs.size(); ++k) {
      const auto& run = chunk.runs[k];
      if (k == 0 && !read.runs.empty() && read.runs.back().user == run.user) {
        // The user continues from the previous chunk.
        if (previous && run.first == 0 && chunk.first_movie <= previous->last_movie) read.sorted = false;
        continue;
      }
      if (!read.runs.empty() && read.runs.back().user > run.user) read.sorted = false;
      read.runs.push_back({run.user, write + run.first});
    }
    write += chunk.valid;
    previous = &chunk;
  }
  read.movie.resize(static_cast<std::size_t>(write));
  read.rating.resize(static_cast<std::size_t>(write));
  read.timestamp.resize(static_cast<std::size_t>(write));
  if (!part) bad.warn();
  read.skipped = bad.count();
  read.first_skipped = bad.first();
  if (write == 0 && !part) throw IoError(file + ": every rating line was bad; no ratings left");
  return read;
}

// Builds the rating matrix and its column -> catalog map. A file sorted by (user, movie), as
// MovieLens writes them, is already in CSR order; any other order goes through from_entries().
void build_matrix(RatingsRead read, const MovieIndex& known, Dataset& ds) {
  const auto nnz = static_cast<std::int64_t>(read.movie.size());
  if (!read.sorted) {
    std::vector<RatingEntry> entries(read.movie.size());
    const auto n_runs = static_cast<std::int64_t>(read.runs.size());
#pragma omp parallel for schedule(static)
    for (std::int64_t k = 0; k < n_runs; ++k) {
      const auto& run = read.runs[static_cast<std::size_t>(k)];
      const auto end = k + 1 < n_runs ? read.runs[static_cast<std::size_t>(k) + 1].first : nnz;
      for (auto i = run.first; i < end; ++i) {
        const auto s = static_cast<std::size_t>(i);
        entries[s] = {run.user, known.id(read.movie[s]), read.rating[s], read.timestamp[s]};
      }
    }
    read = {};
    ds.ratings = RatingMatrix::from_entries(std::move(entries), &ds.report.duplicates);
    const auto movie_ids = ds.ratings.movie_ids();
    ds.movie_of_column.resize(movie_ids.size());
    for (std::size_t j = 0; j < movie_ids.size(); ++j) ds.movie_of_column[j] = known.find(movie_ids[j]);
    return;
  }

  // Columns are the rated catalog positions, in catalog (= id) order.
  std::vector<std::int32_t> column_of(known.size(), 0);
#pragma omp parallel for schedule(static)
  for (std::int64_t i = 0; i < nnz; ++i) {
    // Every thread stores the same value, so relaxed atomic stores are enough.
    std::atomic_ref<std::int32_t>(
        column_of[static_cast<std::size_t>(read.movie[static_cast<std::size_t>(i)])])
        .store(1, std::memory_order_relaxed);
  }
  std::vector<std::int64_t> movie_ids;
  for (std::size_t m = 0; m < column_of.size(); ++m) {
    if (column_of[m] == 0) continue;
    column_of[m] = static_cast<std::int32_t>(ds.movie_of_column.size());
    ds.movie_of_column.push_back(static_cast<std::int32_t>(m));
    movie_ids.push_back(known.id(static_cast<std::int32_t>(m)));
  }
  bool any_timestamp = false;
#pragma omp parallel for schedule(static) reduction(|| : any_timestamp)
  for (std::int64_t i = 0; i < nnz; ++i) {
    auto& m = read.movie[static_cast<std::size_t>(i)];
    m = column_of[static_cast<std::size_t>(m)];
    any_timestamp = any_timestamp || read.timestamp[static_cast<std::size_t>(i)] != 0;
  }
  if (!any_timestamp) read.timestamp = {};

  SparseMatrix csr;
  csr.rows = static_cast<std::int32_t>(read.runs.size());
  csr.cols = static_cast<std::int32_t>(movie_ids.size());
  std::vector<std::int64_t> user_ids(read.runs.size());
  csr.indptr.resize(read.runs.size() + 1);
  for (std::size_t k = 0; k < read.runs.size(); ++k) {
    user_ids[k] = read.runs[k].user;
    csr.indptr[k] = read.runs[k].first;
  }
  csr.indptr.back() = nnz;
  csr.indices = std::move(read.movie);
  csr.values = std::move(read.rating);
  ds.report.duplicates = 0;  // strictly increasing pairs cannot repeat
  ds.ratings = RatingMatrix::from_csr(std::move(csr), std::move(read.timestamp), std::move(user_ids),
                                      std::move(movie_ids));
}

// Movie catalog under construction: rejects a second line for the same id.
class Catalog {
 public:
  Catalog(BadLines& bad) : bad_(bad) {}
  void add(Movie movie, std::int64_t line) {
    auto [it, inserted] = line_of_.try_emplace(movie.id, line);
    if (!inserted) {
      bad_.fail(line, fmt::format("expected each movie id once, found movie id {} again (first on line {})",
                                  movie.id, it->second));
      return;
    }
    movies_.push_back(std::move(movie));
  }
  std::vector<Movie> finish() {
    std::sort(movies_.begin(), movies_.end(), [](const Movie& a, const Movie& b) { return a.id < b.id; });
    return std::move(movies_);
  }

 private:
  BadLines& bad_;
  std::vector<Movie> movies_;
  std::unordered_map<std::int64_t, std::int64_t> line_of_;
};

std::vector<std::string> split_genres(std::string_view text) {
  text = text::trim(text);
  if (text.empty() || text == kNoGenres) return {};
  std::vector<std::string> genres;
  for (auto g : split(text, "|")) {
    g = text::trim(g);
    if (!g.empty()) genres.emplace_back(g);
  }
  return genres;
}

// The text of a small file (catalog, links), checked to be non-empty.
std::string_view small_file_text(const MappedFile& mapped, const std::string& file,
                                 std::string_view expected) {
  auto text = strip_bom(mapped.text());
  if (text::trim(text).empty() || text.find_first_not_of("\r\n \t") == std::string_view::npos) {
    throw IoError(file + " is empty: expected " + std::string(expected));
  }
  return text;
}

void check_header(std::string_view line, std::string_view expected, const std::string& file) {
  if (text::trim(line) != expected) {
    throw ParseError(file, 1,
                     fmt::format("expected the header \"{}\", found {}", expected, quote_field(line)));
  }
}

bool blank(std::string_view line) {
  return text::trim(line).empty();
}

std::vector<Movie> read_movies_csv(const std::filesystem::path& path, BadLines& bad) {
  const std::string file = path.string();
  MappedFile mapped(path);
  const auto text = small_file_text(mapped, file, "movieId,title,genres");
  Catalog catalog(bad);
  std::vector<std::string> fields;
  std::string error;
  for_each_line(text, [&](std::string_view line, std::int64_t number) {
    if (number == 1) return check_header(line, "movieId,title,genres", file);
    if (blank(line)) return bad.fail(number, "expected 3 fields (movieId,title,genres), found an empty line");
    if (!split_csv(line, fields, &error)) return bad.fail(number, error);
    if (fields.size() != 3) {
      return bad.fail(number,
                      fmt::format("expected 3 fields (movieId,title,genres), found {}", fields.size()));
    }
    Movie movie;
    if (!parse_int(fields[0], movie.id) || movie.id < 0) {
      return bad.fail(number, "expected a non-negative integer movieId, found " + quote_field(fields[0]));
    }
    auto parsed = parse_title(utf8_or_latin1(fields[1]));
    if (parsed.title.empty()) return bad.fail(number, "expected a title, found " + quote_field(fields[1]));
    movie.title = std::move(parsed.title);
    movie.year = parsed.year;
    movie.genres = split_genres(fields[2]);
    catalog.add(std::move(movie), number);
  });
  return catalog.finish();
}

void read_links_csv(const std::filesystem::path& path, std::vector<Movie>& movies, BadLines& bad) {
  const std::string file = path.string();
  MappedFile mapped(path);
  const auto text = small_file_text(mapped, file, "movieId,imdbId,tmdbId");
  std::unordered_map<std::int64_t, std::int64_t> line_of;
  std::vector<std::string> fields;
  std::string error;
  for_each_line(text, [&](std::string_view line, std::int64_t number) {
    if (number == 1) return check_header(line, "movieId,imdbId,tmdbId", file);
    if (blank(line))
      return bad.fail(number, "expected 3 fields (movieId,imdbId,tmdbId), found an empty line");
    if (!split_csv(line, fields, &error)) return bad.fail(number, error);
    if (fields.size() != 3 && fields.size() != 2) {
      return bad.fail(number,
                      fmt::format("expected 3 fields (movieId,imdbId,tmdbId), found {}", fields.size()));
    }
    std::int64_t id = 0;
    if (!parse_int(fields[0], id))
      return bad.fail(number, "expected an integer movieId, found " + quote_field(fields[0]));
    std::optional<std::int64_t> ids[2];
    const char* names[2] = {"imdbId", "tmdbId"};
    for (std::size_t k = 1; k < fields.size(); ++k) {
      const auto field = text::trim(fields[k]);
      if (field.empty()) continue;  // MovieLens leaves unknown ids empty
      std::int64_t value = 0;
      if (!parse_int(field, value) || value < 0) {
        return bad.fail(number, fmt::format("expected an integer {} or nothing, found {}", names[k - 1],
                                            quote_field(field)));
      }
      ids[k - 1] = value;
    }
    auto it = std::lower_bound(movies.begin(), movies.end(), id,
                               [](const Movie& m, std::int64_t v) { return m.id < v; });
    if (it == movies.end() || it->id != id) {
      return bad.fail(number, fmt::format("expected a movieId listed in movies.csv, found movie id {}", id));
    }
    auto [seen, inserted] = line_of.try_emplace(id, number);
    if (!inserted) {
      return bad.fail(
          number, fmt::format("expected each movieId once, found movie id {} again (first on line {})", id,
                              seen->second));
    }
    it->imdb_id = ids[0];
    it->tmdb_id = ids[1];
  });
}

std::vector<Movie> read_movies_dat(const std::filesystem::path& path, BadLines& bad) {
  const std::string file = path.string();
  MappedFile mapped(path);
  const auto text = small_file_text(mapped, file, "MovieID::Title::Genres");
  Catalog catalog(bad);
  for_each_line(text, [&](std::string_view line, std::int64_t number) {
    const auto first = line.find("::");
    const auto last = line.rfind("::");
    if (blank(line) || first == std::string_view::npos || first == last) {
      return bad.fail(number, "expected 3 fields separated by \"::\" (MovieID::Title::Genres)");
    }
    Movie movie;
    const auto id_field = line.substr(0, first);
    if (!parse_int(id_field, movie.id) || movie.id < 0) {
      return bad.fail(number, "expected a non-negative integer MovieID, found " + quote_field(id_field));
    }
    // ml-1m writes titles in Latin-1, ml-10m in UTF-8.
    auto parsed = parse_title(utf8_or_latin1(line.substr(first + 2, last - first - 2)));
    if (parsed.title.empty()) return bad.fail(number, "expected a title between the first two \"::\"");
    movie.title = std::move(parsed.title);
    movie.year = parsed.year;
    movie.genres = split_genres(line.substr(last + 2));
    catalog.add(std::move(movie), number);
  });
  return catalog.finish();
}

std::vector<Movie> read_u_item(const std::filesystem::path& path, BadLines& bad) {
  const std::string file = path.string();
  MappedFile mapped(path);
  const auto text =
      small_file_text(mapped, file, "movie id|title|release date|video release date|IMDb URL|19 genre flags");
  const std::size_t n_fields = kUItemFixedFields + kUItemGenres.size();
  Catalog catalog(bad);
  for_each_line(text, [&](std::string_view line, std::int64_t number) {
    const auto fields = split(line, "|");
    if (fields.size() != n_fields) {
      return bad.fail(number,
                      fmt::format("expected {} |-separated fields (movie id|title|release date|video release "
                                  "date|IMDb URL|19 genre flags), found {}",
                                  n_fields, blank(line) ? 0 : fields.size()));
    }
    Movie movie;
    if (!parse_int(fields[0], movie.id) || movie.id < 0) {
      return bad.fail(number, "expected a non-negative integer movie id, found " + quote_field(fields[0]));
    }
    // u.item is Latin-1 throughout (ml-100k predates UTF-8 in MovieLens).
    auto parsed = parse_title(latin1_to_utf8(fields[1]));
    if (parsed.title.empty()) return bad.fail(number, "expected a title, found " + quote_field(fields[1]));
    movie.title = std::move(parsed.title);
    movie.year = parsed.year;
    // Titles without "(year)" still have a release date like "01-Jan-1995".
    const auto date = text::trim(fields[2]);
    std::int64_t date_year = 0;
    if (movie.year == 0 && date.size() >= kYearDigits &&
        parse_int(date.substr(date.size() - kYearDigits), date_year)) {
      movie.year = static_cast<std::int32_t>(date_year);
    }
    for (std::size_t g = 0; g < kUItemGenres.size(); ++g) {
      const auto flag = text::trim(fields[kUItemFixedFields + g]);
      if (flag != "0" && flag != "1") {
        return bad.fail(number, fmt::format("expected a genre flag 0 or 1 for {} (field {}), found {}",
                                            kUItemGenres[g], kUItemFixedFields + g + 1, quote_field(flag)));
      }
      if (flag == "1") movie.genres.emplace_back(kUItemGenres[g]);
    }
    catalog.add(std::move(movie), number);
  });
  return catalog.finish();
}

}  // namespace

std::vector<std::string> layout_files(Layout layout) {
  switch (layout) {
    case Layout::csv:
      return {"ratings.csv", "movies.csv", "links.csv"};
    case Layout::dat:
      return {"ratings.dat", "movies.dat"};
    case Layout::u_data:
      return {"u.data", "u.item"};
  }
  return {};
}

RatingScale layout_scale(Layout layout) noexcept {
  if (layout == Layout::u_data) return {1.0f, 5.0f};
  return {0.5f, 5.0f};
}

float layout_rating_step(Layout layout) noexcept {
  return layout == Layout::u_data ? 1.0f : 0.5f;
}

Dataset read_movielens_catalog(const std::filesystem::path& dir, Layout layout, const LoadOptions& options) {
  const auto names = layout_files(layout);
  Dataset ds;
  ds.dir = dir;
  ds.layout = layout;
  ds.scale = layout_scale(layout);

  const auto movies_path = dir / names[1];
  BadLines bad_movies(movies_path.string(), options.skip_bad_lines);
  switch (layout) {
    case Layout::csv: {
      ds.movies = read_movies_csv(movies_path, bad_movies);
      BadLines bad_links((dir / names[2]).string(), options.skip_bad_lines);
      read_links_csv(dir / names[2], ds.movies, bad_links);
      bad_links.warn();
      ds.report.skipped_lines += bad_links.count();
      break;
    }
    case Layout::dat:
      ds.movies = read_movies_dat(movies_path, bad_movies);
      break;
    case Layout::u_data:
      ds.movies = read_u_item(movies_path, bad_movies);
      break;
  }
  bad_movies.warn();
  ds.report.skipped_lines += bad_movies.count();
  if (ds.movies.empty()) throw IoError(movies_path.string() + ": no movies left after skipping bad lines");
  return ds;
}

Dataset read_movielens(const std::filesystem::path& dir, Layout layout, const LoadOptions& options) {
  const auto names = layout_files(layout);
  Dataset ds = read_movielens_catalog(dir, layout, options);
  const MovieIndex known(ds.movies);
  auto read = read_ratings(dir / names[0], rating_format(layout), known, names[1], options);
  ds.report.lines_read = read.lines;
  ds.report.skipped_lines += read.skipped;
  build_matrix(std::move(read), known, ds);
  if (ds.report.duplicates > 0) {
    spdlog::warn("{}: {} duplicate (user, movie) rating{}; the last one in the file was kept",
                 (dir / names[0]).string(), ds.report.duplicates, ds.report.duplicates == 1 ? "" : "s");
  }
  return ds;
}

PartRatings read_ratings_part(const Dataset& catalog, const RatingsPart& part, const LoadOptions& options) {
  const auto names = layout_files(catalog.layout);
  const MovieIndex known(catalog.movies);
  RatingsRead read =
      read_ratings(catalog.dir / names[0], rating_format(catalog.layout), known, names[1], options, &part);
  PartRatings out;
  const auto nnz = static_cast<std::int64_t>(read.movie.size());
  out.user_ids.resize(read.movie.size());
  for (std::size_t k = 0; k < read.runs.size(); ++k) {
    const auto end = k + 1 < read.runs.size() ? read.runs[k + 1].first : nnz;
    std::fill(out.user_ids.begin() + read.runs[k].first, out.user_ids.begin() + end, read.runs[k].user);
  }
  out.catalog_movie = std::move(read.movie);
  out.ratings = std::move(read.rating);
  out.timestamps = std::move(read.timestamp);
  out.lines = read.lines;
  out.skipped = read.skipped;
  out.first_skipped = std::move(read.first_skipped);
  return out;
}

std::int64_t line_start_at_or_after(const std::filesystem::path& path, std::int64_t offset) {
  const MappedFile mapped(path);
  const auto text = mapped.text();
  const auto size = static_cast<std::int64_t>(text.size());
  if (offset <= 0) return 0;
  if (offset >= size) return size;
  const auto nl = text.find('\n', static_cast<std::size_t>(offset - 1));
  return nl == std::string_view::npos ? size : static_cast<std::int64_t>(nl) + 1;
}

std::int64_t count_line_ends(const std::filesystem::path& path, std::int64_t begin, std::int64_t end) {
  const MappedFile mapped(path);
  const auto text = mapped.text();
  begin = std::clamp<std::int64_t>(begin, 0, static_cast<std::int64_t>(text.size()));
  end = std::clamp<std::int64_t>(end, begin, static_cast<std::int64_t>(text.size()));
  return count_newlines(text.data() + begin, text.data() + end);
}

}  // namespace cinefactor::detail
