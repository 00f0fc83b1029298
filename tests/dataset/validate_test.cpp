// Tests for the dataset/validate API that the corpus builder reuses: profiles, one-example
// validation, problem formatting. File-level behaviour is covered by tests/dataset/cases.
#include "dataset/validate.h"

#include <gtest/gtest.h>

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
