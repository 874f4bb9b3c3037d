// Synthetic dataset generator: exact sizes (the ml-25m plan without writing it), determinism across
// seeds and thread counts, MovieLens-like statistics, file format, planted structure, atomic output
// and the `cinefactor data synth` command.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <algorithm>
#include <charconv>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cinefactor/error.hpp"
#include "cinefactor/synth.hpp"
#include "test_support.hpp"

namespace cinefactor {
namespace {

using test::read_text;
using test::TempDir;

struct Rating {
  std::int64_t user;
  std::int64_t movie;
  double rating;
  std::int64_t time;
};

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::int64_t to_int(std::string_view s) {
  std::int64_t v = 0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  EXPECT_TRUE(r.ec == std::errc() && r.ptr == s.data() + s.size()) << "not an integer: '" << s << "'";
  return v;
}

std::vector<Rating> read_ratings(const std::filesystem::path& dir) {
  const auto lines = split_lines(read_text(dir / "ratings.csv"));
  EXPECT_FALSE(lines.empty());
  EXPECT_EQ(lines.front(), "userId,movieId,rating,timestamp");
  std::vector<Rating> out;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    std::vector<std::string_view> f;
    std::string_view rest = lines[i];
    for (std::size_t pos; (pos = rest.find(',')) != std::string_view::npos; rest.remove_prefix(pos + 1)) {
      f.push_back(rest.substr(0, pos));
    }
    f.push_back(rest);
    EXPECT_EQ(f.size(), 4u) << "line " << i + 1 << ": " << lines[i];
    if (f.size() != 4) continue;
    EXPECT_EQ(f[2].size(), 3u) << "rating printed as d.d: " << lines[i];
    EXPECT_EQ(f[2][1], '.');
    out.push_back({to_int(f[0]), to_int(f[1]), std::stod(std::string(f[2])), to_int(f[3])});
  }
  return out;
}

// RFC-4180 fields of one line.
std::vector<std::string> csv_fields(const std::string& line, bool* had_quotes = nullptr) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
      if (had_quotes) *had_quotes = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  EXPECT_FALSE(quoted) << "unterminated quote: " << line;
  return fields;
}

SynthOptions small_options(std::uint64_t seed, int threads = 0) {
  SynthOptions o;
  o.preset = "small";
  o.seed = seed;
  o.threads = threads;
  return o;
}

// MovieLens' genres, in the bit order of SynthMovie::genre_mask.
const std::vector<std::string> kMovieLensGenres = {
    "Action",  "Adventure", "Animation", "Children", "Comedy", "Crime",   "Documentary",
    "Drama",   "Fantasy",   "Film-Noir", "Horror",   "IMAX",   "Musical", "Mystery",
    "Romance", "Sci-Fi",    "Thriller",  "War",      "Western"};

std::int64_t total_ratings(const SynthPlan& plan) {
  return std::accumulate(plan.user_counts.begin(), plan.user_counts.end(), std::int64_t{0});
}

std::size_t level_of(double rating) {
  return static_cast<std::size_t>(std::lround(rating * 2.0)) - 1;
}

// One generated small dataset shared by the read-only tests.
class SynthSmall : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    stats_ = write_synthetic_dataset(small_options(kSeed), dir_->path() / "out");
    plan_ = new SynthPlan(plan_synthetic_dataset(small_options(kSeed)));
    ratings_ = new std::vector<Rating>(read_ratings(dir_->path() / "out"));
  }
  static void TearDownTestSuite() {
    delete ratings_;
    delete plan_;
    delete dir_;
  }
  static std::filesystem::path out() { return dir_->path() / "out"; }

  static constexpr std::uint64_t kSeed = 11;
  static inline TempDir* dir_ = nullptr;
  static inline SynthStats stats_;
  static inline SynthPlan* plan_ = nullptr;
  static inline std::vector<Rating>* ratings_ = nullptr;
};

TEST(SynthPresets, KnownAndUnknown) {
  EXPECT_EQ(synth_preset("small").users, 610);
  EXPECT_EQ(synth_preset("ml-25m").ratings, 25000095);
  EXPECT_GE(synth_presets().size(), 2u);
  EXPECT_THROW(synth_preset("ml-1b"), InvalidArgument);
  EXPECT_EQ(synth_genres_string(0), "(no genres listed)");
  EXPECT_EQ(synth_genres_string(0b11), "Action|Adventure");
  for (std::size_t g = 0; g < kMovieLensGenres.size(); ++g) {
    EXPECT_EQ(synth_genres_string(1u << g), kMovieLensGenres[g]) << "bit " << g;
  }
}

// The count plan of the full-size preset hits ml-25m's sizes exactly, without writing 680 MB.
TEST(SynthPlanTest, Ml25mExactCounts) {
  SynthOptions o;
  o.preset = "ml-25m";
  o.seed = 42;
  const SynthPlan plan = plan_synthetic_dataset(o);
  ASSERT_EQ(plan.user_counts.size(), 162541u);
  EXPECT_EQ(total_ratings(plan), 25000095);
  EXPECT_EQ(plan.movies.size(), 62423u);
  const auto rated =
      std::count_if(plan.movies.begin(), plan.movies.end(), [](const SynthMovie& m) { return m.rated; });
  EXPECT_EQ(rated, 59047);
  EXPECT_GE(*std::min_element(plan.user_counts.begin(), plan.user_counts.end()), 20);

  // Every rated movie is seeded into exactly one user, who was active after its release and has room.
  ASSERT_EQ(plan.seed_offsets.size(), plan.user_counts.size() + 1);
  std::vector<int> seeded(plan.movies.size(), 0);
  for (std::size_t u = 0; u < plan.user_counts.size(); ++u) {
    const auto n_seeds = plan.seed_offsets[u + 1] - plan.seed_offsets[u];
    ASSERT_LE(n_seeds, plan.user_counts[u]) << "user " << u + 1;
    for (auto s = plan.seed_offsets[u]; s < plan.seed_offsets[u + 1]; ++s) {
      const auto k = static_cast<std::size_t>(plan.seed_movies[static_cast<std::size_t>(s)]);
      ++seeded[k];
      const auto last_year_of_user = 1970 + plan.user_last_time[u] / 31556952;  // mean Gregorian year
      ASSERT_LE(plan.movies[k].year, last_year_of_user + 1)
          << "movie seeded into a user active before its release";
    }
  }
  for (std::size_t k = 0; k < plan.movies.size(); ++k) {
    ASSERT_EQ(seeded[k], plan.movies[k].rated ? 1 : 0) << "movie " << plan.movies[k].id;
  }
  // Ids ascend with gaps, like MovieLens.
  for (std::size_t k = 1; k < plan.movies.size(); ++k) ASSERT_LT(plan.movies[k - 1].id, plan.movies[k].id);
  EXPECT_EQ(plan.movies.front().id, 1);
  EXPECT_GT(plan.movies.back().id, static_cast<std::int64_t>(plan.movies.size()) * 2);
  // Long-tailed activity: median near ml-25m's 71, a few users with thousands.
  std::vector<std::int32_t> counts = plan.user_counts;
  std::nth_element(counts.begin(), counts.begin() + static_cast<std::ptrdiff_t>(counts.size() / 2),
                   counts.end());
  EXPECT_GT(counts[counts.size() / 2], 50);
  EXPECT_LT(counts[counts.size() / 2], 100);
  EXPECT_GT(*std::max_element(plan.user_counts.begin(), plan.user_counts.end()), 5000);
}

TEST(SynthPlanTest, DependsOnSeedOnly) {
  const SynthPlan a = plan_synthetic_dataset(small_options(5));
  const SynthPlan b = plan_synthetic_dataset(small_options(5));
  const SynthPlan c = plan_synthetic_dataset(small_options(6));
  EXPECT_EQ(a.user_counts, b.user_counts);
  EXPECT_EQ(a.seed_movies, b.seed_movies);
  EXPECT_NE(a.user_counts, c.user_counts);
  EXPECT_EQ(total_ratings(a), total_ratings(c));
}

TEST(SynthDeterminism, SameSeedSameBytesAnyThreads) {
  TempDir tmp;
  write_synthetic_dataset(small_options(7, 1), tmp / "one");
  write_synthetic_dataset(small_options(7, 2), tmp / "two");
  write_synthetic_dataset(small_options(7, 5), tmp / "five");
  write_synthetic_dataset(small_options(8, 2), tmp / "other");
  for (const char* file : {"ratings.csv", "movies.csv", "links.csv"}) {
    const auto one = read_text(tmp / "one" / file);
    ASSERT_FALSE(one.empty()) << file;
    EXPECT_EQ(one, read_text(tmp / "two" / file)) << file << " differs between 1 and 2 threads";
    EXPECT_EQ(one, read_text(tmp / "five" / file)) << file << " differs between 1 and 5 threads";
    EXPECT_NE(one, read_text(tmp / "other" / file)) << file << " is the same for seeds 7 and 8";
  }
}

TEST_F(SynthSmall, ExactSizesAndIds) {
  const SynthPreset& p = synth_preset("small");
  EXPECT_EQ(stats_.ratings, p.ratings);
  EXPECT_EQ(stats_.users, p.users);
  EXPECT_EQ(stats_.rated_movies, p.rated_movies);
  EXPECT_EQ(static_cast<std::int64_t>(ratings_->size()), p.ratings);
  std::map<std::int64_t, int> per_user;
  std::map<std::int64_t, int> per_movie;
  for (const Rating& r : *ratings_) {
    ++per_user[r.user];
    ++per_movie[r.movie];
  }
  ASSERT_EQ(per_user.size(), static_cast<std::size_t>(p.users));
  EXPECT_EQ(per_user.begin()->first, 1);
  EXPECT_EQ(per_user.rbegin()->first, p.users);
  for (const auto& [user, n] : per_user) EXPECT_GE(n, p.min_user_ratings) << "user " << user;
  // Every movie listed as rated has >= 1 rating; listed-only movies have none; nothing else is rated.
  EXPECT_EQ(per_movie.size(), static_cast<std::size_t>(p.rated_movies));
  for (const SynthMovie& m : plan_->movies) {
    EXPECT_EQ(per_movie.count(m.id), m.rated ? 1u : 0u) << "movie " << m.id;
  }
}

TEST_F(SynthSmall, SortedWithoutDuplicatePairs) {
  for (std::size_t i = 1; i < ratings_->size(); ++i) {
    const Rating& a = (*ratings_)[i - 1];
    const Rating& b = (*ratings_)[i];
    ASSERT_TRUE(a.user < b.user || (a.user == b.user && a.movie < b.movie))
        << "line " << i + 2 << ": (" << b.user << ", " << b.movie << ") after (" << a.user << ", " << a.movie
        << ")";
  }
}

TEST_F(SynthSmall, HistogramMatchesTarget) {
  const SynthPreset& p = synth_preset("small");
  std::array<std::int64_t, kHalfStarLevels> hist{};
  for (const Rating& r : *ratings_) {
    ASSERT_GE(r.rating, 0.5);
    ASSERT_LE(r.rating, 5.0);
    ASSERT_EQ(r.rating * 2, std::round(r.rating * 2)) << "not a half star: " << r.rating;
    ++hist[level_of(r.rating)];
  }
  EXPECT_EQ(hist, stats_.histogram);
  const double total_target = std::accumulate(p.histogram.begin(), p.histogram.end(), 0.0);
  for (std::size_t l = 0; l < hist.size(); ++l) {
    const double share = static_cast<double>(hist[l]) / static_cast<double>(ratings_->size());
    // The small preset calibrates on all its users, so the shares match to rounding (0.2 points).
    EXPECT_NEAR(share, p.histogram[l] / total_target, 0.002) << "level " << (l + 1) * 0.5;
  }
  // 4.0 is the most common rating, as in MovieLens.
  EXPECT_EQ(std::max_element(hist.begin(), hist.end()) - hist.begin(), 7);
}

TEST_F(SynthSmall, LongTailedPopularityAndActivity) {
  std::map<std::int64_t, int> per_movie;
  std::map<std::int64_t, int> per_user;
  for (const Rating& r : *ratings_) {
    ++per_movie[r.movie];
    ++per_user[r.user];
  }
  std::vector<int> counts;
  for (const auto& kv : per_movie) counts.push_back(kv.second);
  std::sort(counts.rbegin(), counts.rend());
  const auto top = static_cast<std::ptrdiff_t>(counts.size() / 100);
  const double top_share =
      std::accumulate(counts.begin(), counts.begin() + top, 0.0) / static_cast<double>(ratings_->size());
  EXPECT_GT(top_share, 0.10) << "top 1% of movies (ml-latest-small: 15.7%)";
  const int median = counts[counts.size() / 2];
  EXPECT_GE(counts.front(), 50 * median) << "most-rated movie vs median movie";
  const auto singles = std::count(counts.begin(), counts.end(), 1);
  EXPECT_GT(singles, static_cast<std::ptrdiff_t>(counts.size() / 5))
      << "many movies rated once (ml-latest-small: 35%)";
  std::vector<int> activity;
  for (const auto& kv : per_user) activity.push_back(kv.second);
  std::sort(activity.begin(), activity.end());
  EXPECT_GT(activity[activity.size() / 2], 40);
  EXPECT_LT(activity[activity.size() / 2], 120);
  EXPECT_GT(activity.back(), 1000);
}

TEST_F(SynthSmall, MoviesAndLinksFormat) {
  const auto movie_lines = split_lines(read_text(out() / "movies.csv"));
  ASSERT_EQ(movie_lines.size(), plan_->movies.size() + 1);
  EXPECT_EQ(movie_lines.front(), "movieId,title,genres");
  std::set<std::string> genre_names(kMovieLensGenres.begin(), kMovieLensGenres.end());
  genre_names.insert("(no genres listed)");
  int quoted = 0, with_quote_char = 0;
  for (std::size_t i = 1; i < movie_lines.size(); ++i) {
    bool had_quotes = false;
    const auto f = csv_fields(movie_lines[i], &had_quotes);
    ASSERT_EQ(f.size(), 3u) << movie_lines[i];
    const SynthMovie& m = plan_->movies[i - 1];
    EXPECT_EQ(to_int(f[0]), m.id);
    EXPECT_EQ(f[1], m.title);
    quoted += had_quotes ? 1 : 0;
    with_quote_char += f[1].find('"') != std::string::npos ? 1 : 0;
    // "Title (YYYY)"
    ASSERT_GE(f[1].size(), 8u);
    const std::string suffix = f[1].substr(f[1].size() - 7);
    EXPECT_EQ(suffix.front(), ' ');
    EXPECT_EQ(suffix[1], '(');
    EXPECT_EQ(suffix.back(), ')');
    EXPECT_EQ(to_int(suffix.substr(2, 4)), m.year);
    EXPECT_GE(m.year, 1890);
    EXPECT_LE(m.year, 2018);
    EXPECT_EQ(had_quotes, f[1].find_first_of(",\"") != std::string::npos) << "quoting: " << movie_lines[i];
    std::stringstream genres(f[2]);
    for (std::string g; std::getline(genres, g, '|');) EXPECT_TRUE(genre_names.count(g)) << g;
  }
  EXPECT_GT(quoted, 100) << "titles with commas (\"Matrix, The\") are quoted";
  EXPECT_GT(with_quote_char, 0) << "titles with quote characters exist and round-trip";

  const auto link_lines = split_lines(read_text(out() / "links.csv"));
  ASSERT_EQ(link_lines.size(), plan_->movies.size() + 1);
  EXPECT_EQ(link_lines.front(), "movieId,imdbId,tmdbId");
  int missing_tmdb = 0;
  std::set<std::string> imdb_ids;
  for (std::size_t i = 1; i < link_lines.size(); ++i) {
    const auto f = csv_fields(link_lines[i]);
    ASSERT_EQ(f.size(), 3u) << link_lines[i];
    EXPECT_EQ(to_int(f[0]), plan_->movies[i - 1].id);
    EXPECT_EQ(f[1].size(), 7u) << "zero-padded 7-digit imdbId: " << link_lines[i];
    EXPECT_TRUE(imdb_ids.insert(f[1]).second) << "duplicate imdbId " << f[1];
    if (f[2].empty()) {
      ++missing_tmdb;
    } else {
      EXPECT_GT(to_int(f[2]), 0);
    }
  }
  EXPECT_GT(missing_tmdb, 0) << "some tmdbIds are missing, as in MovieLens";
  EXPECT_LT(missing_tmdb, 100);
}

TEST_F(SynthSmall, TimestampsFollowReleaseAndActivity) {
  std::map<std::int64_t, int> year_of_movie;
  for (const SynthMovie& m : plan_->movies) year_of_movie[m.id] = m.year;
  const SynthPreset& p = synth_preset("small");
  for (const Rating& r : *ratings_) {
    const auto u = static_cast<std::size_t>(r.user - 1);
    ASSERT_GE(r.time, plan_->user_first_time[u]);
    ASSERT_LE(r.time, plan_->user_last_time[u]);
    ASSERT_LE(r.time, p.snapshot);
    ASSERT_GE(r.time, 820454400) << "no rating before 1996";
    // Not before Jan 1 of the movie's year (year length bound: 366 days).
    const std::int64_t year = year_of_movie.at(r.movie);
    ASSERT_GE(1970 + (r.time + 366 * 86400) / 31556952, year)
        << "movie " << r.movie << " rated at " << r.time;
  }
}

// Planted genre taste: a user's preference for a genre, measured on one half of the movies, predicts
// it on the other half. With ratings shuffled within each user the correlation vanishes.
// shuffle_seed != 0 shuffles the ratings within each user first.
double split_half_genre_correlation(const std::vector<Rating>& ratings, const SynthPlan& plan,
                                    std::uint64_t shuffle_seed) {
  std::map<std::int64_t, std::uint32_t> genres;
  for (const SynthMovie& m : plan.movies) genres[m.id] = m.genre_mask;
  const int n_genres = static_cast<int>(kMovieLensGenres.size());
  std::vector<Rating> rs = ratings;
  std::mt19937_64 rng(shuffle_seed);
  if (shuffle_seed != 0) {
    for (std::size_t b = 0; b < rs.size();) {
      std::size_t e = b;
      while (e < rs.size() && rs[e].user == rs[b].user) ++e;
      std::vector<double> vals;
      for (std::size_t i = b; i < e; ++i) vals.push_back(rs[i].rating);
      std::shuffle(vals.begin(), vals.end(), rng);
      for (std::size_t i = b; i < e; ++i) rs[i].rating = vals[i - b];
      b = e;
    }
  }
  std::vector<double> xs, ys;
  for (std::size_t b = 0; b < rs.size();) {
    std::size_t e = b;
    double mean = 0;
    while (e < rs.size() && rs[e].user == rs[b].user) mean += rs[e++].rating;
    mean /= static_cast<double>(e - b);
    std::vector<std::array<double, 2>> sum(static_cast<std::size_t>(n_genres), {0, 0});
    std::vector<std::array<int, 2>> cnt(static_cast<std::size_t>(n_genres), {0, 0});
    for (std::size_t i = b; i < e; ++i) {
      const int half = static_cast<int>(rs[i].movie % 2);
      for (int g = 0; g < n_genres; ++g) {
        if ((genres.at(rs[i].movie) >> g) & 1u) {
          sum[static_cast<std::size_t>(g)][static_cast<std::size_t>(half)] += rs[i].rating - mean;
          ++cnt[static_cast<std::size_t>(g)][static_cast<std::size_t>(half)];
        }
      }
    }
    constexpr int kMinPerHalf = 5;
    for (std::size_t g = 0; g < sum.size(); ++g) {
      if (cnt[g][0] >= kMinPerHalf && cnt[g][1] >= kMinPerHalf) {
        xs.push_back(sum[g][0] / cnt[g][0]);
        ys.push_back(sum[g][1] / cnt[g][1]);
      }
    }
    b = e;
  }
  EXPECT_GT(xs.size(), 500u);
  const Eigen::Map<const Eigen::VectorXd> x(xs.data(), static_cast<Eigen::Index>(xs.size()));
  const Eigen::Map<const Eigen::VectorXd> y(ys.data(), static_cast<Eigen::Index>(ys.size()));
  const Eigen::VectorXd xc = x.array() - x.mean();
  const Eigen::VectorXd yc = y.array() - y.mean();
  return xc.dot(yc) / std::sqrt(xc.squaredNorm() * yc.squaredNorm());
}

TEST_F(SynthSmall, PlantedGenreTasteIsConsistent) {
  const double real = split_half_genre_correlation(*ratings_, *plan_, 0);
  // The null: ratings shuffled within each user. Its correlation is noisy (a heavy user contributes
  // up to 19 dependent pairs; single shuffles range over about +-0.12), so it is averaged over shuffles.
  constexpr int kShuffles = 6;
  double shuffled = 0.0;
  for (int s = 1; s <= kShuffles; ++s)
    shuffled += split_half_genre_correlation(*ratings_, *plan_, s) / kShuffles;
  // Measured (seed 11): real 0.39; shuffled mean -0.08 (disjoint subsets of one user's ratings are
  // slightly anti-correlated). The thresholds leave a wide margin on both.
  EXPECT_GT(real, 0.25) << "shuffled " << shuffled;
  EXPECT_LT(std::abs(shuffled), 0.15) << "real " << real;
  EXPECT_GT(real - shuffled, 0.25);
}

// Planted low rank: on the 300 most-rated movies, the top-10 singular values of the centred observed
// ratings (zeros elsewhere) hold a clearly larger share of the energy than after shuffling the values
// over the same observed cells. The dense SVD is Eigen's (610 x 300), an independent reference.
TEST_F(SynthSmall, PlantedLowRankStructure) {
  constexpr int kMovies = 300;
  constexpr int kRank = 10;
  std::map<std::int64_t, int> per_movie;
  for (const Rating& r : *ratings_) ++per_movie[r.movie];
  std::vector<std::pair<int, std::int64_t>> by_count;
  for (const auto& [m, n] : per_movie) by_count.emplace_back(-n, m);
  std::sort(by_count.begin(), by_count.end());
  std::map<std::int64_t, int> column;
  for (int j = 0; j < kMovies; ++j) column[by_count[static_cast<std::size_t>(j)].second] = j;
  const SynthPreset& p = synth_preset("small");
  std::vector<std::tuple<int, int, double>> cells;
  double mean = 0;
  for (const Rating& r : *ratings_) {
    const auto it = column.find(r.movie);
    if (it == column.end()) continue;
    cells.emplace_back(static_cast<int>(r.user - 1), it->second, r.rating);
    mean += r.rating;
  }
  mean /= static_cast<double>(cells.size());
  const auto energy_share = [&](const std::vector<double>& values) {
    Eigen::MatrixXd m = Eigen::MatrixXd::Zero(p.users, kMovies);
    for (std::size_t i = 0; i < cells.size(); ++i)
      m(std::get<0>(cells[i]), std::get<1>(cells[i])) = values[i] - mean;
    const Eigen::VectorXd s = Eigen::JacobiSVD<Eigen::MatrixXd>(m).singularValues();
    return s.head(kRank).squaredNorm() / s.squaredNorm();
  };
  std::vector<double> values;
  for (const auto& c : cells) values.push_back(std::get<2>(c));
  const double real = energy_share(values);
  std::mt19937_64 rng(3);
  std::shuffle(values.begin(), values.end(), rng);
  const double shuffled = energy_share(values);
  // Measured (seed 11): real 0.29, shuffled 0.14; the threshold asks for about half that gap.
  EXPECT_GT(real, shuffled + 0.08) << "top-" << kRank << " energy share: real " << real << ", shuffled "
                                   << shuffled;
}

TEST(SynthOutput, RefusesNonEmptyDirectoryAndLeavesItUntouched) {
  TempDir tmp;
  const auto out = tmp / "data";
  test::write_text(out / "keep.txt", "precious");
  EXPECT_THROW(write_synthetic_dataset(small_options(1), out), InvalidArgument);
  EXPECT_EQ(read_text(out / "keep.txt"), "precious");
  EXPECT_FALSE(std::filesystem::exists(out / "ratings.csv"));
  // Nothing else appeared beside it (no temporary directory left behind).
  EXPECT_EQ(
      std::distance(std::filesystem::directory_iterator(tmp.path()), std::filesystem::directory_iterator()),
      1);
}

TEST(SynthOutput, ForceReplacesAndEmptyDirectoryIsFine) {
  TempDir tmp;
  const auto out = tmp / "data";
  test::write_text(out / "keep.txt", "old");
  SynthOptions o = small_options(1);
  o.force = true;
  write_synthetic_dataset(o, out);
  EXPECT_FALSE(std::filesystem::exists(out / "keep.txt"));
  EXPECT_TRUE(std::filesystem::exists(out / "ratings.csv"));
  EXPECT_EQ(
      std::distance(std::filesystem::directory_iterator(tmp.path()), std::filesystem::directory_iterator()),
      1);

  const auto empty = tmp / "empty";
  std::filesystem::create_directories(empty);
  write_synthetic_dataset(small_options(1), empty);
  EXPECT_EQ(read_text(empty / "ratings.csv"), read_text(out / "ratings.csv"));

  test::write_text(tmp / "file", "x");
  EXPECT_THROW(write_synthetic_dataset(o, tmp / "file"), InvalidArgument);
}

TEST(SynthCli, WritesAndReportsJson) {
  TempDir tmp;
  const auto out = (tmp / "synth").string();
  const auto r =
      test::run_cli({"-q", "data", "synth", "--preset", "small", "--seed", "3", "--out", out, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  for (const char* key : {"users", "movies", "ratings", "seconds", "out"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["users"], 610);
  EXPECT_EQ(j["movies"], 9724);
  EXPECT_EQ(j["ratings"], 100836);
  EXPECT_EQ(j["out"], out);
  EXPECT_TRUE(std::filesystem::exists(tmp / "synth" / "links.csv"));

  // Same seed through the library: identical bytes.
  write_synthetic_dataset(small_options(3), tmp / "lib");
  EXPECT_EQ(read_text(tmp / "lib" / "ratings.csv"), read_text(tmp / "synth" / "ratings.csv"));

  // Exists and not empty: runtime error, one line, untouched.
  const auto again = test::run_cli({"-q", "data", "synth", "--preset", "small", "--out", out});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("cinefactor: error:"), std::string::npos) << again.err;
  EXPECT_NE(again.err.find("--force"), std::string::npos) << again.err;

  const auto forced =
      test::run_cli({"-q", "data", "synth", "--preset", "small", "--seed", "4", "--out", out, "--force"});
  EXPECT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_NE(forced.out.find("100836 ratings"), std::string::npos) << forced.out;
}

TEST(SynthCli, UsageErrors) {
  TempDir tmp;
  EXPECT_EQ(test::run_cli({"data", "synth", "--preset", "ml-1b", "--out", (tmp / "x").string()}).exit_code,
            2);
  EXPECT_EQ(test::run_cli({"data", "synth", "--preset", "small"}).exit_code, 2) << "--out is required";
  EXPECT_EQ(test::run_cli({"data", "synth", "--threads", "-1", "--out", (tmp / "x").string()}).exit_code, 2);
  const auto help = test::run_cli({"data", "synth", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("ml-25m"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(tmp / "x"));
}

}  // namespace
}  // namespace cinefactor
