#include "movielens.hpp"

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
#include "text_scan.hpp"
#include "title.hpp"

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
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy",  "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
    "Romance", "Sci-Fi", "Thriller", "War", "Western"};
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
      return {"::", "", "UserID::MovieID::Rating::Timestamp", layout_scale(layout), layout_rating_step(layout)};
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
  void warn() const {
    if (count_ > 0) spdlog::warn("{}: skipped {} bad line{} (first: {})", file_, count_, count_ == 1 ? "" : "s", first_);
  }

 private:
  std::string file_;
  bool skip_;
  std::int64_t count_ = 0;
  std::string first_;
};

// The movie ids of the catalog, for checking every rating against it.
class KnownMovies {
 public:
  explicit KnownMovies(const std::vector<Movie>& movies) {
    ids_.reserve(movies.size());
    for (const auto& m : movies) ids_.push_back(m.id);
    std::sort(ids_.begin(), ids_.end());
    if (!ids_.empty() && ids_.front() >= 0 && ids_.back() < kDenseMovieIdLimit) {
      present_.assign(static_cast<std::size_t>(ids_.back()) + 1, 0);
      for (auto id : ids_) present_[static_cast<std::size_t>(id)] = 1;
    }
  }
  bool contains(std::int64_t id) const noexcept {
    if (!present_.empty()) return id >= 0 && id < static_cast<std::int64_t>(present_.size()) && present_[static_cast<std::size_t>(id)];
    return std::binary_search(ids_.begin(), ids_.end(), id);
  }

 private:
  std::vector<std::int64_t> ids_;
  std::vector<std::uint8_t> present_;
};

bool on_grid(float rating, const RatingFormat& format) noexcept {
  const float steps = (rating - format.scale.min) / format.step;
  return rating >= format.scale.min && rating <= format.scale.max && steps == std::nearbyint(steps);
}

// Parses one number and the separator after it; returns the position after the separator or nullptr.
template <typename T>
inline const char* number_then(const char* p, const char* end, T& value, std::string_view separator) noexcept {
  auto [ptr, ec] = std::from_chars(p, end, value);
  if (ec != std::errc{} || ptr == p) return nullptr;
  if (static_cast<std::size_t>(end - ptr) < separator.size() || std::memcmp(ptr, separator.data(), separator.size()) != 0) {
    return nullptr;
  }
  return ptr + separator.size();
}

// The common case, fast: "user SEP movie SEP rating SEP timestamp" with every value valid.
inline bool parse_rating_line(const char* p, const char* end, const RatingFormat& format, const KnownMovies& known,
                              RatingEntry& out) noexcept {
  std::int64_t user = 0;
  std::int64_t movie = 0;
  std::int64_t timestamp = 0;
  float rating = 0.0f;
  if (!(p = number_then(p, end, user, format.separator))) return false;
  if (!(p = number_then(p, end, movie, format.separator))) return false;
  // Ratings are nearly always "d" or "d.d": read those exactly without the general float parser.
  if (p + 1 < end && p[0] >= '0' && p[0] <= '9' && std::memcmp(p + 1, format.separator.data(), format.separator.size()) == 0) {
    rating = static_cast<float>(p[0] - '0');
    p += 1 + format.separator.size();
  } else if (p + 3 < end && p[0] >= '0' && p[0] <= '9' && p[1] == '.' && p[2] >= '0' && p[2] <= '9' &&
             std::memcmp(p + 3, format.separator.data(), format.separator.size()) == 0) {
    rating = static_cast<float>(p[0] - '0') + static_cast<float>(p[2] - '0') / 10.0f;
    p += 3 + format.separator.size();
  } else if (!(p = number_then(p, end, rating, format.separator))) {
    return false;
  }
  auto [ptr, ec] = std::from_chars(p, end, timestamp);
  if (ec != std::errc{} || ptr != end || ptr == p) return false;
  if (user < 0 || movie < 0 || timestamp < 0 || timestamp > std::numeric_limits<std::uint32_t>::max()) return false;
  if (!on_grid(rating, format) || !known.contains(movie)) return false;
  out = {user, movie, rating, static_cast<std::uint32_t>(timestamp)};
  return true;
}

std::string describe_scale(const RatingFormat& format) {
  return fmt::format("a rating from {:g} to {:g} in steps of {:g}", format.scale.min, format.scale.max, format.step);
}

// Why parse_rating_line() refused `line`: what was expected, for the error message.
std::string describe_rating_error(std::string_view line, const RatingFormat& format, const KnownMovies& known,
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
  if (!on_grid(rating, format)) return fmt::format("expected {}, found {}", describe_scale(format), fields[2]);
  if (!parse_int(fields[3], timestamp) || timestamp < 0 || timestamp > std::numeric_limits<std::uint32_t>::max()) {
    return fmt::format("expected an integer timestamp (seconds since 1970, 0 to {}), found {}",
                       std::numeric_limits<std::uint32_t>::max(), quote_field(fields[3]));
  }
  if (!known.contains(movie)) return fmt::format("expected a movie id listed in {}, found movie id {}", movies_file, movie);
  return fmt::format("expected {}", format.field_names);
}

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
    chunks.push_back(c);
    p = cut;
  }
  return chunks;
}

std::int64_t count_newlines(const char* begin, const char* end) noexcept {
  std::int64_t n = 0;
  for (const char* p = begin; p < end; ++p) n += (*p == '\n');
  return n;
}

struct RatingsRead {
  std::vector<RatingEntry> entries;
  std::int64_t lines = 0;
  std::int64_t skipped = 0;
};

RatingsRead read_ratings(const std::filesystem::path& path, const RatingFormat& format, const KnownMovies& known,
                         const std::string& movies_file, const LoadOptions& options) {
  const std::string file = path.string();
  MappedFile mapped(path);
  std::string_view text = mapped.text();
  if (text.empty()) throw IoError(file + " is empty: expected MovieLens ratings (" + std::string(format.field_names) + ")");

  std::int64_t first_line = 1;
  if (!format.header.empty()) {
    text = strip_bom(text);
    const auto nl = text.find('\n');
    const auto header = trim(strip_cr(text.substr(0, nl)));
    if (header != format.header) {
      throw ParseError(file, 1, fmt::format("expected the header \"{}\", found {}", format.header, quote_field(header)));
    }
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    first_line = 2;
  }
  // Blank lines at the very end are a common editing artifact, not data.
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.remove_suffix(1);
  if (text.empty()) throw IoError(file + " has no rating lines: expected " + std::string(format.field_names));

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
  read.entries.resize(static_cast<std::size_t>(total_lines));
  std::optional<Progress> progress;
  if (mapped.size() >= kProgressMinBytes) progress.emplace("reading " + path.filename().string(), total_lines, "lines");

  // Without skip_bad_lines the first bad line (in file order) stops everything after it.
  std::atomic<std::int64_t> first_failed_chunk{n_chunks};
  RatingEntry* slots = read.entries.data();
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
  for (std::int64_t c = 0; c < n_chunks; ++c) {
    if (c > first_failed_chunk.load(std::memory_order_relaxed)) continue;
    auto& chunk = chunks[static_cast<std::size_t>(c)];
    RatingEntry* out = slots + chunk.first_slot;
    const char* p = chunk.begin;
    for (std::int64_t k = 0; k < chunk.lines; ++k) {
      const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(chunk.end - p)));
      const char* line_end = nl ? nl : chunk.end;
      const char* content_end = (line_end > p && line_end[-1] == '\r') ? line_end - 1 : line_end;
      if (parse_rating_line(p, content_end, format, known, *out)) {
        ++out;
      } else {
        if (chunk.bad == 0) {
          chunk.first_bad_line = chunk.first_line + k;
          chunk.first_bad_message =
              describe_rating_error(std::string_view(p, static_cast<std::size_t>(content_end - p)), format, known, movies_file);
        }
        ++chunk.bad;
        if (!options.skip_bad_lines) {
          std::int64_t seen = first_failed_chunk.load();
          while (c < seen && !first_failed_chunk.compare_exchange_weak(seen, c)) {
          }
          break;
        }
      }
      p = line_end + 1;
    }
    chunk.valid = out - (slots + chunk.first_slot);
    if (progress) progress->advance(chunk.lines);
  }
  if (progress) progress->finish();

  BadLines bad(file, options.skip_bad_lines);
  for (const auto& chunk : chunks) {
    if (chunk.bad == 0) continue;
    if (!options.skip_bad_lines) throw ParseError(file, chunk.first_bad_line, chunk.first_bad_message);
    bad.add(chunk.bad, ParseError(file, chunk.first_bad_line, chunk.first_bad_message).what());
  }
  if (bad.count() > 0) {
    // Close the gaps the skipped lines left, keeping file order.
    std::int64_t write = 0;
    for (const auto& chunk : chunks) {
      if (write != chunk.first_slot) {
        std::copy(slots + chunk.first_slot, slots + chunk.first_slot + chunk.valid, slots + write);
      }
      write += chunk.valid;
    }
    read.entries.resize(static_cast<std::size_t>(write));
    bad.warn();
  }
  read.skipped = bad.count();
  if (read.entries.empty()) throw IoError(file + ": every rating line was bad; no ratings left");
  return read;
}

// Movie catalog under construction: rejects a second line for the same id.
class Catalog {
 public:
  Catalog(BadLines& bad) : bad_(bad) {}
  void add(Movie movie, std::int64_t line) {
    auto [it, inserted] = line_of_.try_emplace(movie.id, line);
    if (!inserted) {
      bad_.fail(line, fmt::format("expected each movie id once, found movie id {} again (first on line {})", movie.id,
                                  it->second));
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
  text = trim(text);
  if (text.empty() || text == kNoGenres) return {};
  std::vector<std::string> genres;
  for (auto g : split(text, "|")) {
    g = trim(g);
    if (!g.empty()) genres.emplace_back(g);
  }
  return genres;
}

// The text of a small file (catalog, links), checked to be non-empty.
std::string_view small_file_text(const MappedFile& mapped, const std::string& file, std::string_view expected) {
  auto text = strip_bom(mapped.text());
  if (trim(text).empty() || text.find_first_not_of("\r\n \t") == std::string_view::npos) {
    throw IoError(file + " is empty: expected " + std::string(expected));
  }
  return text;
}

void check_header(std::string_view line, std::string_view expected, const std::string& file) {
  if (trim(line) != expected) {
    throw ParseError(file, 1, fmt::format("expected the header \"{}\", found {}", expected, quote_field(line)));
  }
}

bool blank(std::string_view line) { return trim(line).empty(); }

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
      return bad.fail(number, fmt::format("expected 3 fields (movieId,title,genres), found {}", fields.size()));
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
    if (blank(line)) return bad.fail(number, "expected 3 fields (movieId,imdbId,tmdbId), found an empty line");
    if (!split_csv(line, fields, &error)) return bad.fail(number, error);
    if (fields.size() != 3 && fields.size() != 2) {
      return bad.fail(number, fmt::format("expected 3 fields (movieId,imdbId,tmdbId), found {}", fields.size()));
    }
    std::int64_t id = 0;
    if (!parse_int(fields[0], id)) return bad.fail(number, "expected an integer movieId, found " + quote_field(fields[0]));
    std::optional<std::int64_t> ids[2];
    const char* names[2] = {"imdbId", "tmdbId"};
    for (std::size_t k = 1; k < fields.size(); ++k) {
      const auto field = trim(fields[k]);
      if (field.empty()) continue;  // MovieLens leaves unknown ids empty
      std::int64_t value = 0;
      if (!parse_int(field, value) || value < 0) {
        return bad.fail(number, fmt::format("expected an integer {} or nothing, found {}", names[k - 1], quote_field(field)));
      }
      ids[k - 1] = value;
    }
    auto it = std::lower_bound(movies.begin(), movies.end(), id, [](const Movie& m, std::int64_t v) { return m.id < v; });
    if (it == movies.end() || it->id != id) {
      return bad.fail(number, fmt::format("expected a movieId listed in movies.csv, found movie id {}", id));
    }
    auto [seen, inserted] = line_of.try_emplace(id, number);
    if (!inserted) {
      return bad.fail(number, fmt::format("expected each movieId once, found movie id {} again (first on line {})", id,
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
  const auto text = small_file_text(mapped, file, "movie id|title|release date|video release date|IMDb URL|19 genre flags");
  const std::size_t n_fields = kUItemFixedFields + kUItemGenres.size();
  Catalog catalog(bad);
  for_each_line(text, [&](std::string_view line, std::int64_t number) {
    const auto fields = split(line, "|");
    if (fields.size() != n_fields) {
      return bad.fail(number, fmt::format("expected {} |-separated fields (movie id|title|release date|video release "
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
    const auto date = trim(fields[2]);
    std::int64_t date_year = 0;
    if (movie.year == 0 && date.size() >= kYearDigits && parse_int(date.substr(date.size() - kYearDigits), date_year)) {
      movie.year = static_cast<std::int32_t>(date_year);
    }
    for (std::size_t g = 0; g < kUItemGenres.size(); ++g) {
      const auto flag = trim(fields[kUItemFixedFields + g]);
      if (flag != "0" && flag != "1") {
        return bad.fail(number, fmt::format("expected a genre flag 0 or 1 for {} (field {}), found {}", kUItemGenres[g],
                                            kUItemFixedFields + g + 1, quote_field(flag)));
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

float layout_rating_step(Layout layout) noexcept { return layout == Layout::u_data ? 1.0f : 0.5f; }

Dataset read_movielens(const std::filesystem::path& dir, Layout layout, const LoadOptions& options) {
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

  const KnownMovies known(ds.movies);
  auto read = read_ratings(dir / names[0], rating_format(layout), known, names[1], options);
  ds.report.lines_read = read.lines;
  ds.report.skipped_lines += read.skipped;
  ds.ratings = RatingMatrix::from_entries(std::move(read.entries), &ds.report.duplicates);
  if (ds.report.duplicates > 0) {
    spdlog::warn("{}: {} duplicate (user, movie) rating{}; the last one in the file was kept",
                 (dir / names[0]).string(), ds.report.duplicates, ds.report.duplicates == 1 ? "" : "s");
  }

  const auto movie_ids = ds.ratings.movie_ids();
  ds.movie_of_column.resize(movie_ids.size());
  for (std::size_t j = 0; j < movie_ids.size(); ++j) {
    auto it = std::lower_bound(ds.movies.begin(), ds.movies.end(), movie_ids[j],
                               [](const Movie& m, std::int64_t v) { return m.id < v; });
    ds.movie_of_column[j] = static_cast<std::int32_t>(it - ds.movies.begin());
  }
  return ds;
}

}  // namespace cinefactor::detail
