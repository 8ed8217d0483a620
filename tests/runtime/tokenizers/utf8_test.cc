#include "runtime/tokenizers/utf8.h"

#include <gtest/gtest.h>

namespace modelhub {
namespace {

constexpr char kFffd[] = "\xEF\xBF\xBD";

TEST(Utf8Test, FindsTheFirstBadByte) {
  EXPECT_EQ(FindInvalidUtf8("plain ascii, long enough to take the fast path"), std::string::npos);
  EXPECT_EQ(FindInvalidUtf8("h\xC3\xA9llo \xF0\x9F\x98\x80"), std::string::npos);
  EXPECT_EQ(FindInvalidUtf8("abcdefghij\xFFk"), 10u);
  EXPECT_EQ(FindInvalidUtf8("ab\xC0\xAF"), 2u);          // overlong '/'
  EXPECT_EQ(FindInvalidUtf8("ab\xED\xA0\x80"), 2u);      // a surrogate
  EXPECT_EQ(FindInvalidUtf8("ab\xF4\x90\x80\x80"), 2u);  // above U+10FFFF
  EXPECT_EQ(FindInvalidUtf8("ab\xF0\x9F\x98"), 2u);      // cut short
  EXPECT_EQ(FindInvalidUtf8("\x80"), 0u);                // a stray continuation
}

TEST(Utf8Test, LossyReplacesMaximalSubpartsAsRust) {
  // Rust's String::from_utf8_lossy: one U+FFFD per maximal ill-formed subpart.
  EXPECT_EQ(Utf8Lossy("a\xF0\x9F\x98"), std::string("a") + kFffd);
  EXPECT_EQ(Utf8Lossy("\xF0\x9F\x98z"), std::string(kFffd) + "z");
  EXPECT_EQ(Utf8Lossy("\xE0\x80\x80"), std::string(kFffd) + kFffd + kFffd);
  EXPECT_EQ(Utf8Lossy("\xED\xA0\x80"), std::string(kFffd) + kFffd + kFffd);
  EXPECT_EQ(Utf8Lossy("\xC3"), kFffd);
  EXPECT_EQ(Utf8Lossy("\xC3\xA9\xFF\xC3\xA9"), std::string("\xC3\xA9") + kFffd + "\xC3\xA9");
  EXPECT_EQ(Utf8Lossy("ok"), "ok");
}

TEST(Utf8Test, EncodesAndDecodesCodePoints) {
  for (const char32_t c : {U'a', U'\u00E9', U'\u20AC', U'\U0001F600', U'\U0010FFFF'}) {
    std::string text;
    AppendUtf8(c, &text);
    EXPECT_EQ(FindInvalidUtf8(text), std::string::npos);
    size_t pos = 0;
    EXPECT_EQ(NextCodePoint(text, &pos), c);
    EXPECT_EQ(pos, text.size());
  }
}

}  // namespace
}  // namespace modelhub
