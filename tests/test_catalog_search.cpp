#include <gtest/gtest.h>

#include "cinefactor/catalog_search.hpp"
#include "cinefactor/error.hpp"

namespace cinefactor {
namespace {

Model catalog_model() {
  Model m;
  const std::vector<std::tuple<std::int64_t, std::string, int, int>> movies{
      {1, "Toy Story", 1995, 215}, {3114, "Toy Story 2", 1999, 97}, {78499, "Toy Story 3", 2010, 55},
      {2, "Jumanji", 1995, 110},   {500, "Amélie", 2001, 120},      {600, "Batman", 1989, 80},
      {601, "Batman", 1966, 5},    {700, "The Toy", 1982, 3}};
  for (const auto& [id, title, year, count] : movies) {
    m.movie_ids.push_back(id);
    CatalogMovie c;
    c.movie.id = id;
    c.movie.title = title;
    c.movie.year = year;
    c.rating_count = count;
    m.catalog.push_back(c);
  }
  // movie_ids must be sorted for lookups: sort both together.
  std::vector<std::size_t> order(m.movie_ids.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](auto a, auto b) { return m.movie_ids[a] < m.movie_ids[b]; });
  Model sorted;
  for (auto i : order) {
    sorted.movie_ids.push_back(m.movie_ids[i]);
    sorted.catalog.push_back(m.catalog[i]);
  }
  return sorted;
}

std::vector<std::int64_t> ids(const Model& m, const std::vector<std::int32_t>& idx) {
  std::vector<std::int64_t> out;
  for (auto j : idx) out.push_back(m.movie_ids[static_cast<std::size_t>(j)]);
  return out;
}

TEST(CatalogSearch, RanksExactThenPrefixThenContainsByPopularity) {
  const auto m = catalog_model();
  EXPECT_EQ(ids(m, search_titles(m, "toy story", 10)), (std::vector<std::int64_t>{1, 3114, 78499}));
  EXPECT_EQ(ids(m, search_titles(m, "  TOY ", 10)), (std::vector<std::int64_t>{1, 3114, 78499, 700}));
  EXPECT_EQ(ids(m, search_titles(m, "toy", 2)), (std::vector<std::int64_t>{1, 3114}));
  EXPECT_EQ(ids(m, search_titles(m, "(1995)", 10)), (std::vector<std::int64_t>{1, 2}));
  EXPECT_EQ(ids(m, search_titles(m, "Amélie", 10)), (std::vector<std::int64_t>{500}));
  EXPECT_TRUE(search_titles(m, "   ", 10).empty());
  EXPECT_TRUE(search_titles(m, "zzz", 10).empty());
}

TEST(CatalogSearch, ResolvesIdsExactTitlesAndRejectsAmbiguity) {
  const auto m = catalog_model();
  EXPECT_EQ(m.movie_ids[static_cast<std::size_t>(resolve_movie(m, "3114"))], 3114);
  EXPECT_EQ(m.movie_ids[static_cast<std::size_t>(resolve_movie(m, "toy story"))],
            1);  // exact beats fragments
  EXPECT_EQ(m.movie_ids[static_cast<std::size_t>(resolve_movie(m, "jumanji"))], 2);
  EXPECT_EQ(m.movie_ids[static_cast<std::size_t>(resolve_movie(m, "batman (1966)"))], 601);
  try {
    resolve_movie(m, "batman");
    FAIL() << "expected ambiguity";
  } catch (const InvalidArgument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("ambiguous"), std::string::npos) << what;
    EXPECT_NE(what.find("Batman (1989) [id 600]"), std::string::npos) << what;
    EXPECT_NE(what.find("Batman (1966) [id 601]"), std::string::npos) << what;
  }
  EXPECT_THROW(resolve_movie(m, "99999"), InvalidArgument);
  EXPECT_THROW(resolve_movie(m, "no such film"), InvalidArgument);
}

}  // namespace
}  // namespace cinefactor
