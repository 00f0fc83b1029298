// Tests for dataset/fix and `smelt data fix`: each repair, each reject reason, and that every
// input line ends up in exactly one of the two output files.
#include "dataset/fix.h"

#include <gtest/gtest.h>

#include <set>

#include "core/text.h"
#include "support/test_support.h"

namespace smelt {
namespace {

const validate_profile& fix_profile(const char* name) {
  return *validate_profile_find(name);
}

std::string fix_ok(std::string_view line, const char* profile = "generic") {
  fix_counts counts;
  auto r = fix_line(line, fix_profile(profile), counts);
  EXPECT_FALSE(r.rejected) << r.reason;
  return r.line;
}

std::string fix_reason(std::string_view line, const char* profile = "generic") {
  fix_counts counts;
  auto r = fix_line(line, fix_profile(profile), counts);
  EXPECT_TRUE(r.rejected) << r.line;
  return r.reason;
}

TEST(fix, valid_line_is_kept_byte_for_byte) {
  std::string line =
      R"({"messages": [{"role": "user", "content": "Hi?"}, {"role": "assistant", "content": "Hello."}]})";
  fix_counts counts;
  auto r = fix_line(line, fix_profile("generic"), counts);
  EXPECT_FALSE(r.changed);
  EXPECT_EQ(r.line, line);
}

TEST(fix, repairs) {
  // Role case and whitespace in content.
  EXPECT_EQ(
      fix_ok(
          R"({"messages":[{"role":"User","content":"  Hi? "},{"role":" ASSISTANT","content":"Hello.\n"}]})"),
      R"({"messages":[{"role":"user","content":"Hi?"},{"role":"assistant","content":"Hello."}]})");
  // Consecutive same-role turns merged; empty system dropped; key order kept.
  EXPECT_EQ(fix_ok(R"({"messages":[{"role":"system","content":" "},{"content":"a","role":"user"},)"
                   R"({"role":"user","content":"b"},{"role":"assistant","content":"c"}]})"),
            R"({"messages":[{"content":"a\n\nb","role":"user"},{"role":"assistant","content":"c"}]})");
  // Keys the profile does not allow are removed; openai keeps name and assistant weight.
  std::string extra = R"({"id":1,"messages":[{"role":"user","content":"q","name":"ann","weight":1},)"
                      R"({"role":"assistant","content":"a","weight":0}]})";
  EXPECT_EQ(fix_ok(extra, "siliconflow"),
            R"({"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}]})");
  EXPECT_EQ(
      fix_ok(extra, "openai"),
      R"({"messages":[{"role":"user","content":"q","name":"ann"},{"role":"assistant","content":"a","weight":0}]})");
}

TEST(fix, rejects_with_reasons) {
  EXPECT_EQ(fix_reason("   "), "line: blank line");
  EXPECT_EQ(fix_reason("{\"messages\": [\xff]}"), "encoding: invalid UTF-8 at byte 14");
  EXPECT_EQ(fix_reason("[1,2]"), "json: expected an object per line");
  EXPECT_EQ(fix_reason(R"({"text":"hi"})"), "messages: missing");
  EXPECT_EQ(fix_reason(R"({"messages":[{"role":"bot","content":"x"}]})"),
            "messages[0].role: expected system|user|assistant, got \"bot\"");
  EXPECT_EQ(fix_reason(R"({"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"  "}]})"),
            "messages[1].content: empty");
  EXPECT_EQ(fix_reason(R"({"messages":[{"role":"assistant","content":"a"}]})"),
            "messages: the first turn is not from the user");
  EXPECT_EQ(fix_reason(R"({"messages":[{"role":"user","content":"q"}]})"),
            "messages: the conversation ends with a user turn");
  EXPECT_EQ(fix_reason(R"({"messages":[{"role":"user","content":"q"},{"role":"system","content":"s"},)"
                       R"({"role":"assistant","content":"a"}]})"),
            "messages: a system message after turn 1 (only allowed first)");
  EXPECT_EQ(
      fix_reason(
          R"({"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a","weight":3}]})",
          "openai"),
      "messages[1].weight: expected 0 or 1, got 3");
  EXPECT_TRUE(text_starts_with(fix_reason(R"({"messages":[)"), "json: invalid JSON at column"));
}

TEST(fix, cli_every_line_in_exactly_one_file_and_output_passes_check) {
  test::temp_dir dir;
  std::string input =
      "\xEF\xBB\xBF{\"messages\":[{\"role\":\"user\",\"content\":\"What is "
      "2+2?\"},{\"role\":\"assistant\",\"content\":\"4\"}]}\n"
      "\n"
      "{\"messages\":[{\"role\":\"User\",\"content\":\"Capital of "
      "France?\"},{\"role\":\"Assistant\",\"content\":\"Paris\"}]}\n"
      "not json at all\n"
      "{\"messages\":[{\"role\":\"user\",\"content\":\"Why?\"}]}\n"
      "{\"messages\":[{\"role\":\"user\",\"content\":\"Colour of the "
      "sky?\"},{\"role\":\"assistant\",\"content\":\"Blue\"}]}\n"
      "{\"messages\":[{\"role\":\"user\",\"content\":\"cut off";
  test::write_file(dir / "in.jsonl", input);
  auto r = test::run_smelt("data fix '" + (dir / "in.jsonl").string() + "' -o '" +
                           (dir / "out.jsonl").string() + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("7 lines read; 3 written to"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("(2 repaired), 4 rejected to " + (dir / "out.rejects.jsonl").string()),
            std::string::npos)
      << r.err;

  std::string out = test::read_file(dir / "out.jsonl");
  EXPECT_EQ(out,
            "{\"messages\":[{\"role\":\"user\",\"content\":\"What is "
            "2+2?\"},{\"role\":\"assistant\",\"content\":\"4\"}]}\n"
            "{\"messages\":[{\"role\":\"user\",\"content\":\"Capital of "
            "France?\"},{\"role\":\"assistant\",\"content\":\"Paris\"}]}\n"
            "{\"messages\":[{\"role\":\"user\",\"content\":\"Colour of the "
            "sky?\"},{\"role\":\"assistant\",\"content\":\"Blue\"}]}\n");
  std::set<int> seen;
  std::vector<std::string> reasons;
  std::string rejects = test::read_file(dir / "out.rejects.jsonl");
  for (std::string_view line : text_split_lines(rejects)) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line);
    EXPECT_TRUE(seen.insert(j["line"].get<int>()).second);
    reasons.push_back(j["reason"]);
    if (j["line"] == 4) EXPECT_EQ(j["original"], "not json at all");
  }
  EXPECT_EQ(seen, (std::set<int>{2, 4, 5, 7}));  // lines 1, 3, 6 are in out.jsonl
  ASSERT_EQ(reasons.size(), 4u);
  EXPECT_EQ(reasons[0], "line: blank line");
  EXPECT_EQ(reasons[2], "messages: the conversation ends with a user turn");
  EXPECT_NE(reasons[3].find("truncated file?"), std::string::npos);

  auto check = test::run_smelt("data check --profile siliconflow '" + (dir / "out.jsonl").string() + "'");
  EXPECT_EQ(check.exit_code, 0) << check.out;
}

TEST(fix, cli_requires_output) {
  auto r = test::run_smelt("data fix x.jsonl");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "error: smelt data fix: -o OUT is required\n");
}

}  // namespace
}  // namespace smelt
