// MovieLens title cleaning: year, series ranges, spaces, alternate titles and articles.
#include <gtest/gtest.h>

#include "data/text_scan.hpp"
#include "data/title.hpp"

namespace cinefactor::detail {
namespace {

void expect_title(std::string_view raw, std::string_view title, int year) {
  const auto parsed = parse_title(raw);
  EXPECT_EQ(parsed.title, title) << "raw: " << raw;
  EXPECT_EQ(parsed.year, year) << "raw: " << raw;
}

TEST(Title, PlainTitleWithYear) {
  expect_title("Toy Story (1995)", "Toy Story", 1995);
}

TEST(Title, NoYear) {
  expect_title("Babylon 5", "Babylon 5", 0);
  expect_title("Black Mirror", "Black Mirror", 0);
}

TEST(Title, TrailingAndDoubledSpaces) {
  expect_title("From Dusk Till Dawn 2: Texas Blood Money (1999) ", "From Dusk Till Dawn 2: Texas Blood Money",
               1999);
  expect_title("Angst  (1983)", "Angst", 1983);
  expect_title("Dark Portals: The Chronicles of Vidocq  (Vidocq) (2001)",
               "Dark Portals: The Chronicles of Vidocq (Vidocq)", 2001);
}

TEST(Title, SeriesRangesGiveTheFirstYear) {
  expect_title("Show (2007-2013)", "Show", 2007);
  expect_title("Show (2007-)", "Show", 2007);
  expect_title(
      "Death Note: Desu n\xC3\xB4to (2006\xE2\x80\x93"
      "2007)",
      "Death Note: Desu n\xC3\xB4to", 2006);
}

TEST(Title, ArticleMovedToTheFront) {
  expect_title("Matrix, The (1999)", "The Matrix", 1999);
  expect_title("American President, The (1995)", "The American President", 1995);
  expect_title("Mis\xC3\xA9rables, Les (1995)", "Les Mis\xC3\xA9rables", 1995);
  expect_title("Boot, Das (Boat, The) (1981)", "Das Boot (The Boat)", 1981);
  expect_title("Postman, The (Postino, Il) (1994)", "The Postman (Il Postino)", 1994);
  expect_title(
      "School of Flesh, The (\xC3\x89"
      "cole de la chair, L') (1998)",
      "The School of Flesh (L'\xC3\x89"
      "cole de la chair)",
      1998);
}

TEST(Title, ArticleOnlyMovesFromTheEnd) {
  expect_title("I Love You, I Love You Not (1996)", "I Love You, I Love You Not", 1996);
  expect_title("Honey, I Blew Up the Kid (1992)", "Honey, I Blew Up the Kid", 1992);
  expect_title("Cry, the Beloved Country (1995)", "Cry, the Beloved Country", 1995);
}

TEST(Title, AkaPartsStay) {
  expect_title("Twelve Monkeys (a.k.a. 12 Monkeys) (1995)", "Twelve Monkeys (a.k.a. 12 Monkeys)", 1995);
  expect_title("Something (a.k.a. Thing, The) (2001)", "Something (a.k.a. The Thing)", 2001);
}

TEST(Title, QuotesAndCommasInsideTheTitleStay) {
  expect_title("11'09\"01 - September 11 (2002)", "11'09\"01 - September 11", 2002);
  expect_title("(500) Days of Summer (2009)", "(500) Days of Summer", 2009);
}

TEST(Title, ParenthesesThatAreNotAYear) {
  expect_title("Movie (Director's Cut)", "Movie (Director's Cut)", 0);
  expect_title("Movie (19)", "Movie (19)", 0);
  expect_title("Movie (1995a)", "Movie (1995a)", 0);
}

TEST(TextScan, CsvSplittingHandlesQuotes) {
  std::vector<std::string> fields;
  std::string error;
  ASSERT_TRUE(split_csv("11,\"American President, The (1995)\",Comedy|Drama", fields, &error));
  EXPECT_EQ(fields, (std::vector<std::string>{"11", "American President, The (1995)", "Comedy|Drama"}));
  ASSERT_TRUE(split_csv("7789,\"11'09\"\"01 - September 11 (2002)\",Drama", fields, &error));
  EXPECT_EQ(fields[1], "11'09\"01 - September 11 (2002)");
  ASSERT_TRUE(split_csv("791,0113610,", fields, &error));
  EXPECT_EQ(fields, (std::vector<std::string>{"791", "0113610", ""}));
  EXPECT_FALSE(split_csv("1,\"Open title (1995),Drama", fields, &error));
  EXPECT_NE(error.find("closing quote"), std::string::npos) << error;
}

TEST(TextScan, Latin1BecomesUtf8) {
  EXPECT_EQ(latin1_to_utf8("Caf\xE9"), "Caf\xC3\xA9");
  // "Ã©" written in Latin-1 is the bytes C3 A9: as Latin-1 they are two characters.
  EXPECT_EQ(latin1_to_utf8("\xC3\xA9"), "\xC3\x83\xC2\xA9");
  EXPECT_TRUE(is_valid_utf8("Caf\xC3\xA9"));
  EXPECT_FALSE(is_valid_utf8("Caf\xE9"));
  EXPECT_FALSE(is_valid_utf8("\xC0\x80"));  // overlong
  EXPECT_EQ(utf8_or_latin1("Caf\xC3\xA9"), "Caf\xC3\xA9");
  EXPECT_EQ(utf8_or_latin1("Caf\xE9"), "Caf\xC3\xA9");
}

}  // namespace
}  // namespace cinefactor::detail
