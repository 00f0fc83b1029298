// Tests for dataset/stats and `smelt data stats`: counts, per-example ranges, table and JSON.
#include "dataset/stats.h"

#include <gtest/gtest.h>

#include "support/test_support.h"

namespace smelt {
namespace {

chat_example stats_example(std::vector<chat_message> m) {
  return chat_example{std::move(m)};
}

TEST(stats, counts_characters_per_role_and_ranges) {
  dataset_stats s;
  stats_add(s, stats_example({{"system", "Be brief."}, {"user", "Hi?"}, {"assistant", "Hello!"}}));
  stats_add(s,
            stats_example({{"user", "你好吗"}, {"assistant", "好"}, {"user", "ok"}, {"assistant", "fine."}}));
  EXPECT_EQ(s.examples, 2u);
  EXPECT_EQ(s.messages.total, 7u);
  EXPECT_EQ(s.messages.min, 3u);
  EXPECT_EQ(s.messages.max, 4u);
  EXPECT_EQ(s.system.messages, 1u);
  EXPECT_EQ(s.system.characters.total, 9u);
  EXPECT_EQ(s.system.characters.min, 0u);  // the second example has no system message
  EXPECT_EQ(s.user.messages, 3u);
  EXPECT_EQ(s.user.characters.total, 3u + 3u + 2u);  // code points, not bytes
  EXPECT_EQ(s.user.characters.min, 3u);
  EXPECT_EQ(s.user.characters.max, 5u);
  EXPECT_EQ(s.assistant.characters.total, 6u + 1u + 5u);
  EXPECT_DOUBLE_EQ(s.assistant.characters.mean(), 6.0);
  EXPECT_EQ(s.characters.total, 9u + 8u + 12u);
  EXPECT_EQ(s.characters.min, 11u);  // 3 + 1 + 2 + 5
  EXPECT_EQ(s.characters.max, 18u);  // 9 + 3 + 6
}

TEST(stats, render_table) {
  dataset_stats s;
  stats_add(s, stats_example({{"user", "abcd"}, {"assistant", "ef"}}));
  stats_add(s, stats_example({{"user", "ab"}, {"assistant", "efgh"}}));
  std::string expected =
      "              messages  characters        min       mean      max\n"
      "  system             0           0          0        0.0        0\n"
      "  user               2           6          2        3.0        4\n"
      "  assistant          2           6          2        3.0        4\n"
      "  all                4          12          6        6.0        6\n"
      "  messages per example: min 2, mean 2.0, max 2\n"
      "  (min/mean/max: characters per example)\n";
  EXPECT_EQ(stats_render(s), expected);
}

TEST(stats, json_shape) {
  dataset_stats s;
  stats_add(s, stats_example({{"user", "abc"}, {"assistant", "de"}}));
  auto j = stats_to_json(s);
  EXPECT_EQ(j["examples"], 1);
  EXPECT_EQ(j["roles"]["user"]["characters"]["total"], 3);
  EXPECT_EQ(j["roles"]["assistant"]["characters"]["mean"], 2.0);
  EXPECT_EQ(j["messages"]["max"], 2);
}

TEST(stats, cli_json_counts_and_skips) {
  test::temp_dir dir;
  test::write_file(
      dir / "d.jsonl",
      "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi?\"},{\"role\":\"assistant\",\"content\":\"Hello.\"}"
      "]}\n"
      "not json\n"
      "{\"messages\":[{\"role\":\"system\",\"content\":\"S\"},{\"role\":\"user\",\"content\":\"Why?\"},"
      "{\"role\":\"assistant\",\"content\":\"Because.\"}]}\n");
  auto r = test::run_smelt("data stats --json '" + (dir / "d.jsonl").string() + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["lines"], 3);
  EXPECT_EQ(j["examples"], 2);
  EXPECT_EQ(j["skipped_lines"], 1);
  EXPECT_EQ(j["messages"]["total"], 5);
  EXPECT_EQ(j["roles"]["user"]["characters"]["total"], 7);
  EXPECT_EQ(j["roles"]["assistant"]["characters"]["max"], 8);
  EXPECT_EQ(j["roles"]["system"]["messages"], 1);
}

TEST(stats, cli_missing_file_is_an_error) {
  auto r = test::run_smelt("data stats /nonexistent/x.jsonl");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "error: /nonexistent/x.jsonl: cannot open for reading\n");
}

}  // namespace
}  // namespace smelt
