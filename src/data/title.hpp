// MovieLens titles: "Matrix, The (1999)" -> title "The Matrix", year 1999. Internal to the library.
//
// Rules (the same for every layout):
//  - Surrounding and doubled spaces are removed ("Angst  (1983)", "96 Minutes (2011) ").
//  - A final "(YYYY)" is the release year; a final series range "(YYYY-YYYY)", "(YYYY-)" or with an
//    en dash gives its first year. A title without one has year 0.
//  - Alternate titles in parentheses stay, as MovieLens writes them ("Seven (a.k.a. Se7en)",
//    "Postman, The (Postino, Il)"): they are part of how people search for a film.
//  - A trailing article is moved to the front, in the main title and in each alternate title:
//    "Matrix, The" -> "The Matrix", "Postman, The (Postino, Il)" -> "The Postman (Il Postino)",
//    "School of Flesh, The (École de la chair, L')" -> "The School of Flesh (L'École de la chair)".
//    Display pages and title search read the natural order; only the articles listed in title.cpp move.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace cinefactor::detail {

struct ParsedTitle {
  std::string title;
  std::int32_t year = 0;  // 0 when the title carries no year
};

// `raw` must already be UTF-8.
ParsedTitle parse_title(std::string_view raw);

// "Matrix, The" -> "The Matrix"; other text unchanged.
std::string move_article_to_front(std::string_view text);

}  // namespace cinefactor::detail
