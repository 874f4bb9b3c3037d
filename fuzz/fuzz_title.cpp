// libFuzzer harness: the MovieLens title parser ("Matrix, The (1999)" -> "The Matrix", 1999), fed as the
// readers feed it (text::utf8_or_latin1 first). Found: a crash or exception; a year that is not 0 or four
// digits; a title that is not valid UTF-8.
#include <cstdint>
#include <string>

#include "data/text_scan.hpp"
#include "data/title.hpp"
#include "fuzz_support.hpp"

namespace {
constexpr std::int32_t kLastYear = 9999;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string raw = cinefactor::detail::utf8_or_latin1(cinefactor::fuzz::as_text(data, size));
  cinefactor::fuzz::expect_success_or<cinefactor::fuzz::NoException>([&] {
    const auto parsed = cinefactor::detail::parse_title(raw);
    if (parsed.year < 0 || parsed.year > kLastYear)
      cinefactor::fuzz::finding("invariant", "year " + std::to_string(parsed.year));
    if (!cinefactor::detail::is_valid_utf8(parsed.title))
      cinefactor::fuzz::finding("invariant", "the title is not valid UTF-8: " + parsed.title);
    (void)cinefactor::detail::move_article_to_front(raw);
  });
  return 0;
}
