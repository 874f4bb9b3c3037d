// Low-level text scanning shared by the MovieLens readers: a read-only view of a whole file, strict
// field parsing, CSV record splitting and Latin-1 to UTF-8 conversion. Internal to the library.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace cinefactor::detail {

// A whole file mapped read-only (empty files map to an empty view). Throws IoError naming the file.
class MappedFile {
 public:
  explicit MappedFile(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::string_view text() const noexcept { return {data_, size_}; }
  std::size_t size() const noexcept { return size_; }

 private:
  const char* data_ = nullptr;
  std::size_t size_ = 0;
};

// Without a trailing '\r' (files written on Windows end their lines with "\r\n").
inline std::string_view strip_cr(std::string_view line) noexcept {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

// Without a leading UTF-8 byte-order mark.
inline std::string_view strip_bom(std::string_view text) noexcept {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  return text;
}

// Strict parsers: the whole field must be the number (no spaces, no trailing text).
bool parse_int(std::string_view field, std::int64_t& out) noexcept;
bool parse_float(std::string_view field, float& out) noexcept;

// The field for an error message: quoted, shortened when long.
std::string quote_field(std::string_view field);

// Splits on every occurrence of `separator` (which may be several characters, like "::").
std::vector<std::string_view> split(std::string_view line, std::string_view separator);

// Splits one CSV record (RFC 4180 quoting: "a, b" and doubled "" inside quotes). Returns false and
// sets *error when a quoted field is not closed or a quote is followed by something other than a comma.
bool split_csv(std::string_view line, std::vector<std::string>& fields, std::string* error);

bool is_valid_utf8(std::string_view text) noexcept;
std::string latin1_to_utf8(std::string_view text);
// `text` itself when it is valid UTF-8, otherwise read as Latin-1 (older MovieLens files use it).
std::string utf8_or_latin1(std::string_view text);

// Splits `text` into lines (without the '\n', with a trailing '\r' removed) and calls fn(line, number)
// with 1-based line numbers. A final line without '\n' counts; a final empty line does not.
template <typename Fn>
void for_each_line(std::string_view text, Fn&& fn) {
  std::int64_t number = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto nl = text.find('\n', pos);
    const auto end = nl == std::string_view::npos ? text.size() : nl;
    fn(strip_cr(text.substr(pos, end - pos)), ++number);
    pos = end + 1;
  }
}

}  // namespace cinefactor::detail
