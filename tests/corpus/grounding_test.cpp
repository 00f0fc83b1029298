// Fuzzy grounding of supporting quotes: exact, re-punctuated, slightly edited and invented quotes.
#include "corpus/grounding.h"

#include <gtest/gtest.h>

#include <string>

namespace smelt {
namespace {

const std::string chunk =
    "6. Testing and maintenance\n\nPress the test button once a month until the alarm sounds. Replace "
    "ordinary "
    "batteries once a year.\n\n每月按一次测试按钮，直到报警器发出响声。普通电池每年更换一次。";

TEST(grounding, exact_quote_found_with_offsets) {
  auto m = grounding_find("Replace ordinary batteries once a year", chunk);
  EXPECT_TRUE(m.found);
  EXPECT_DOUBLE_EQ(m.score, 1.0);
  EXPECT_EQ(chunk.substr(m.begin, m.end - m.begin), "Replace ordinary batteries once a year");
}

TEST(grounding, punctuation_space_and_case_ignored) {
  auto m = grounding_find("press the TEST button, once a month", chunk);
  EXPECT_TRUE(m.found);
  EXPECT_DOUBLE_EQ(m.score, 1.0);
  m = grounding_find("每月按一次测试按钮 直到报警器发出响声", chunk);
  EXPECT_TRUE(m.found);
  EXPECT_EQ(chunk.substr(m.begin, m.end - m.begin), "每月按一次测试按钮，直到报警器发出响声");
}

TEST(grounding, small_edit_tolerated_invention_rejected) {
  auto m = grounding_find("每月按一下测试按钮，直到报警器发出响声", chunk);
  EXPECT_TRUE(m.found) << m.score;
  EXPECT_LT(m.score, 1.0);
  m = grounding_find("Alarms must be certified by the fire department every year", chunk);
  EXPECT_FALSE(m.found) << m.score;
  EXPECT_LT(m.score, 0.6);
}

TEST(grounding, empty_inputs) {
  EXPECT_FALSE(grounding_find("", chunk).found);
  EXPECT_FALSE(grounding_find("...", chunk).found);
  EXPECT_FALSE(grounding_find("quote", "").found);
}

}  // namespace
}  // namespace smelt

namespace smelt {
namespace {

TEST(grounding, exact_match_takes_the_first_occurrence) {
  std::string text = "Test monthly. Replace yearly. Test monthly.";
  auto m = grounding_find("test monthly", text);
  EXPECT_TRUE(m.found);
  EXPECT_EQ(m.begin, 0u);
  EXPECT_EQ(text.substr(m.begin, m.end - m.begin), "Test monthly");
}

}  // namespace
}  // namespace smelt
