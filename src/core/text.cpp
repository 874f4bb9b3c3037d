#include "core/text.hpp"

#include <fmt/format.h>

#include <cctype>

namespace cinefactor::text {

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string url_encode_query(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += ch;
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (auto& ch : out) ch = ascii_lower(ch);
  return out;
}

std::size_t utf8_length(std::string_view s) noexcept {
  std::size_t n = 0;
  for (char ch : s) {
    if ((static_cast<unsigned char>(ch) & 0xC0) != 0x80) ++n;
  }
  return n;
}

namespace {

// Byte length of the longest prefix of `s` holding at most `chars` code points.
std::size_t prefix_bytes(std::string_view s, std::size_t chars) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
      if (count == chars) return i;
      ++count;
    }
  }
  return s.size();
}

}  // namespace

std::vector<std::string> wrap_words(std::string_view s, std::size_t width, std::size_t max_lines) {
  std::vector<std::string> lines;
  std::string line;
  bool truncated = false;
  std::size_t pos = 0;
  while (pos < s.size()) {
    while (pos < s.size() && s[pos] == ' ') ++pos;
    if (pos >= s.size()) break;
    auto end = s.find(' ', pos);
    if (end == std::string_view::npos) end = s.size();
    std::string_view word = s.substr(pos, end - pos);
    pos = end;
    while (!word.empty()) {
      const auto need = utf8_length(line) + (line.empty() ? 0 : 1) + utf8_length(word);
      if (need <= width) {
        if (!line.empty()) line += ' ';
        line += word;
        word = {};
      } else if (line.empty()) {  // a word longer than a line: cut it
        const auto cut = prefix_bytes(word, width);
        lines.emplace_back(word.substr(0, cut));
        word = word.substr(cut);
      } else {
        lines.push_back(std::move(line));
        line.clear();
      }
      if (lines.size() >= max_lines) {
        truncated = !word.empty() || pos < s.size() || !line.empty();
        break;
      }
    }
    if (lines.size() >= max_lines) {
      truncated = truncated || pos < s.size();
      break;
    }
  }
  if (!line.empty() && lines.size() < max_lines) lines.push_back(std::move(line));
  if (truncated && !lines.empty()) {
    auto& last = lines.back();
    if (utf8_length(last) >= width) last.resize(prefix_bytes(last, width - 1));
    last += "\u2026";
  }
  return lines;
}

std::string escape_control(std::string_view s) {
  constexpr unsigned char kDelete = 0x7f;
  constexpr unsigned char kC1Lead = 0xc2;  // UTF-8 lead byte of U+0080 to U+00BF
  constexpr unsigned char kC1First = 0x80, kC1Last = 0x9f;
  const auto is_control = [](unsigned char c) { return c < 0x20 || c == kDelete; };
  const auto is_c1 = [&](std::size_t i) {
    return static_cast<unsigned char>(s[i]) == kC1Lead && i + 1 < s.size() &&
           static_cast<unsigned char>(s[i + 1]) >= kC1First &&
           static_cast<unsigned char>(s[i + 1]) <= kC1Last;
  };
  std::size_t i = 0;
  while (i < s.size() && !is_control(static_cast<unsigned char>(s[i])) && !is_c1(i)) ++i;
  if (i == s.size()) return std::string(s);
  std::string out(s.substr(0, i));
  for (; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (is_c1(i)) {
      out += fmt::format("\\u{:04X}", static_cast<unsigned>(static_cast<unsigned char>(s[++i])));
    } else if (!is_control(c)) {
      out += static_cast<char>(c);
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == 0) {
      out += "\\0";
    } else {
      out += fmt::format("\\x{:02X}", static_cast<unsigned>(c));
    }
  }
  return out;
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace cinefactor::text
