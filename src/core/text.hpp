// The library's text helpers, one of each: trimming, ASCII case folding, escaping for HTML/XML, URL query
// encoding, escaping control characters for messages, and word wrapping by characters (UTF-8 aware).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace cinefactor::text {

// Escapes & < > " ' so the result is safe in element content and in quoted attribute values.
std::string html_escape(std::string_view s);
inline std::string xml_escape(std::string_view s) {
  return html_escape(s);
}

// application/x-www-form-urlencoded: unreserved characters kept, space as '+', the rest %XX.
std::string url_encode_query(std::string_view s);

// Control characters written visibly, so that text quoted from input cannot hide or forge anything in a
// message on a terminal or in a log: CR, LF, tab and NUL as \r \n \t \0, other C0 controls and DEL as
// \xNN, and C1 controls (U+0080 to U+009F, UTF-8 encoded) as \u0080 to \u009F. Every other byte is kept,
// so the result has no control characters left and escaping it again changes nothing. Every
// cinefactor::Error message goes through it.
std::string escape_control(std::string_view s);

// ASCII letters lowered; every other byte (UTF-8 sequences included) kept as is.
constexpr char ascii_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}
std::string ascii_lower(std::string_view s);

// Number of code points in valid UTF-8 (continuation bytes not counted).
std::size_t utf8_length(std::string_view s) noexcept;

// Splits into lines of at most `width` code points at spaces (a longer word is cut); at most
// `max_lines`, the last one ending in "…" when text was left out.
std::vector<std::string> wrap_words(std::string_view s, std::size_t width, std::size_t max_lines);

// Without leading and trailing ASCII white space (space, tab, CR, LF, FF, VT).
std::string_view trim(std::string_view s) noexcept;

}  // namespace cinefactor::text
