// The text helpers of the core: control characters escaped for messages, and every cinefactor::Error
// message passed through it.
#include <gtest/gtest.h>

#include <string>

#include "cinefactor/error.hpp"
#include "core/text.hpp"

namespace cinefactor {
namespace {

using text::escape_control;

TEST(EscapeControl, WritesControlCharactersVisibly) {
  EXPECT_EQ(escape_control("plain text, é, 臥虎藏龍"), "plain text, é, 臥虎藏龍");
  EXPECT_EQ(escape_control("a\rb\nc\td"), "a\\rb\\nc\\td");
  EXPECT_EQ(escape_control(std::string("x\0y", 3)), "x\\0y");
  EXPECT_EQ(escape_control("\x1b[31mred\x1b[0m"), "\\x1B[31mred\\x1B[0m");
  EXPECT_EQ(escape_control("bell\x07 del\x7f"), "bell\\x07 del\\x7F");
  EXPECT_EQ(escape_control("csi \xc2\x9b"
                           "2J, nel \xc2\x85"),
            "csi \\u009B2J, nel \\u0085");
  EXPECT_EQ(escape_control("\xc2\xa0 no-break space is text"), "\xc2\xa0 no-break space is text");
  EXPECT_EQ(escape_control("a lone \xc2"), "a lone \xc2");
  EXPECT_EQ(escape_control("a backslash \\ stays"), "a backslash \\ stays");
}

TEST(EscapeControl, EscapingTwiceChangesNothing) {
  const std::string once = escape_control(std::string("\r\n\0\x1b\xc2\x9b\x7f", 7));
  EXPECT_EQ(escape_control(once), once);
}

TEST(ErrorMessages, QuoteInputWithItsControlCharactersEscaped) {
  const IoError io(std::string("cannot open data\0dir\r", 21));
  EXPECT_STREQ(io.what(), "cannot open data\\0dir\\r");
  const ParseError parse("ratings.csv", 3, "expected the header \"userId\r\", found \"userId\r\r\"");
  EXPECT_STREQ(parse.what(), "ratings.csv:3: expected the header \"userId\\r\", found \"userId\\r\\r\"");
  EXPECT_EQ(parse.message(), "expected the header \"userId\\r\", found \"userId\\r\\r\"");
  EXPECT_STREQ(InvalidArgument("--rate \"\x1b]0;title\x07=4\"").what(), "--rate \"\\x1B]0;title\\x07=4\"");
}

}  // namespace
}  // namespace cinefactor
