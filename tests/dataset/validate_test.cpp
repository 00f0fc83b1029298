// Tests for the dataset/validate API that the corpus builder reuses: profiles, one-example
// validation, problem formatting. File-level behaviour is covered by tests/dataset/cases.
#include "dataset/validate.h"

#include <gtest/gtest.h>

#include "support/test_support.h"

namespace smelt {
namespace {

TEST(validate, profiles) {
  EXPECT_EQ(validate_profile_choices(), "siliconflow|openai|llamafactory|generic");
  ASSERT_NE(validate_profile_find("openai"), nullptr);
  EXPECT_EQ(validate_profile_find("openai")->min_examples, 10u);
  EXPECT_EQ(validate_profile_find("nope"), nullptr);
}

TEST(validate, example_ok_returns_messages) {
  std::vector<problem> problems;
  auto ex = validate_example(
      nlohmann::json::parse(
          R"({"messages":[{"role":"user","content":"Q"},{"role":"assistant","content":"A"}]})"),
      5, *validate_profile_find("siliconflow"), problems);
  EXPECT_TRUE(problems.empty());
  ASSERT_TRUE(ex.has_value());
  ASSERT_EQ(ex->messages.size(), 2u);
  EXPECT_EQ(ex->messages[1].content, "A");
}

TEST(validate, problem_lines) {
  std::vector<problem> problems;
  validate_example(
      nlohmann::json::parse(R"({"messages":[{"role":"user","content":"Q"},{"role":"bot","content":"A"}]})"),
      42, *validate_profile_find("generic"), problems);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problem_format(problems[0], "train.jsonl"),
            "train.jsonl:42: messages[1].role: expected system|user|assistant, got \"bot\"");
  EXPECT_EQ(problem_format({0, "examples", "too few", problem_severity::warning}, "t.jsonl"),
            "t.jsonl: examples: warning: too few");
  EXPECT_EQ(
      problem_to_json(problems[0]).dump(),
      R"({"line":42,"field":"messages[1].role","severity":"error","message":"expected system|user|assistant, got \"bot\""})");
}

}  // namespace
}  // namespace smelt

namespace smelt {
namespace {

TEST(validate, cli_json_output_and_exit_status) {
  test::temp_dir dir;
  test::write_file(
      dir / "t.jsonl",
      "{\"messages\":[{\"role\":\"user\",\"content\":\"Q?\"},{\"role\":\"assistant\",\"content\":\"A.\"}]}\n"
      "{\"messages\":[{\"role\":\"user\",\"content\":\"q\"},{\"role\":\"assistant\",\"content\":\"B.\"}]}\n");
  auto r = test::run_smelt("data check --json '" + (dir / "t.jsonl").string() + "'");
  EXPECT_EQ(r.exit_code, 0);  // a duplicate is only a warning
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["warnings"], 1);
  EXPECT_EQ(j["problems"][0]["message"], "user turn duplicates line 1");
  EXPECT_EQ(j["stats"]["examples"], 2);

  r = test::run_smelt("data check --json --profile openai '" + (dir / "t.jsonl").string() + "'");
  EXPECT_EQ(r.exit_code, 1);  // fewer than 10 examples
  j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["errors"], 1);
  EXPECT_EQ(j["problems"][1]["field"], "examples");
}

TEST(validate, cli_unknown_profile_is_a_usage_error) {
  auto r = test::run_smelt("data check --profile azure x.jsonl");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(
      r.err,
      "error: smelt data check: --profile: expected siliconflow|openai|llamafactory|generic, got 'azure'\n");
}

}  // namespace
}  // namespace smelt
