// The binary dataset cache: an identical round trip, rebuilt when a source or an option changes,
// and never trusted when truncated, corrupted, foreign or of another version.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

#include "cinefactor/dataset.hpp"
#include "core/hash64.hpp"
#include "data/dataset_cache.hpp"
#include "movielens_fixtures.hpp"

namespace cinefactor {
namespace {

using test::TempDir;

std::filesystem::path cache_of(const std::filesystem::path& dir) {
  return dir / detail::kCacheFileName;
}

void expect_same_dataset(const Dataset& a, const Dataset& b) {
  EXPECT_EQ(a.layout, b.layout);
  EXPECT_EQ(a.scale.min, b.scale.min);
  EXPECT_EQ(a.scale.max, b.scale.max);
  const auto& ra = a.ratings;
  const auto& rb = b.ratings;
  EXPECT_TRUE(std::ranges::equal(ra.user_ids(), rb.user_ids()));
  EXPECT_TRUE(std::ranges::equal(ra.movie_ids(), rb.movie_ids()));
  EXPECT_TRUE(std::ranges::equal(ra.timestamps(), rb.timestamps()));
  EXPECT_EQ(ra.by_user().indptr, rb.by_user().indptr);
  EXPECT_EQ(ra.by_user().indices, rb.by_user().indices);
  EXPECT_EQ(ra.by_user().values, rb.by_user().values);
  EXPECT_EQ(ra.by_movie().indptr, rb.by_movie().indptr);
  EXPECT_EQ(ra.by_movie().indices, rb.by_movie().indices);
  EXPECT_EQ(ra.by_movie().values, rb.by_movie().values);
  EXPECT_EQ(a.movie_of_column, b.movie_of_column);
  ASSERT_EQ(a.movies.size(), b.movies.size());
  for (std::size_t i = 0; i < a.movies.size(); ++i) {
    const auto& x = a.movies[i];
    const auto& y = b.movies[i];
    EXPECT_EQ(x.id, y.id);
    EXPECT_EQ(x.title, y.title);
    EXPECT_EQ(x.year, y.year);
    EXPECT_EQ(x.genres, y.genres);
    EXPECT_EQ(x.imdb_id, y.imdb_id);
    EXPECT_EQ(x.tmdb_id, y.tmdb_id);
  }
  EXPECT_EQ(a.report.duplicates, b.report.duplicates);
  EXPECT_EQ(a.report.skipped_lines, b.report.skipped_lines);
}

// Sets a file's mtime to `seconds` past the epoch (so a rewrite of the same size is noticed).
void set_mtime(const std::filesystem::path& path, std::int64_t seconds) {
  const struct timespec times[2] = {{static_cast<time_t>(seconds), 0}, {static_cast<time_t>(seconds), 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
}

std::string bytes_of(const std::filesystem::path& path) {
  return test::read_text(path);
}

// A duplicate and a skipped line, so the load report must survive the cache as well.
void write_fixture(const std::filesystem::path& dir) {
  test::write_csv_dataset(dir, std::string(test::kCsvRatings) + "2,2,4.0,964983999\nbad line\n");
}

LoadOptions skipping() {
  LoadOptions o;
  o.skip_bad_lines = true;
  return o;
}

TEST(DatasetCache, RoundTripIsIdentical) {
  TempDir dir;
  write_fixture(dir.path());
  const auto built = load_dataset(dir.path(), skipping());
  EXPECT_FALSE(built.report.from_cache);
  EXPECT_EQ(built.report.duplicates, 1);
  EXPECT_EQ(built.report.skipped_lines, 1);
  ASSERT_TRUE(std::filesystem::exists(cache_of(dir.path())));
  const auto cached = load_dataset(dir.path(), skipping());
  EXPECT_TRUE(cached.report.from_cache);
  EXPECT_EQ(cached.report.lines_read, 0);
  EXPECT_EQ(cached.dir, dir.path());
  expect_same_dataset(built, cached);
}

TEST(DatasetCache, EveryLayoutRoundTrips) {
  for (auto write : {test::write_dat_dataset, test::write_u_dataset}) {
    TempDir dir;
    write(dir.path());
    const auto built = load_dataset(dir.path());
    const auto cached = load_dataset(dir.path());
    EXPECT_TRUE(cached.report.from_cache);
    expect_same_dataset(built, cached);
  }
}

TEST(DatasetCache, RebuiltWhenASourceChangesSize) {
  TempDir dir;
  test::write_csv_dataset(dir.path());
  EXPECT_EQ(load_dataset(dir.path()).ratings.nnz(), 4);
  test::write_text(dir / "ratings.csv", std::string(test::kCsvRatings) + "3,4,2.0,964983999\n");
  const auto reloaded = load_dataset(dir.path());
  EXPECT_FALSE(reloaded.report.from_cache);
  EXPECT_EQ(reloaded.ratings.nnz(), 5);
  EXPECT_TRUE(load_dataset(dir.path()).report.from_cache);
}

TEST(DatasetCache, RebuiltWhenASourceChangesOnlyItsMtime) {
  TempDir dir;
  test::write_csv_dataset(dir.path());
  set_mtime(dir / "movies.csv", 1'000'000'000);
  load_dataset(dir.path());
  // Same length, other title: only the modification time tells.
  std::string movies = test::kCsvMovies;
  movies.replace(movies.find("Toy Story"), 9, "Toy Stori");
  test::write_text(dir / "movies.csv", movies);
  set_mtime(dir / "movies.csv", 1'000'000'001);
  const auto reloaded = load_dataset(dir.path());
  EXPECT_FALSE(reloaded.report.from_cache);
  ASSERT_FALSE(reloaded.movies.empty());
  EXPECT_EQ(reloaded.movies.front().id, 1);
  EXPECT_EQ(reloaded.movies.front().title, "Toy Stori");
}

// cp -p, rsync -t and tar put the old mtime back on a same-size edit; the ctime, which no call can set
// back, still tells.
TEST(DatasetCache, RebuiltWhenASameSizeEditRestoresTheMtime) {
  TempDir dir;
  test::write_csv_dataset(dir.path());
  set_mtime(dir / "movies.csv", 1'000'000'000);
  EXPECT_FALSE(load_dataset(dir.path()).report.from_cache);
  EXPECT_TRUE(load_dataset(dir.path()).report.from_cache);
  // Past the file system's timestamp granularity (coarse clock ticks), so the edit's ctime differs.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::string movies = test::kCsvMovies;
  movies.replace(movies.find("Toy Story"), 9, "Toy Stori");
  test::write_text(dir / "movies.csv", movies);  // in place: the same inode
  set_mtime(dir / "movies.csv", 1'000'000'000);
  const auto reloaded = load_dataset(dir.path());
  EXPECT_FALSE(reloaded.report.from_cache);
  ASSERT_FALSE(reloaded.movies.empty());
  EXPECT_EQ(reloaded.movies.front().title, "Toy Stori");
  const auto sources = detail::stamp_sources(dir.path(), Layout::csv);
  EXPECT_THAT(detail::read_dataset_cache(cache_of(dir.path()), Layout::csv, sources, {}).why_not,
              ::testing::IsEmpty());
}

TEST(DatasetCache, ReadCacheNamesAnEditThatKeptTheMtime) {
  TempDir dir;
  test::write_csv_dataset(dir.path());
  load_dataset(dir.path());
  auto sources = detail::stamp_sources(dir.path(), Layout::csv);
  sources[0].ctime_ns += 1;
  EXPECT_EQ(detail::read_dataset_cache(cache_of(dir.path()), Layout::csv, sources, {}).why_not,
            "ratings.csv was modified (ctime changed; its mtime was kept)");
  sources = detail::stamp_sources(dir.path(), Layout::csv);
  sources[1].inode += 1;
  EXPECT_EQ(detail::read_dataset_cache(cache_of(dir.path()), Layout::csv, sources, {}).why_not,
            "movies.csv was replaced (another file is there now)");
}

// A FIFO where the cache belongs is neither opened for reading (that would wait for a writer forever)
// nor trusted; the load parses the text and puts a real cache there.
TEST(DatasetCache, AFifoAtTheCacheIsNotReadAndIsReplaced) {
  TempDir dir;
  test::write_csv_dataset(dir.path());
  ASSERT_EQ(::mkfifo(cache_of(dir.path()).c_str(), 0600), 0);
  const auto sources = detail::stamp_sources(dir.path(), Layout::csv);
  EXPECT_EQ(detail::read_dataset_cache(cache_of(dir.path()), Layout::csv, sources, {}).why_not,
            cache_of(dir.path()).string() + " is a FIFO (named pipe), not a regular file");
  EXPECT_FALSE(load_dataset(dir.path()).report.from_cache);
  EXPECT_TRUE(std::filesystem::is_regular_file(cache_of(dir.path())));
  EXPECT_TRUE(load_dataset(dir.path()).report.from_cache);
}

TEST(DatasetCache, RebuiltWhenSkipBadLinesChanges) {
  TempDir dir;
  test::write_csv_dataset(dir.path());
  load_dataset(dir.path());
  EXPECT_FALSE(load_dataset(dir.path(), skipping()).report.from_cache);
  EXPECT_TRUE(load_dataset(dir.path(), skipping()).report.from_cache);
}

struct Damage {
  const char* name;
  void (*apply)(std::string& bytes);
};

TEST(DatasetCache, DamagedCacheIsRebuiltNeverTrusted) {
  const std::vector<Damage> damages = {
      {"flipped payload byte",
       [](std::string& b) { b[b.size() - 40] = static_cast<char>(b[b.size() - 40] ^ 0x01); }},
      {"flipped header byte", [](std::string& b) { b[40] = static_cast<char>(b[40] ^ 0x10); }},
      {"truncated", [](std::string& b) { b.resize(b.size() - 7); }},
      {"truncated to the prefix", [](std::string& b) { b.resize(20); }},
      {"trailing bytes", [](std::string& b) { b += "extra"; }},
      {"foreign magic", [](std::string& b) { b.replace(0, 8, "NOTCACHE"); }},
      {"newer version", [](std::string& b) { b[8] = static_cast<char>(b[8] + 1); }},
      {"empty", [](std::string& b) { b.clear(); }},
  };
  for (const auto& damage : damages) {
    SCOPED_TRACE(damage.name);
    TempDir dir;
    write_fixture(dir.path());
    const auto built = load_dataset(dir.path(), skipping());
    std::string bytes = bytes_of(cache_of(dir.path()));
    damage.apply(bytes);
    test::write_text(cache_of(dir.path()), bytes);

    const auto reloaded = load_dataset(dir.path(), skipping());
    EXPECT_FALSE(reloaded.report.from_cache);
    expect_same_dataset(built, reloaded);
    // The rebuilt cache is whole again.
    EXPECT_TRUE(load_dataset(dir.path(), skipping()).report.from_cache);
  }
}

TEST(DatasetCache, ReadCacheSaysWhyNot) {
  TempDir dir;
  test::write_csv_dataset(dir.path());
  const auto stamps = detail::stamp_sources(dir.path(), Layout::csv);
  EXPECT_NE(
      detail::read_dataset_cache(cache_of(dir.path()), Layout::csv, stamps, {}).why_not.find("no cache"),
      std::string::npos);
  load_dataset(dir.path());
  std::string bytes = bytes_of(cache_of(dir.path()));
  bytes[8] = static_cast<char>(bytes[8] + 1);
  test::write_text(cache_of(dir.path()), bytes);
  const auto read = detail::read_dataset_cache(cache_of(dir.path()), Layout::csv, stamps, {});
  EXPECT_FALSE(read.dataset.has_value());
  EXPECT_NE(read.why_not.find("format version " + std::to_string(detail::kCacheVersion + 1)),
            std::string::npos)
      << read.why_not;
}

// Found by fuzz_dataset_cache: a header whose rating count wraps the size arithmetic (4 x nnz past 2^64)
// declared the payload size of the real file, and the reader then asked for a vector of 2^62 entries:
// std::length_error escaped read_dataset_cache(), which reports every bad cache in why_not.
TEST(DatasetCache, CountsThatWrapTheSizeArithmeticAreRefused) {
  TempDir dir;
  test::write_csv_dataset(dir.path());
  load_dataset(dir.path());
  std::string bytes = bytes_of(cache_of(dir.path()));
  // The prefix holds the header's length at byte 16 and the header's checksum at byte 24; the header
  // ends with i64 nnz | u32 has timestamps | u64 catalog bytes.
  constexpr std::size_t kPrefix = 32;
  std::uint64_t meta_bytes = 0;
  std::memcpy(&meta_bytes, bytes.data() + 16, sizeof meta_bytes);
  const std::size_t nnz_at = kPrefix + meta_bytes - 8 - 4 - 8;
  std::int64_t nnz = 0;
  std::memcpy(&nnz, bytes.data() + nnz_at, sizeof nnz);
  nnz += std::int64_t{1} << 62;  // every nnz x 4 is unchanged modulo 2^64
  std::memcpy(bytes.data() + nnz_at, &nnz, sizeof nnz);
  const std::uint64_t meta_hash = detail::hash64(bytes.data() + kPrefix, meta_bytes);
  std::memcpy(bytes.data() + 24, &meta_hash, sizeof meta_hash);
  test::write_text(cache_of(dir.path()), bytes);

  const auto stamps = detail::stamp_sources(dir.path(), Layout::csv);
  detail::CacheRead read;
  ASSERT_NO_THROW(read = detail::read_dataset_cache(cache_of(dir.path()), Layout::csv, stamps, {}));
  EXPECT_FALSE(read.dataset.has_value());
  EXPECT_NE(read.why_not.find("section sizes do not add up"), std::string::npos) << read.why_not;
  EXPECT_FALSE(load_dataset(dir.path()).report.from_cache);
}

TEST(DatasetCache, NoCacheOptionNeitherReadsNorWrites) {
  TempDir dir;
  test::write_csv_dataset(dir.path());
  LoadOptions options;
  options.use_cache = false;
  EXPECT_FALSE(load_dataset(dir.path(), options).report.from_cache);
  EXPECT_FALSE(std::filesystem::exists(cache_of(dir.path())));
  load_dataset(dir.path());
  EXPECT_FALSE(load_dataset(dir.path(), options).report.from_cache);
}

TEST(DatasetCache, ReadOnlyDirectoryStillLoads) {
  TempDir dir;
  const auto data = dir / "data";
  test::write_csv_dataset(data);
  std::filesystem::permissions(data, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
  const auto ds = load_dataset(data);
  EXPECT_EQ(ds.ratings.nnz(), 4);
  EXPECT_FALSE(std::filesystem::exists(cache_of(data)));
  EXPECT_FALSE(load_dataset(data).report.from_cache);
  std::filesystem::permissions(data, std::filesystem::perms::owner_all);
}

TEST(DatasetCache, MlLatestSmallRoundTrips) {
  CINEFACTOR_REQUIRE_ML_LATEST_SMALL(source);
  TempDir dir;
  for (const char* name : {"ratings.csv", "movies.csv", "links.csv"}) {
    std::filesystem::copy_file(source / name, dir / name);
  }
  const auto built = load_dataset(dir.path());
  const auto cached = load_dataset(dir.path());
  EXPECT_TRUE(cached.report.from_cache);
  EXPECT_EQ(cached.ratings.nnz(), 100836);
  expect_same_dataset(built, cached);
}

}  // namespace
}  // namespace cinefactor
