// Salvage parsing of LLM answers: every accepted shape, partly broken answers keep their valid
// items, cut-off tails are dropped and reported.
#include "corpus/salvage.h"

#include <gtest/gtest.h>

namespace smelt {
namespace {

TEST(salvage, json_array_in_fence_with_prose) {
  auto r = salvage_parse(
      "Here are the pairs:\n```json\n[\n  {\"question\": \"How often?\", \"answer\": \"Monthly.\", "
      "\"quote\": \"once a month\"},\n  {\"question\": \"Why {braces}?\", \"answer\": \"Because "
      "\\\"quoted\\\" }\"}\n]\n```\n"
      "Hope this helps!");
  ASSERT_EQ(r.items.size(), 2u);
  EXPECT_EQ(r.items[0].question, "How often?");
  EXPECT_EQ(r.items[0].answer, "Monthly.");
  EXPECT_EQ(r.items[0].quote, "once a month");
  EXPECT_EQ(r.items[1].question, "Why {braces}?");
  EXPECT_EQ(r.items[1].answer, "Because \"quoted\" }");
  EXPECT_TRUE(r.problems.empty());
  EXPECT_FALSE(r.dropped_cut_off_tail);
}

TEST(salvage, jsonl_with_one_malformed_line_keeps_the_rest) {
  auto r = salvage_parse(
      "{\"q\": \"A?\", \"a\": \"1\"}\n"
      "{\"q\": \"B?\", \"a\": \"2\",}\n"
      "{\"问题\": \"烟雾报警器多久测试一次？\", \"答案\": \"每月一次。\", \"依据\": "
      "\"每月按一次测试按钮\"}\n");
  ASSERT_EQ(r.items.size(), 2u);
  EXPECT_EQ(r.items[0].question, "A?");
  EXPECT_EQ(r.items[1].answer, "每月一次。");
  EXPECT_EQ(r.items[1].quote, "每月按一次测试按钮");
  EXPECT_EQ(r.fragments_rejected, 1u);
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0], "item 2: malformed JSON");
}

TEST(salvage, seed_messages_lines) {
  auto r = salvage_parse(
      "{\"messages\":[{\"role\":\"system\",\"content\":\"你是消防系统专家\"},{\"role\":\"user\",\"content\":"
      "\"Q1\"},"
      "{\"role\":\"assistant\",\"content\":\"A1\"}]}\n"
      "{\"messages\":[{\"role\":\"user\",\"content\":\"Q2\"}]}\n");
  ASSERT_EQ(r.items.size(), 1u);
  EXPECT_EQ(r.items[0].question, "Q1");
  EXPECT_EQ(r.items[0].answer, "A1");
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0], "item 2: no answer field");
}

TEST(salvage, cut_off_wrapper_keeps_complete_items) {
  // finish_reason=length: the wrapper object and its last item never close.
  auto r = salvage_parse(
      "{\"pairs\": [{\"question\": \"One?\", \"answer\": \"1\"}, {\"question\": \"Two?\", \"answer\": "
      "\"2\"}, "
      "{\"question\": \"Three?\", \"answer\": \"thr");
  ASSERT_EQ(r.items.size(), 2u);
  EXPECT_EQ(r.items[1].question, "Two?");
  EXPECT_TRUE(r.dropped_cut_off_tail);
  EXPECT_EQ(r.fragments_seen, 3u);
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0], "item 3: cut off before its end, dropped");
}

TEST(salvage, wrapper_spoiled_by_one_item) {
  auto r = salvage_parse(
      "{\"items\": [{\"question\": \"One?\", \"answer\": \"1\"}, {\"question\": \"Two?\" \"answer\": \"2\"}, "
      "{\"question\": \"Three?\", \"answer\": \"3\"}]}");
  ASSERT_EQ(r.items.size(), 2u);
  EXPECT_EQ(r.items[0].question, "One?");
  EXPECT_EQ(r.items[1].question, "Three?");
  EXPECT_EQ(r.fragments_rejected, 1u);
}

TEST(salvage, nothing_usable) {
  auto r = salvage_parse("I'm sorry, I cannot help with that.");
  EXPECT_TRUE(r.items.empty());
  EXPECT_EQ(r.fragments_seen, 0u);
  r = salvage_parse("{\"answer\": \"orphan\"}");
  EXPECT_TRUE(r.items.empty());
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0], "item 1: no question field");
}

}  // namespace
}  // namespace smelt
