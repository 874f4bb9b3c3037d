// The model file: header (magic, version, JSON metadata), arrays and checksum, written atomically and
// refused on any inconsistency (see model_file.hpp and docs/model-format.md).
#include "cinefactor/model_file.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>

#include "cinefactor/error.hpp"
#include "core/atomic_file.hpp"
#include "core/regular_file.hpp"
#include "data/text_scan.hpp"

namespace cinefactor {
namespace {

static_assert(std::endian::native == std::endian::little,
              "the model file is little-endian; add byte swapping");

constexpr std::size_t kPreambleBytes = 24;  // magic, version, header length, file length
constexpr std::size_t kChecksumBytes = 8;
constexpr std::int64_t kNoExternalId = -1;  // imdb/tmdb id absent
constexpr char kGenreSeparator = '|';

std::size_t align_up(std::size_t n) {
  return (n + kModelSectionAlignment - 1) / kModelSectionAlignment * kModelSectionAlignment;
}

template <typename T>
void put(std::string& out, std::size_t at, T value) {
  std::memcpy(out.data() + at, &value, sizeof(T));
}

template <typename T>
T get(std::string_view in, std::size_t at) {
  T value;
  std::memcpy(&value, in.data() + at, sizeof(T));
  return value;
}

// One section's bytes, in the order they are written.
struct Section {
  std::string name;
  std::string type;  // i32, i64, u64, f32, u8
  std::size_t count = 0;
  std::string bytes;
};

template <typename T>
Section make_section(std::string name, std::string type, const T* data, std::size_t count) {
  Section s{std::move(name), std::move(type), count, std::string(count * sizeof(T), '\0')};
  if (count > 0) std::memcpy(s.bytes.data(), data, count * sizeof(T));
  return s;
}

std::size_t type_size(const std::string& type) {
  if (type == "i32" || type == "f32") return 4;
  if (type == "i64" || type == "u64") return 8;
  if (type == "u8") return 1;
  return 0;
}

// Ids strictly ascending (so each is unique and a binary search finds it).
bool strictly_ascending(const std::vector<std::int64_t>& ids) {
  return std::adjacent_find(ids.begin(), ids.end(), std::greater_equal<>()) == ids.end();
}

bool all_finite(const std::vector<float>& values) {
  return std::all_of(values.begin(), values.end(), [](float v) { return std::isfinite(v); });
}

// The invariants docs/model-format.md states of the arrays, beyond their sizes: ids strictly ascending,
// every float finite, singular values non-negative and descending, external ids -1 or non-negative,
// rating counts non-negative.
template <typename Refuse>
void check_model_values(const Model& model, const std::vector<float>& means,
                        const std::vector<std::int64_t>& imdb, const std::vector<std::int64_t>& tmdb,
                        const std::vector<std::int32_t>& counts, Refuse&& corrupt) {
  if (!strictly_ascending(model.user_ids)) throw corrupt("user ids are not strictly ascending");
  if (!strictly_ascending(model.movie_ids)) throw corrupt("movie ids are not strictly ascending");
  if (!all_finite(model.user_factors.data)) throw corrupt("user factors hold a NaN or an infinity");
  if (!all_finite(model.movie_factors.data)) throw corrupt("movie factors hold a NaN or an infinity");
  if (!all_finite(model.user_bias)) throw corrupt("user biases hold a NaN or an infinity");
  if (!all_finite(model.movie_bias)) throw corrupt("movie biases hold a NaN or an infinity");
  if (!all_finite(model.singular_values)) throw corrupt("singular values hold a NaN or an infinity");
  const auto& sv = model.singular_values;
  if (std::any_of(sv.begin(), sv.end(), [](float v) { return v < 0.0f; }) ||
      !std::is_sorted(sv.begin(), sv.end(), std::greater<>())) {
    throw corrupt("singular values are not non-negative and descending");
  }
  if (!all_finite(means)) throw corrupt("catalog rating means hold a NaN or an infinity");
  const auto bad_external = [](std::int64_t id) { return id < 0 && id != kNoExternalId; };
  if (std::any_of(imdb.begin(), imdb.end(), bad_external) ||
      std::any_of(tmdb.begin(), tmdb.end(), bad_external))
    throw corrupt("an imdb or tmdb id is negative");
  if (std::any_of(counts.begin(), counts.end(), [](std::int32_t n) { return n < 0; }))
    throw corrupt("a catalog rating count is negative");
}

}  // namespace

std::uint64_t fnv1a64(std::string_view bytes) noexcept {
  std::uint64_t h = 14695981039346656037ull;
  for (const char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

std::string serialize_model(const Model& model) {
  const auto n_users = static_cast<std::size_t>(model.n_users());
  const auto n_movies = static_cast<std::size_t>(model.n_movies());
  const auto k = static_cast<std::size_t>(model.rank());
  const auto user_rows = static_cast<std::size_t>(model.user_factors.rows);
  auto bad = [](const std::string& what) { throw InvalidArgument("cannot save the model: " + what); };
  if ((k > 0 && static_cast<std::size_t>(model.movie_factors.rows) != n_movies) ||
      model.movie_factors.data.size() != static_cast<std::size_t>(model.movie_factors.rows) * k) {
    bad(fmt::format("movie factors are {} x {} with {} values for {} movies", model.movie_factors.rows, k,
                    model.movie_factors.data.size(), n_movies));
  }
  if ((user_rows != 0 && (user_rows != n_users || static_cast<std::size_t>(model.user_factors.cols) != k)) ||
      model.user_factors.data.size() != user_rows * static_cast<std::size_t>(model.user_factors.cols)) {
    bad(fmt::format("user factors are {} x {} for {} users at rank {}", model.user_factors.rows,
                    model.user_factors.cols, n_users, k));
  }
  if (!model.user_bias.empty() && model.user_bias.size() != n_users) bad("user biases are not one per user");
  if (!model.movie_bias.empty() && model.movie_bias.size() != n_movies)
    bad("movie biases are not one per movie");
  if (!model.catalog.empty() && model.catalog.size() != n_movies) bad("catalog is not one entry per movie");

  std::vector<Section> sections;
  sections.push_back(make_section("user_ids", "i64", model.user_ids.data(), n_users));
  sections.push_back(make_section("movie_ids", "i64", model.movie_ids.data(), n_movies));
  sections.push_back(
      make_section("user_factors", "f32", model.user_factors.data.data(), model.user_factors.data.size()));
  sections.push_back(
      make_section("movie_factors", "f32", model.movie_factors.data.data(), model.movie_factors.data.size()));
  sections.push_back(
      make_section("singular_values", "f32", model.singular_values.data(), model.singular_values.size()));
  sections.push_back(make_section("user_bias", "f32", model.user_bias.data(), model.user_bias.size()));
  sections.push_back(make_section("movie_bias", "f32", model.movie_bias.data(), model.movie_bias.size()));

  const std::size_t c = model.catalog.size();
  std::vector<std::int32_t> years(c), counts(c);
  std::vector<float> means(c);
  std::vector<std::int64_t> imdb(c), tmdb(c);
  std::vector<std::uint64_t> title_offsets, genre_offsets;
  std::string titles, genres;
  if (c > 0) {
    title_offsets.push_back(0);
    genre_offsets.push_back(0);
  }
  for (std::size_t j = 0; j < c; ++j) {
    const auto& entry = model.catalog[j];
    if (entry.movie.id != model.movie_ids[j]) {
      bad(fmt::format("catalog entry {} is movie {} but movie index {} is id {}", j, entry.movie.id, j,
                      model.movie_ids[j]));
    }
    years[j] = entry.movie.year;
    counts[j] = entry.rating_count;
    means[j] = entry.rating_mean;
    imdb[j] = entry.movie.imdb_id.value_or(kNoExternalId);
    tmdb[j] = entry.movie.tmdb_id.value_or(kNoExternalId);
    if ((entry.movie.imdb_id && *entry.movie.imdb_id < 0) ||
        (entry.movie.tmdb_id && *entry.movie.tmdb_id < 0)) {
      bad(fmt::format("movie {} has a negative imdb/tmdb id", entry.movie.id));
    }
    titles += entry.movie.title;
    title_offsets.push_back(titles.size());
    for (std::size_t g = 0; g < entry.movie.genres.size(); ++g) {
      const auto& name = entry.movie.genres[g];
      if (name.empty() || name.find(kGenreSeparator) != std::string::npos) {
        bad(fmt::format("movie {} has genre '{}' (empty or containing '{}')", entry.movie.id, name,
                        kGenreSeparator));
      }
      if (g > 0) genres += kGenreSeparator;
      genres += name;
    }
    genre_offsets.push_back(genres.size());
  }
  sections.push_back(make_section("catalog_year", "i32", years.data(), c));
  sections.push_back(make_section("catalog_rating_count", "i32", counts.data(), c));
  sections.push_back(make_section("catalog_rating_mean", "f32", means.data(), c));
  sections.push_back(make_section("catalog_imdb_id", "i64", imdb.data(), c));
  sections.push_back(make_section("catalog_tmdb_id", "i64", tmdb.data(), c));
  sections.push_back(
      make_section("catalog_title_offsets", "u64", title_offsets.data(), title_offsets.size()));
  sections.push_back(make_section("catalog_titles", "u8", titles.data(), titles.size()));
  sections.push_back(
      make_section("catalog_genre_offsets", "u64", genre_offsets.data(), genre_offsets.size()));
  sections.push_back(make_section("catalog_genres", "u8", genres.data(), genres.size()));
  // The fallback's training counts: optional sections after the version-1 ones, present only when known.
  const bool counted = model.training_mean.has_value();
  if (counted != (model.user_rating_counts.size() == n_users && model.movie_rating_counts.size() == n_movies))
    bad("the training mean and the per-user and per-movie training counts go together");
  if (counted) {
    sections.push_back(make_section("user_rating_count", "i32", model.user_rating_counts.data(), n_users));
    sections.push_back(make_section("movie_rating_count", "i32", model.movie_rating_counts.data(), n_movies));
  }

  nlohmann::json header = {
      {"algorithm", algorithm_name(model.algorithm)},
      {"objective", objective_name(model.objective)},
      {"hyperparameters", to_json(model.hyperparameters)},
      {"n_users", n_users},
      {"n_movies", n_movies},
      {"rank", k},
      {"user_factor_rows", user_rows},
      {"global_offset", model.global_offset},
      {"data_fingerprint", model.data_fingerprint},
      {"catalog_entries", c},
  };
  if (counted) header["training_mean"] = *model.training_mean;
  nlohmann::json table = nlohmann::json::array();
  std::size_t offset = 0;  // relative to the first 64-byte boundary after the header
  for (const auto& s : sections) {
    table.push_back({{"name", s.name}, {"type", s.type}, {"count", s.count}, {"offset", offset}});
    offset = align_up(offset + s.bytes.size());
  }
  header["sections"] = table;
  const std::string header_text = header.dump();
  if (header_text.size() > std::numeric_limits<std::uint32_t>::max()) bad("header too large");

  const std::size_t data_start = align_up(kPreambleBytes + header_text.size());
  const std::size_t total = data_start + offset + kChecksumBytes;
  std::string out(total, '\0');
  std::memcpy(out.data(), kModelMagic.data(), kModelMagic.size());
  put<std::uint32_t>(out, 8, kModelFormatVersion);
  put<std::uint32_t>(out, 12, static_cast<std::uint32_t>(header_text.size()));
  put<std::uint64_t>(out, 16, static_cast<std::uint64_t>(total));
  std::memcpy(out.data() + kPreambleBytes, header_text.data(), header_text.size());
  for (std::size_t i = 0; i < sections.size(); ++i) {
    const auto at = data_start + table[i]["offset"].get<std::size_t>();
    if (!sections[i].bytes.empty())
      std::memcpy(out.data() + at, sections[i].bytes.data(), sections[i].bytes.size());
  }
  put<std::uint64_t>(out, total - kChecksumBytes,
                     fnv1a64(std::string_view(out).substr(0, total - kChecksumBytes)));
  return out;
}

Model deserialize_model(std::string_view bytes, const std::string& source) {
  auto refuse = [&](const std::string& why) -> FormatError { return FormatError(source + ": " + why); };
  const std::size_t size = bytes.size();
  // Foreign first: a file that does not start with the magic is not ours, however long it is.
  const std::size_t magic_seen = std::min(size, kModelMagic.size());
  if (bytes.substr(0, magic_seen) != kModelMagic.substr(0, magic_seen)) {
    throw refuse("not a cinefactor model file (bad magic)");
  }
  if (size < kPreambleBytes) {
    throw refuse(fmt::format("truncated model file ({} bytes, shorter than the {}-byte preamble)", size,
                             kPreambleBytes));
  }
  const auto version = get<std::uint32_t>(bytes, 8);
  const auto header_bytes = get<std::uint32_t>(bytes, 12);
  const auto declared = get<std::uint64_t>(bytes, 16);
  // Every version keeps this preamble and the trailing checksum, so a version this build does not know
  // is "newer" only when the length and the checksum check out; otherwise the version field itself is
  // most likely the damage.
  const bool whole = size == declared && size >= kPreambleBytes + kChecksumBytes;
  const auto stored = whole ? get<std::uint64_t>(bytes, size - kChecksumBytes) : 0;
  const auto computed = whole ? fnv1a64(bytes.substr(0, size - kChecksumBytes)) : 0;
  if (version > kModelFormatVersion) {
    if (whole && stored == computed) {
      throw refuse(fmt::format(
          "model file format version {} is newer than this build reads (up to {}); upgrade cinefactor",
          version, kModelFormatVersion));
    }
    throw refuse(fmt::format(
        "corrupted model file (format version {} is not one this build knows, and the file's {} does not "
        "check out: the file is damaged)",
        version, whole ? "checksum" : "length"));
  }
  if (version == 0) throw refuse("corrupted model file (format version 0 does not exist)");
  if (size < declared) throw refuse(fmt::format("truncated model file ({} of {} bytes)", size, declared));
  if (size > declared)
    throw refuse(fmt::format("corrupted model file ({} bytes, but it declares {})", size, declared));
  if (!whole) throw refuse("corrupted model file (declared size too small)");
  if (stored != computed) {
    throw refuse(fmt::format("corrupted model file (checksum mismatch: stored {:016x}, computed {:016x})",
                             stored, computed));
  }

  // From here on the bytes are what a writer produced; inconsistencies mean a writer bug or a
  // deliberate forgery, and are still refused rather than trusted.
  auto corrupt = [&](const std::string& why) { return refuse("corrupted model file (" + why + ")"); };
  if (kPreambleBytes + static_cast<std::size_t>(header_bytes) > size - kChecksumBytes)
    throw corrupt("header runs past the end");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.substr(kPreambleBytes, header_bytes));
  } catch (const nlohmann::json::exception& e) {
    throw corrupt(std::string("header is not valid JSON: ") + e.what());
  }
  const std::size_t data_start = align_up(kPreambleBytes + header_bytes);
  const std::size_t data_end = size - kChecksumBytes;
  if (data_start > data_end) throw corrupt("header runs past the end");

  try {
    Model model;
    const auto algorithm = parse_algorithm(header.at("algorithm").get<std::string>());
    const auto objective = parse_objective(header.at("objective").get<std::string>());
    if (!algorithm) throw corrupt("unknown algorithm " + header.at("algorithm").dump());
    if (!objective) throw corrupt("unknown NMF objective " + header.at("objective").dump());
    model.algorithm = *algorithm;
    model.objective = *objective;
    model.hyperparameters = hyperparameters_from_json(header.at("hyperparameters"));
    model.global_offset = header.at("global_offset").get<float>();
    // Integer fields are read only when they are integers: a float or a negative number is refused, never
    // converted (nlohmann's get<integer>() of a float out of range is undefined behavior).
    auto unsigned_field = [&](const nlohmann::json& object, const char* key) {
      const auto& value = object.at(key);
      if (!value.is_number_unsigned())
        throw corrupt(fmt::format("{} is not a non-negative integer: {}", key, value.dump()));
      return value.get<std::uint64_t>();
    };
    model.data_fingerprint = unsigned_field(header, "data_fingerprint");
    if (!std::isfinite(model.global_offset)) throw corrupt("global offset is not a finite number");
    // Dimensions are indices of type int32 in memory; anything larger is refused before any product of
    // them is formed, and every product is checked again (a product that wraps to 0 would pass as empty).
    auto dimension = [&](const char* key) {
      const auto value = unsigned_field(header, key);
      if (value > static_cast<std::uint64_t>(std::numeric_limits<std::int32_t>::max()))
        throw corrupt(fmt::format("{} {} is out of range", key, value));
      return static_cast<std::size_t>(value);
    };
    auto product = [&](std::size_t a, std::size_t b, const char* what) {
      std::size_t out = 0;
      if (__builtin_mul_overflow(a, b, &out))
        throw corrupt(fmt::format("{} ({} x {}) overflows", what, a, b));
      return out;
    };
    const auto n_users = dimension("n_users");
    const auto n_movies = dimension("n_movies");
    const auto k = dimension("rank");
    const auto user_rows = dimension("user_factor_rows");
    const auto c = dimension("catalog_entries");
    if (user_rows != 0 && user_rows != n_users) throw corrupt("user factor rows do not match the users");
    if (c != 0 && c != n_movies) throw corrupt("catalog entries do not match the movies");

    // Each section: find it, check its type, size, alignment and bounds, and copy it out.
    auto section = [&](const char* name, const char* type, std::size_t count_min,
                       std::size_t count_max) -> std::pair<std::string_view, std::size_t> {
      for (const auto& s : header.at("sections")) {
        if (s.at("name").get<std::string>() != name) continue;
        if (s.at("type").get<std::string>() != type)
          throw corrupt(fmt::format("section {} is not of type {}", name, type));
        const auto count = static_cast<std::size_t>(unsigned_field(s, "count"));
        const auto offset = static_cast<std::size_t>(unsigned_field(s, "offset"));
        if (count < count_min || count > count_max) {
          throw corrupt(fmt::format("section {} has {} entries, expected {}", name, count, count_min));
        }
        const std::size_t width = type_size(type);
        if (offset % kModelSectionAlignment != 0)
          throw corrupt(fmt::format("section {} is not 64-byte aligned", name));
        if (count > (data_end - data_start) / width || offset > data_end - data_start - count * width) {
          throw corrupt(fmt::format("section {} runs past the end of the data", name));
        }
        return {bytes.substr(data_start + offset, count * width), count};
      }
      throw corrupt(fmt::format("section {} is missing", name));
    };
    auto read_exact = [&]<typename T>(const char* name, const char* type, std::size_t count,
                                      std::vector<T>& out) {
      const auto [view, n] = section(name, type, count, count);
      out.resize(n);
      if (n > 0) std::memcpy(out.data(), view.data(), view.size());
    };
    auto read_either = [&]<typename T>(const char* name, const char* type, std::size_t count,
                                       std::vector<T>& out) {
      const auto [view, n] = section(name, type, 0, count);
      if (n != 0 && n != count)
        throw corrupt(fmt::format("section {} has {} entries, expected 0 or {}", name, n, count));
      out.resize(n);
      if (n > 0) std::memcpy(out.data(), view.data(), view.size());
    };

    read_exact("user_ids", "i64", n_users, model.user_ids);
    read_exact("movie_ids", "i64", n_movies, model.movie_ids);
    model.user_factors.rows = static_cast<std::int64_t>(user_rows);
    model.user_factors.cols = static_cast<std::int64_t>(user_rows > 0 ? k : 0);
    read_exact("user_factors", "f32", product(user_rows, k, "user factors"), model.user_factors.data);
    model.movie_factors.rows = static_cast<std::int64_t>(k > 0 ? n_movies : 0);
    model.movie_factors.cols = static_cast<std::int64_t>(k);
    read_exact("movie_factors", "f32", product(k > 0 ? n_movies : 0, k, "movie factors"),
               model.movie_factors.data);
    {
      const auto [view, n] = section("singular_values", "f32", 0, k);
      model.singular_values.resize(n);
      if (n > 0) std::memcpy(model.singular_values.data(), view.data(), view.size());
    }
    read_either("user_bias", "f32", n_users, model.user_bias);
    read_either("movie_bias", "f32", n_movies, model.movie_bias);

    std::vector<std::int32_t> years, counts;
    std::vector<float> means;
    std::vector<std::int64_t> imdb, tmdb;
    std::vector<std::uint64_t> title_offsets, genre_offsets;
    read_exact("catalog_year", "i32", c, years);
    read_exact("catalog_rating_count", "i32", c, counts);
    read_exact("catalog_rating_mean", "f32", c, means);
    read_exact("catalog_imdb_id", "i64", c, imdb);
    read_exact("catalog_tmdb_id", "i64", c, tmdb);
    read_exact("catalog_title_offsets", "u64", c > 0 ? c + 1 : 0, title_offsets);
    read_exact("catalog_genre_offsets", "u64", c > 0 ? c + 1 : 0, genre_offsets);
    check_model_values(model, means, imdb, tmdb, counts, corrupt);
    const auto titles = section("catalog_titles", "u8", 0, data_end).first;
    const auto genres = section("catalog_genres", "u8", 0, data_end).first;
    auto check_offsets = [&](const std::vector<std::uint64_t>& offsets, std::string_view blob,
                             const char* name) {
      if (offsets.empty()) {
        if (!blob.empty()) throw corrupt(fmt::format("{} without offsets", name));
        return;
      }
      if (offsets.front() != 0 || offsets.back() != blob.size() ||
          !std::is_sorted(offsets.begin(), offsets.end())) {
        throw corrupt(fmt::format("{} offsets are inconsistent", name));
      }
    };
    check_offsets(title_offsets, titles, "title");
    check_offsets(genre_offsets, genres, "genre");
    model.catalog.resize(c);
    for (std::size_t j = 0; j < c; ++j) {
      auto& entry = model.catalog[j];
      entry.movie.id = model.movie_ids[j];
      entry.movie.year = years[j];
      entry.rating_count = counts[j];
      entry.rating_mean = means[j];
      // -1 is the format's "absent"; no other negative id is one the writer writes.
      if ((imdb[j] < 0 && imdb[j] != kNoExternalId) || (tmdb[j] < 0 && tmdb[j] != kNoExternalId))
        throw corrupt(
            fmt::format("movie {} has a negative imdb/tmdb id other than -1 (absent)", entry.movie.id));
      if (imdb[j] != kNoExternalId) entry.movie.imdb_id = imdb[j];
      if (tmdb[j] != kNoExternalId) entry.movie.tmdb_id = tmdb[j];
      entry.movie.title =
          std::string(titles.substr(title_offsets[j], title_offsets[j + 1] - title_offsets[j]));
      const auto list = genres.substr(genre_offsets[j], genre_offsets[j + 1] - genre_offsets[j]);
      std::size_t start = 0;
      while (start < list.size()) {
        auto end = list.find(kGenreSeparator, start);
        if (end == std::string_view::npos) end = list.size();
        if (end == start) throw corrupt(fmt::format("movie {} has an empty genre", entry.movie.id));
        entry.movie.genres.emplace_back(list.substr(start, end - start));
        start = end + 1;
      }
    }
    for (const auto& entry : model.catalog) {
      if (!detail::is_valid_utf8(entry.movie.title))
        throw corrupt(fmt::format("the title of movie {} is not valid UTF-8", entry.movie.id));
      for (const auto& g : entry.movie.genres) {
        if (!detail::is_valid_utf8(g))
          throw corrupt(fmt::format("a genre of movie {} is not valid UTF-8", entry.movie.id));
      }
    }
    // Optional: the fallback's training counts, all three or none (files written before they existed).
    if (header.contains("training_mean")) {
      model.training_mean = header.at("training_mean").get<float>();
      read_exact("user_rating_count", "i32", n_users, model.user_rating_counts);
      read_exact("movie_rating_count", "i32", n_movies, model.movie_rating_counts);
      const auto negative = [](std::int32_t n) { return n < 0; };
      if (!std::isfinite(*model.training_mean) ||
          std::any_of(model.user_rating_counts.begin(), model.user_rating_counts.end(), negative) ||
          std::any_of(model.movie_rating_counts.begin(), model.movie_rating_counts.end(), negative)) {
        throw corrupt("the training mean is not finite or a training rating count is negative");
      }
    }
    return model;
  } catch (const nlohmann::json::exception& e) {
    throw corrupt(std::string("header field missing or of the wrong type: ") + e.what());
  }
}

void save_model(const Model& model, const std::filesystem::path& path) {
  const std::string bytes = serialize_model(model);
  write_file_atomic(path, bytes);
}

Model load_model(const std::filesystem::path& path) {
  return deserialize_model(read_regular_file(path), path.string());
}

}  // namespace cinefactor
