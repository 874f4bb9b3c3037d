// MovieLens title cleaning (see title.hpp).
#include "data/title.hpp"

#include <array>
#include <cctype>
#include <vector>

#include "core/text.hpp"
#include "data/text_scan.hpp"

namespace cinefactor::detail {
namespace {

// Articles MovieLens moves behind a comma (English, French, Italian, Spanish, German, Dutch, Portuguese).
constexpr std::array<std::string_view, 24> kArticles = {"The", "A",   "An",  "Le",  "La",  "Les", "L'", "Il",
                                                        "Lo",  "I",   "Gli", "El",  "Los", "Las", "Un", "Una",
                                                        "Une", "Der", "Die", "Das", "De",  "Het", "Os", "O"};

constexpr std::string_view kEnDash = "\xE2\x80\x93";
constexpr int kYearDigits = 4;

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// The year of a final parenthesized group "YYYY", "YYYY-YYYY", "YYYY-" (hyphen or en dash), or -1.
int year_of_group(std::string_view inner) {
  if (inner.size() < kYearDigits || !all_digits(inner.substr(0, kYearDigits))) return -1;
  const int year = std::stoi(std::string(inner.substr(0, kYearDigits)));
  auto rest = inner.substr(kYearDigits);
  if (rest.empty()) return year;
  if (rest.starts_with("-")) {
    rest.remove_prefix(1);
  } else if (rest.starts_with(kEnDash)) {
    rest.remove_prefix(kEnDash.size());
  } else {
    return -1;
  }
  rest = text::trim(rest);
  if (rest.empty() || (rest.size() == kYearDigits && all_digits(rest))) return year;
  return -1;
}

// Position of the '(' matching the ')' that ends `text`, or npos.
std::size_t matching_open(std::string_view text) {
  int depth = 0;
  for (std::size_t i = text.size(); i-- > 0;) {
    if (text[i] == ')') ++depth;
    if (text[i] == '(' && --depth == 0) return i;
  }
  return std::string_view::npos;
}

std::string collapse_spaces(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\t') c = ' ';
    if (c == ' ' && (out.empty() || out.back() == ' ')) continue;
    out += c;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace

std::string move_article_to_front(std::string_view text) {
  constexpr std::string_view kAka = "a.k.a. ";
  std::string prefix;
  if (text.starts_with(kAka)) {
    prefix = kAka;
    text.remove_prefix(kAka.size());
  }
  const auto comma = text.rfind(", ");
  if (comma != std::string_view::npos && comma > 0) {
    const auto article = text.substr(comma + 2);
    for (auto a : kArticles) {
      if (article == a) {
        const char* gap = a.back() == '\'' ? "" : " ";
        return prefix + std::string(article) + gap + std::string(text.substr(0, comma));
      }
    }
  }
  return prefix + std::string(text);
}

ParsedTitle parse_title(std::string_view raw) {
  ParsedTitle parsed;
  std::string text = collapse_spaces(text::trim(raw));

  if (!text.empty() && text.back() == ')') {
    const auto open = matching_open(text);
    if (open != std::string_view::npos) {
      const int year = year_of_group(std::string_view(text).substr(open + 1, text.size() - open - 2));
      if (year >= 0) {
        parsed.year = year;
        text = collapse_spaces(std::string_view(text).substr(0, open));
      }
    }
  }

  // Peel the trailing alternate titles "(...)" off the main title, innermost last.
  std::vector<std::string> alternates;
  std::string_view main = text;
  while (!main.empty() && main.back() == ')') {
    const auto open = matching_open(main);
    if (open == std::string_view::npos || open == 0 || main[open - 1] != ' ') break;
    alternates.insert(alternates.begin(), std::string(main.substr(open + 1, main.size() - open - 2)));
    main = text::trim(main.substr(0, open));
  }
  parsed.title = move_article_to_front(main);
  for (const auto& alt : alternates) parsed.title += " (" + move_article_to_front(alt) + ")";
  return parsed;
}

}  // namespace cinefactor::detail
