// Tests for core/text: UTF-8 validation and decoding edge cases, whitespace helpers.
#include "core/text.h"

#include <gtest/gtest.h>

namespace smelt {

TEST(utf8, valid_and_invalid) {
  EXPECT_TRUE(utf8_is_valid("hello 火灾报警器 🔥"));
  size_t bad = 0;
  EXPECT_FALSE(utf8_is_valid("ab\xC0\xAF", &bad));  // overlong '/'
  EXPECT_EQ(bad, 2u);
  EXPECT_FALSE(utf8_is_valid("\xED\xA0\x80", &bad));  // surrogate
  EXPECT_FALSE(utf8_is_valid("\xE7\x81", &bad));      // truncated
  EXPECT_EQ(bad, 0u);
}

TEST(utf8, decode_encode_roundtrip) {
  std::string s = "a火🔥";
  size_t i = 0;
  std::string back;
  while (i < s.size()) utf8_append(back, utf8_next(s, i));
  EXPECT_EQ(back, s);
  EXPECT_EQ(utf8_length(s), 3u);
}

TEST(utf8, sanitize_and_truncate) {
  EXPECT_EQ(utf8_sanitize("a\xFF"
                          "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(utf8_truncate("火灾", 4), "火");
  EXPECT_EQ(utf8_truncate("火灾", 6), "火灾");
}

TEST(text, collapse_and_lines) {
  EXPECT_EQ(text_collapse_spaces("  a \t b\u3000c \n"), "a b c");
  auto lines = text_split_lines("a\r\nb\n\nc");
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], "a");
  EXPECT_EQ(lines[2], "");
  EXPECT_EQ(text_replace_all("a|b|c", "|", "\\|"), "a\\|b\\|c");
}

}  // namespace smelt

namespace smelt {

TEST(text, sentences_latin_and_cjk) {
  auto s = text_sentences("Press the button. Version 3.5 works! 每月测试一次。电池每年更换\nLast line");
  ASSERT_EQ(s.size(), 5u);
  EXPECT_EQ(s[0], "Press the button.");
  EXPECT_EQ(s[1], "Version 3.5 works!");
  EXPECT_EQ(s[2], "每月测试一次。");
  EXPECT_EQ(s[3], "电池每年更换");
  EXPECT_EQ(s[4], "Last line");
}

TEST(text, cjk_ratio) {
  EXPECT_DOUBLE_EQ(text_cjk_ratio("abc"), 0.0);
  EXPECT_DOUBLE_EQ(text_cjk_ratio("火灾报警"), 1.0);
  EXPECT_DOUBLE_EQ(text_cjk_ratio("，。123"), 0.0);
  EXPECT_DOUBLE_EQ(text_cjk_ratio("ab火灾"), 0.5);
}

}  // namespace smelt
