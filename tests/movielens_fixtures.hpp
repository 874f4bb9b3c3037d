// Small MovieLens directories of every layout, written by the tests themselves (no MovieLens data
// is ever copied into the repository).
#pragma once

#include <filesystem>
#include <string>

#include "test_support.hpp"

namespace cinefactor::test {

inline const char* kCsvRatings =
    "userId,movieId,rating,timestamp\n"
    "1,1,4.0,964982703\n"
    "1,3,4.5,964981247\n"
    "2,1,0.5,964982224\n"
    "2,2,5.0,964983815\n";

inline const char* kCsvMovies =
    "movieId,title,genres\n"
    "1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy\n"
    "2,\"American President, The (1995)\",Comedy|Drama|Romance\n"
    "3,Babylon 5,(no genres listed)\n"
    "4,Unrated (2000),Drama\n";

inline const char* kCsvLinks =
    "movieId,imdbId,tmdbId\n"
    "1,0114709,862\n"
    "2,0112346,\n"
    "3,,1234\n"
    "4,0000004,4\n";

inline void write_csv_dataset(const std::filesystem::path& dir, const std::string& ratings = kCsvRatings,
                              const std::string& movies = kCsvMovies, const std::string& links = kCsvLinks) {
  write_text(dir / "ratings.csv", ratings);
  write_text(dir / "movies.csv", movies);
  write_text(dir / "links.csv", links);
}

// ml-1m style: "::" separators, a Latin-1 title (Caf\xE9), ml-10m style half stars.
inline void write_dat_dataset(const std::filesystem::path& dir) {
  write_text(dir / "ratings.dat",
             "1::10::5::978300760\n"
             "1::20::3.5::978302109\n"
             "2::10::1::978301968\n");
  write_text(dir / "movies.dat",
             "10::Caf\xE9 (1999)::Comedy|Drama\n"
             "20::Matrix, The (1999)::Action|Sci-Fi|Thriller\n");
}

// ml-100k style: tab-separated u.data, Latin-1 u.item with 19 genre flags.
inline std::string u_item_line(const std::string& id, const std::string& title, const std::string& date,
                               const std::string& flags19) {
  std::string line = id + "|" + title + "|" + date + "||http://us.imdb.com/M/title-exact?x";
  for (char f : flags19) line += std::string("|") + f;
  return line + "\n";
}

inline void write_u_dataset(const std::filesystem::path& dir) {
  write_text(dir / "u.data",
             "196\t242\t3\t881250949\n"
             "186\t302\t3\t891717742\n"
             "196\t302\t5\t881251000\n");
  // 242: Action + Comedy; 302: Drama; the title bytes C3 A9 are Latin-1 "Ã©".
  write_text(dir / "u.item", u_item_line("242", "Kolya (1996)", "24-Jan-1997", "0100010000000000000") +
                                 u_item_line("302", "L.A. Confidential \xC3\xA9 (1997)", "01-Jan-1997",
                                             "0000000010000000000") +
                                 u_item_line("267", "unknown", "01-Jan-1995", "1000000000000000000"));
}

}  // namespace cinefactor::test
