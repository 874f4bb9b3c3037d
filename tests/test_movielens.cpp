// Loading MovieLens directories of every layout, and refusing bad input with file:line messages.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <sstream>

#include "cinefactor/dataset.hpp"
#include "cinefactor/error.hpp"
#include "movielens_fixtures.hpp"

namespace cinefactor {
namespace {

using test::TempDir;
using test::write_text;

// The catalog entry of a movie id, or nullptr.
const Movie* find_movie(const Dataset& ds, std::int64_t movie_id) {
  const auto it =
      std::find_if(ds.movies.begin(), ds.movies.end(), [&](const Movie& m) { return m.id == movie_id; });
  return it == ds.movies.end() ? nullptr : &*it;
}

LoadOptions no_cache(bool skip = false) {
  LoadOptions o;
  o.use_cache = false;
  o.skip_bad_lines = skip;
  return o;
}

// Loads `dir` expecting a ParseError at `file`:`line` whose message contains `expected`.
void expect_parse_error(const std::filesystem::path& dir, const std::string& file, std::int64_t line,
                        const std::string& expected) {
  try {
    load_dataset(dir, no_cache());
    ADD_FAILURE() << "expected a ParseError at " << file << ":" << line;
  } catch (const ParseError& e) {
    EXPECT_EQ(e.file(), (dir / file).string());
    EXPECT_EQ(e.line(), line) << e.what();
    EXPECT_NE(e.message().find(expected), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(file + ":" + std::to_string(line) + ": expected"), std::string::npos)
        << e.what();
  }
}

// Loads `dir` expecting an IoError whose message contains every string of `parts`.
void expect_io_error(const std::filesystem::path& dir, const std::vector<std::string>& parts) {
  try {
    load_dataset(dir, no_cache());
    ADD_FAILURE() << "expected an IoError";
  } catch (const IoError& e) {
    for (const auto& p : parts)
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what() << " lacks " << p;
  }
}

// The CSR and the CSC hold the same (user, movie, rating) triples, and both are well-formed.
void expect_views_agree(const RatingMatrix& m) {
  m.by_user().validate();
  m.by_movie().validate();
  std::vector<std::tuple<std::int32_t, std::int32_t, float>> a;
  std::vector<std::tuple<std::int32_t, std::int32_t, float>> b;
  const auto& csr = m.by_user();
  for (std::int32_t u = 0; u < csr.rows; ++u) {
    for (auto p = csr.row_begin(u); p < csr.row_end(u); ++p)
      a.emplace_back(u, csr.indices[static_cast<std::size_t>(p)], csr.values[static_cast<std::size_t>(p)]);
  }
  const auto& csc = m.by_movie();
  for (std::int32_t j = 0; j < csc.rows; ++j) {
    for (auto p = csc.row_begin(j); p < csc.row_end(j); ++p)
      b.emplace_back(csc.indices[static_cast<std::size_t>(p)], j, csc.values[static_cast<std::size_t>(p)]);
  }
  std::sort(b.begin(), b.end());
  EXPECT_EQ(a, b);
}

float rating_of(const RatingMatrix& m, std::int64_t user, std::int64_t movie) {
  const auto u = m.user_index(user);
  const auto j = m.movie_index(movie);
  if (!u || !j) return -1.0f;
  const auto& csr = m.by_user();
  for (auto p = csr.row_begin(*u); p < csr.row_end(*u); ++p) {
    if (csr.indices[static_cast<std::size_t>(p)] == *j) return csr.values[static_cast<std::size_t>(p)];
  }
  return -1.0f;
}

TEST(MovieLens, CsvLayout) {
  TempDir dir;
  test::write_csv_dataset(dir.path());
  EXPECT_EQ(detect_layout(dir.path()), Layout::csv);
  const auto ds = load_dataset(dir.path(), no_cache());
  EXPECT_EQ(ds.layout, Layout::csv);
  EXPECT_EQ(layout_name(ds.layout), "csv");
  EXPECT_EQ(ds.ratings.n_users(), 2);
  EXPECT_EQ(ds.ratings.n_movies(), 3);  // movie 4 has no rating
  EXPECT_EQ(ds.ratings.nnz(), 4);
  EXPECT_EQ(ds.movies.size(), 4u);
  EXPECT_EQ(ds.report.lines_read, 4);
  EXPECT_EQ(ds.report.duplicates, 0);
  EXPECT_FALSE(ds.report.from_cache);
  EXPECT_FLOAT_EQ(rating_of(ds.ratings, 1, 3), 4.5f);
  EXPECT_FLOAT_EQ(rating_of(ds.ratings, 2, 1), 0.5f);
  ASSERT_EQ(ds.ratings.timestamps().size(), 4u);
  EXPECT_EQ(ds.ratings.timestamps()[0], 964982703u);

  const Movie* toy = find_movie(ds, 1);
  ASSERT_NE(toy, nullptr);
  EXPECT_EQ(toy->title, "Toy Story");
  EXPECT_EQ(toy->year, 1995);
  EXPECT_EQ(toy->genres,
            (std::vector<std::string>{"Adventure", "Animation", "Children", "Comedy", "Fantasy"}));
  EXPECT_EQ(toy->imdb_id, 114709);
  EXPECT_EQ(toy->tmdb_id, 862);
  const Movie* president = find_movie(ds, 2);
  ASSERT_NE(president, nullptr);
  EXPECT_EQ(president->title, "The American President");
  EXPECT_EQ(president->imdb_id, 112346);
  EXPECT_FALSE(president->tmdb_id.has_value());
  const Movie* babylon = find_movie(ds, 3);
  ASSERT_NE(babylon, nullptr);
  EXPECT_EQ(babylon->year, 0);
  EXPECT_TRUE(babylon->genres.empty());
  EXPECT_FALSE(babylon->imdb_id.has_value());
  EXPECT_EQ(babylon->tmdb_id, 1234);
  EXPECT_EQ(find_movie(ds, 5), nullptr);
  for (std::int32_t j = 0; j < ds.ratings.n_movies(); ++j) {
    EXPECT_EQ(ds.column_movie(j).id, ds.ratings.movie_ids()[static_cast<std::size_t>(j)]);
  }
  expect_views_agree(ds.ratings);
}

TEST(MovieLens, CsvWithWindowsLineEndingsAndNoFinalNewline) {
  TempDir dir;
  auto crlf = [](std::string s) {
    std::string out;
    for (char c : s) out += c == '\n' ? std::string("\r\n") : std::string(1, c);
    return out;
  };
  std::string ratings = crlf(test::kCsvRatings);
  ratings.resize(ratings.size() - 2);  // no line end after the last line
  test::write_csv_dataset(dir.path(), ratings, crlf(test::kCsvMovies), crlf(test::kCsvLinks));
  const auto ds = load_dataset(dir.path(), no_cache());
  EXPECT_EQ(ds.ratings.nnz(), 4);
  EXPECT_FLOAT_EQ(rating_of(ds.ratings, 2, 2), 5.0f);
  EXPECT_EQ(ds.ratings.timestamps()[3], 964983815u);
  EXPECT_EQ(find_movie(ds, 4)->tmdb_id, 4);
}

TEST(MovieLens, DatLayoutWithLatin1TitlesAndHalfStars) {
  TempDir dir;
  test::write_dat_dataset(dir.path());
  EXPECT_EQ(detect_layout(dir.path()), Layout::dat);
  const auto ds = load_dataset(dir.path(), no_cache());
  EXPECT_EQ(ds.ratings.n_users(), 2);
  EXPECT_EQ(ds.ratings.n_movies(), 2);
  EXPECT_EQ(ds.ratings.nnz(), 3);
  EXPECT_FLOAT_EQ(rating_of(ds.ratings, 1, 20), 3.5f);
  EXPECT_EQ(find_movie(ds, 10)->title, "Caf\xC3\xA9");
  EXPECT_EQ(find_movie(ds, 20)->title, "The Matrix");
  EXPECT_EQ(find_movie(ds, 20)->genres, (std::vector<std::string>{"Action", "Sci-Fi", "Thriller"}));
  EXPECT_FALSE(find_movie(ds, 20)->imdb_id.has_value());
  expect_views_agree(ds.ratings);
}

TEST(MovieLens, UDataLayoutDecodesLatin1AndGenreFlags) {
  TempDir dir;
  test::write_u_dataset(dir.path());
  EXPECT_EQ(detect_layout(dir.path()), Layout::u_data);
  const auto ds = load_dataset(dir.path(), no_cache());
  EXPECT_EQ(ds.scale.min, 1.0f);
  EXPECT_EQ(ds.ratings.n_users(), 2);
  EXPECT_EQ(ds.ratings.nnz(), 3);
  EXPECT_EQ(ds.movies.size(), 3u);
  const Movie* kolya = find_movie(ds, 242);
  ASSERT_NE(kolya, nullptr);
  EXPECT_EQ(kolya->title, "Kolya");
  EXPECT_EQ(kolya->year, 1996);
  EXPECT_EQ(kolya->genres, (std::vector<std::string>{"Action", "Comedy"}));
  // u.item is Latin-1: the bytes C3 A9 are the two characters "Ã©", written as UTF-8.
  EXPECT_EQ(find_movie(ds, 302)->title, "L.A. Confidential \xC3\x83\xC2\xA9");
  EXPECT_EQ(find_movie(ds, 302)->genres, (std::vector<std::string>{"Drama"}));
  EXPECT_EQ(find_movie(ds, 267)->title, "unknown");
  EXPECT_EQ(find_movie(ds, 267)->year, 1995);  // from the release date
  EXPECT_EQ(find_movie(ds, 267)->genres, (std::vector<std::string>{"unknown"}));
}

TEST(MovieLens, DuplicatesKeepTheLastAndAreCounted) {
  TempDir dir;
  test::write_csv_dataset(dir.path(),
                          "userId,movieId,rating,timestamp\n"
                          "2,1,1.0,10\n"
                          "1,1,2.0,11\n"
                          "1,1,3.0,12\n"
                          "2,1,4.0,13\n"
                          "1,2,5.0,14\n");
  const auto ds = load_dataset(dir.path(), no_cache());
  EXPECT_EQ(ds.report.duplicates, 2);
  EXPECT_EQ(ds.ratings.nnz(), 3);
  EXPECT_FLOAT_EQ(rating_of(ds.ratings, 1, 1), 3.0f);
  EXPECT_FLOAT_EQ(rating_of(ds.ratings, 2, 1), 4.0f);
  expect_views_agree(ds.ratings);
}

TEST(MovieLens, UnsortedFileGivesTheSameMatrixAsSorted) {
  TempDir sorted_dir;
  TempDir shuffled_dir;
  test::write_csv_dataset(sorted_dir.path());
  test::write_csv_dataset(shuffled_dir.path(),
                          "userId,movieId,rating,timestamp\n"
                          "2,2,5.0,964983815\n"
                          "1,3,4.5,964981247\n"
                          "2,1,0.5,964982224\n"
                          "1,1,4.0,964982703\n");
  const auto a = load_dataset(sorted_dir.path(), no_cache());
  const auto b = load_dataset(shuffled_dir.path(), no_cache());
  EXPECT_EQ(a.ratings.by_user().indptr, b.ratings.by_user().indptr);
  EXPECT_EQ(a.ratings.by_user().indices, b.ratings.by_user().indices);
  EXPECT_EQ(a.ratings.by_user().values, b.ratings.by_user().values);
  EXPECT_TRUE(std::equal(a.ratings.timestamps().begin(), a.ratings.timestamps().end(),
                         b.ratings.timestamps().begin(), b.ratings.timestamps().end()));
}

// Enough lines for many parse chunks: counts, values and line numbers must survive the chunking.
std::string many_ratings(int users, int per_user, int bad_line = 0, const std::string& bad_text = "") {
  std::ostringstream out;
  out << "userId,movieId,rating,timestamp\n";
  int line = 1;
  for (int u = 1; u <= users; ++u) {
    for (int k = 1; k <= per_user; ++k) {
      if (++line == bad_line) {
        out << bad_text << "\n";
      } else {
        out << u << "," << k << "," << (0.5 * (1 + (u + k) % 10)) << "," << 1000000000 + line << "\n";
      }
    }
  }
  return out.str();
}

std::string many_movies(int count) {
  std::ostringstream out;
  out << "movieId,title,genres\n";
  for (int k = 1; k <= count; ++k) out << k << ",Movie " << k << " (2000),Drama\n";
  return out.str();
}

std::string many_links(int count) {
  std::ostringstream out;
  out << "movieId,imdbId,tmdbId\n";
  for (int k = 1; k <= count; ++k) out << k << "," << k << "," << k << "\n";
  return out.str();
}

TEST(MovieLens, LargeFileParsedInChunksKeepsEveryRating) {
  TempDir dir;
  constexpr int kUsers = 4000;
  constexpr int kPerUser = 150;  // 600,000 lines, ~13 MB: several parse chunks
  test::write_csv_dataset(dir.path(), many_ratings(kUsers, kPerUser), many_movies(kPerUser),
                          many_links(kPerUser));
  const auto ds = load_dataset(dir.path(), no_cache());
  ASSERT_EQ(ds.ratings.nnz(), std::int64_t{kUsers} * kPerUser);
  EXPECT_EQ(ds.ratings.n_users(), kUsers);
  EXPECT_EQ(ds.ratings.n_movies(), kPerUser);
  EXPECT_FLOAT_EQ(rating_of(ds.ratings, 3999, 77), static_cast<float>(0.5 * (1 + (3999 + 77) % 10)));
  double sum = 0;
  for (int u = 1; u <= kUsers; ++u) {
    for (int k = 1; k <= kPerUser; ++k) sum += 0.5 * (1 + (u + k) % 10);
  }
  EXPECT_NEAR(ds.ratings.global_mean() * static_cast<double>(ds.ratings.nnz()), sum, 1e-6 * sum);
  expect_views_agree(ds.ratings);
}

TEST(MovieLens, BadLineLateInALargeFileHasItsLineNumber) {
  TempDir dir;
  constexpr int kBadLine = 543210;
  test::write_csv_dataset(dir.path(), many_ratings(4000, 150, kBadLine, "17,x,3.0,5"), many_movies(150),
                          many_links(150));
  expect_parse_error(dir.path(), "ratings.csv", kBadLine,
                     "expected a non-negative integer movie id, found \"x\"");

  LoadOptions skip = no_cache(true);
  const auto ds = load_dataset(dir.path(), skip);
  EXPECT_EQ(ds.report.skipped_lines, 1);
  EXPECT_EQ(ds.ratings.nnz(), 4000 * 150 - 1);
  expect_views_agree(ds.ratings);
}

struct BadRatingCase {
  std::string line;
  std::string expected;
};

TEST(MovieLens, MalformedRatingLinesNameFileLineAndExpectation) {
  const std::vector<BadRatingCase> cases = {
      {"1,2,3.0", "expected 4 fields (userId,movieId,rating,timestamp), found 3"},
      {"1,2,3.0,5,6", "expected 4 fields"},
      {"", "found an empty line"},
      {"abc,1,4.0,5", "expected a non-negative integer user id, found \"abc\""},
      {"1,1,four,5", "expected a rating number, found \"four\""},
      {"1,1,5.5,5", "expected a rating from 0.5 to 5 in steps of 0.5, found 5.5"},
      {"1,1,0,5", "expected a rating from 0.5 to 5 in steps of 0.5, found 0"},
      {"1,1,3.7,5", "in steps of 0.5, found 3.7"},
      {"1,1,4.0,yesterday", "expected an integer timestamp"},
      {"1,99,4.0,5", "expected a movie id listed in movies.csv, found movie id 99"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.line);
    TempDir dir;
    test::write_csv_dataset(dir.path(),
                            "userId,movieId,rating,timestamp\n1,1,4.0,5\n" + c.line + "\n2,2,3.0,6\n");
    expect_parse_error(dir.path(), "ratings.csv", 3, c.expected);
  }
}

TEST(MovieLens, UDataRatingsAreWholeStarsFromOneToFive) {
  for (const std::string rating : {"0", "6", "3.5"}) {
    SCOPED_TRACE(rating);
    TempDir dir;
    test::write_u_dataset(dir.path());
    write_text(dir / "u.data", "196\t242\t3\t881250949\n196\t302\t" + rating + "\t881250949\n");
    expect_parse_error(dir.path(), "u.data", 2, "expected a rating from 1 to 5 in steps of 1");
  }
  TempDir dir;
  test::write_u_dataset(dir.path());
  write_text(dir / "u.data", "196,242,3,881250949\n");
  expect_parse_error(dir.path(), "u.data", 1, "expected 4 fields");
}

TEST(MovieLens, MalformedMovieAndLinkLines) {
  {
    TempDir dir;
    test::write_csv_dataset(
        dir.path(), test::kCsvRatings,
        "movieId,title,genres\n1,Toy Story (1995),Comedy\n2,\"Open quote (1995),Drama\n3,B,C\n");
    expect_parse_error(dir.path(), "movies.csv", 3, "expected a closing quote");
  }
  {
    TempDir dir;
    test::write_csv_dataset(dir.path(), test::kCsvRatings, "movieId,title,genres\n1,Toy Story (1995)\n");
    expect_parse_error(dir.path(), "movies.csv", 2, "expected 3 fields (movieId,title,genres), found 2");
  }
  {
    TempDir dir;
    test::write_csv_dataset(dir.path(), test::kCsvRatings,
                            "movieId,title,genres\none,Toy Story (1995),Comedy\n");
    expect_parse_error(dir.path(), "movies.csv", 2, "expected a non-negative integer movieId");
  }
  {
    TempDir dir;
    test::write_csv_dataset(dir.path(), test::kCsvRatings,
                            std::string(test::kCsvMovies) + "1,Again (2001),Drama\n");
    expect_parse_error(dir.path(), "movies.csv", 6,
                       "expected each movie id once, found movie id 1 again (first on line 2)");
  }
  {
    TempDir dir;
    test::write_csv_dataset(dir.path(), test::kCsvRatings, test::kCsvMovies,
                            "movieId,imdbId,tmdbId\n1,tt0114709,862\n");
    expect_parse_error(dir.path(), "links.csv", 2,
                       "expected an integer imdbId or nothing, found \"tt0114709\"");
  }
  {
    TempDir dir;
    test::write_csv_dataset(dir.path(), test::kCsvRatings, test::kCsvMovies,
                            "movieId,imdbId,tmdbId\n77,1,2\n");
    expect_parse_error(dir.path(), "links.csv", 2,
                       "expected a movieId listed in movies.csv, found movie id 77");
  }
  {
    TempDir dir;
    test::write_csv_dataset(dir.path(), "user,movie,rating,time\n1,1,4.0,5\n");
    expect_parse_error(dir.path(), "ratings.csv", 1,
                       "expected the header \"userId,movieId,rating,timestamp\"");
  }
  {
    TempDir dir;
    test::write_dat_dataset(dir.path());
    write_text(dir / "movies.dat", "10::Caf\xE9 (1999)::Comedy\n20 Matrix (1999) Action\n");
    expect_parse_error(dir.path(), "movies.dat", 2, "expected 3 fields separated by \"::\"");
  }
  {
    TempDir dir;
    test::write_u_dataset(dir.path());
    write_text(dir / "u.item", "242|Kolya (1996)|24-Jan-1997\n");
    expect_parse_error(dir.path(), "u.item", 1, "expected 24 |-separated fields");
  }
  {
    TempDir dir;
    test::write_u_dataset(dir.path());
    write_text(dir / "u.item",
               test::u_item_line("242", "Kolya (1996)", "24-Jan-1997", "01000100000000000x0"));
    expect_parse_error(dir.path(), "u.item", 1, "expected a genre flag 0 or 1 for War");
  }
}

TEST(MovieLens, SkipBadLinesCountsEveryFile) {
  TempDir dir;
  test::write_csv_dataset(dir.path(),
                          "userId,movieId,rating,timestamp\n"
                          "1,1,4.0,964982703\n"
                          "1,2,9.0,964982703\n"  // out of scale
                          "oops\n"               // field count
                          "1,3,4.5,964981247\n"
                          "2,77,4.5,964981247\n"  // unknown movie
                          "2,1,0.5,964982224\n",
                          std::string(test::kCsvMovies) + "5,\"Broken (1999),Drama\n",
                          std::string(test::kCsvLinks) + "x,1,2\n");
  expect_parse_error(dir.path(), "movies.csv", 6, "expected a closing quote");

  const auto ds = load_dataset(dir.path(), no_cache(true));
  EXPECT_EQ(ds.report.skipped_lines, 5);
  EXPECT_EQ(ds.report.lines_read, 6);
  EXPECT_EQ(ds.ratings.nnz(), 3);
  EXPECT_EQ(ds.movies.size(), 4u);
  EXPECT_FLOAT_EQ(rating_of(ds.ratings, 2, 1), 0.5f);
  expect_views_agree(ds.ratings);
}

TEST(MovieLens, MissingEmptyAndUnknownInputsSayWhichFile) {
  {
    TempDir dir;
    expect_io_error(dir.path(),
                    {dir.path().string(), "ratings.csv", "ratings.dat", "u.data", "u.item", "movies.csv"});
  }
  {
    TempDir dir;
    write_text(dir / "ratings.csv", test::kCsvRatings);
    write_text(dir / "links.csv", test::kCsvLinks);
    expect_io_error(dir.path(), {"found ratings.csv but not", (dir / "movies.csv").string()});
  }
  {
    TempDir dir;
    expect_io_error(dir / "nope", {(dir / "nope").string(), "no such directory"});
  }
  {
    TempDir dir;
    test::write_csv_dataset(dir.path(), "");
    expect_io_error(dir.path(), {(dir / "ratings.csv").string() + " is empty"});
  }
  {
    TempDir dir;
    test::write_csv_dataset(dir.path(), "userId,movieId,rating,timestamp\n");
    expect_io_error(dir.path(), {(dir / "ratings.csv").string() + " has no rating lines"});
  }
  {
    TempDir dir;
    test::write_csv_dataset(dir.path(), test::kCsvRatings, "");
    expect_io_error(dir.path(), {(dir / "movies.csv").string() + " is empty"});
  }
  {
    TempDir dir;
    test::write_u_dataset(dir.path());
    write_text(dir / "u.item", "\n");
    expect_io_error(dir.path(), {(dir / "u.item").string() + " is empty"});
  }
}

TEST(MovieLens, ThreadCountDoesNotChangeTheResult) {
  TempDir dir;
  test::write_csv_dataset(dir.path(), many_ratings(2000, 150), many_movies(150), many_links(150));
  LoadOptions one = no_cache();
  one.threads = 1;
  const auto a = load_dataset(dir.path(), one);
  const auto b = load_dataset(dir.path(), no_cache());
  EXPECT_EQ(a.ratings.by_user().indices, b.ratings.by_user().indices);
  EXPECT_EQ(a.ratings.by_user().values, b.ratings.by_user().values);
  EXPECT_EQ(a.ratings.by_movie().indices, b.ratings.by_movie().indices);
}

TEST(MovieLens, RealMlLatestSmall) {
  CINEFACTOR_REQUIRE_ML_LATEST_SMALL(dir);
  const auto ds = load_dataset(dir, no_cache());
  EXPECT_EQ(ds.ratings.n_users(), 610);
  EXPECT_EQ(ds.ratings.n_movies(), 9724);
  EXPECT_EQ(ds.ratings.nnz(), 100836);
  EXPECT_EQ(ds.movies.size(), 9742u);
  EXPECT_EQ(ds.report.duplicates, 0);
  EXPECT_EQ(ds.report.skipped_lines, 0);
  const Movie* toy = find_movie(ds, 1);
  ASSERT_NE(toy, nullptr);
  EXPECT_EQ(toy->title, "Toy Story");
  EXPECT_EQ(toy->year, 1995);
  EXPECT_EQ(toy->imdb_id, 114709);
  EXPECT_EQ(toy->tmdb_id, 862);
  EXPECT_EQ(find_movie(ds, 2571)->title, "The Matrix");
  EXPECT_EQ(find_movie(ds, 2571)->year, 1999);
  EXPECT_EQ(find_movie(ds, 40697)->title, "Babylon 5");
  EXPECT_EQ(find_movie(ds, 40697)->year, 0);
  EXPECT_EQ(find_movie(ds, 171749)->year, 2006);  // "(2006–2007)"
  EXPECT_TRUE(find_movie(ds, 143410)->genres.empty());
  EXPECT_FALSE(find_movie(ds, 791)->tmdb_id.has_value());
  // The rating scale and grid hold for every rating of the real file.
  for (float v : ds.ratings.by_user().values) {
    EXPECT_GE(v, 0.5f);
    EXPECT_LE(v, 5.0f);
  }
  EXPECT_NEAR(ds.ratings.global_mean(), 3.501557, 1e-5);
  expect_views_agree(ds.ratings);
}

}  // namespace
}  // namespace cinefactor
