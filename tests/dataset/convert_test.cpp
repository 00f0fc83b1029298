// Tests for dataset/convert and `smelt data convert`: Alpaca, ShareGPT, chat records, JSON array
// input, --system, and per-record errors naming the line or item.
#include "dataset/convert.h"

#include <gtest/gtest.h>

#include "support/test_support.h"

namespace smelt {
namespace {

std::string convert_line(const char* record, convert_format from, std::string system = "") {
  auto ex = convert_record(nlohmann::json::parse(record), {from, std::move(system)});
  EXPECT_TRUE(ex.ok()) << (ex.ok() ? "" : ex.message());
  return ex.ok() ? chat_example_to_line(*ex) : "";
}

std::string convert_error(const char* record, convert_format from) {
  auto ex = convert_record(nlohmann::json::parse(record), {from, ""});
  EXPECT_FALSE(ex.ok());
  return ex.ok() ? "" : ex.message();
}

TEST(convert, alpaca) {
  EXPECT_EQ(
      convert_line(R"({"instruction":"Translate","input":"Hallo","output":"Hello"})", convert_format::alpaca),
      R"({"messages":[{"role":"user","content":"Translate\n\nHallo"},{"role":"assistant","content":"Hello"}]})");
  EXPECT_EQ(convert_line(R"({"instruction":"And 3+3?","input":"","output":"6","system":"Be terse.",)"
                         R"("history":[["2+2?","4"]]})",
                         convert_format::alpaca),
            R"({"messages":[{"role":"system","content":"Be terse."},{"role":"user","content":"2+2?"},)"
            R"({"role":"assistant","content":"4"},{"role":"user","content":"And 3+3?"},)"
            R"({"role":"assistant","content":"6"}]})");
  EXPECT_EQ(convert_error(R"({"instruction":"x"})", convert_format::alpaca), "output: missing");
  EXPECT_EQ(convert_error(R"({"instruction":"x","output":"y","history":[["a"]]})", convert_format::alpaca),
            "history[0]: expected [user, assistant] strings");
}

TEST(convert, sharegpt) {
  EXPECT_EQ(
      convert_line(R"({"conversations":[{"from":"system","value":"S"},{"from":"human","value":"Q"},)"
                   R"({"from":"gpt","value":"A"}]})",
                   convert_format::sharegpt),
      R"({"messages":[{"role":"system","content":"S"},{"role":"user","content":"Q"},{"role":"assistant","content":"A"}]})");
  EXPECT_EQ(convert_error(R"({"conversations":[{"from":"tool","value":"x"}]})", convert_format::sharegpt),
            "conversations[0].from: expected human|gpt|system, got \"tool\"");
}

TEST(convert, messages_and_system_option) {
  EXPECT_EQ(
      convert_line(
          R"({"messages":[{"role":"user","content":"Q","name":"x"},{"role":"assistant","content":"A"}],"id":3})",
          convert_format::messages, "You help."),
      R"({"messages":[{"role":"system","content":"You help."},{"role":"user","content":"Q"},{"role":"assistant","content":"A"}]})");
  // An existing system message wins over --system.
  EXPECT_EQ(
      convert_line(
          R"({"messages":[{"role":"system","content":"Own"},{"role":"user","content":"Q"},{"role":"assistant","content":"A"}]})",
          convert_format::messages, "You help."),
      R"({"messages":[{"role":"system","content":"Own"},{"role":"user","content":"Q"},{"role":"assistant","content":"A"}]})");
}

TEST(convert, cli_json_array_input) {
  test::temp_dir dir;
  test::write_file(dir / "a.json", R"([
  {"instruction": "Name a colour", "input": "", "output": "Red"},
  {"instruction": "Missing output"},
  {"instruction": "Name a fruit", "output": "Apple"}
])");
  auto r = test::run_smelt("data convert '" + (dir / "a.json").string() + "' --from alpaca -o '" +
                           (dir / "out.jsonl").string() + "' --system 'Be brief.'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("error: " + (dir / "a.json").string() + ": item 2: output: missing\n"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("converted 2 of 3 records"), std::string::npos) << r.err;
  EXPECT_EQ(
      test::read_file(dir / "out.jsonl"),
      R"({"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Name a colour"},{"role":"assistant","content":"Red"}]})"
      "\n"
      R"({"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Name a fruit"},{"role":"assistant","content":"Apple"}]})"
      "\n");
}

TEST(convert, cli_jsonl_input_with_bad_line) {
  test::temp_dir dir;
  test::write_file(dir / "s.jsonl",
                   "{\"conversations\":[{\"from\":\"human\",\"value\":\"你好\"},{\"from\":\"gpt\",\"value\":"
                   "\"你好！\"}]}\n"
                   "{broken\n");
  auto r = test::run_smelt("data convert '" + (dir / "s.jsonl").string() + "' --from sharegpt -o '" +
                           (dir / "out.jsonl").string() + "'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find((dir / "s.jsonl").string() + ":2: json: invalid JSON at column 2"), std::string::npos)
      << r.err;
  EXPECT_EQ(test::read_file(dir / "out.jsonl"),
            "{\"messages\":[{\"role\":\"user\",\"content\":\"你好\"},{\"role\":\"assistant\",\"content\":"
            "\"你好！\"}]}\n");
  auto check = test::run_smelt("data check '" + (dir / "out.jsonl").string() + "'");
  EXPECT_EQ(check.exit_code, 0) << check.out;
}

TEST(convert, cli_malformed_array_names_file) {
  test::temp_dir dir;
  test::write_file(dir / "bad.json", "[{\"instruction\": \"x\", ");
  auto r = test::run_smelt("data convert '" + (dir / "bad.json").string() + "' --from alpaca -o '" +
                           (dir / "o.jsonl").string() + "'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(r.err.rfind("error: " + (dir / "bad.json").string() + ": invalid JSON at column", 0) == 0)
      << r.err;
}

}  // namespace
}  // namespace smelt
