// `smelt tokenize MODEL_DIR --chat FILE.jsonl` on real files: a model directory holding the real
// Qwen3 / Llama 3 / Llama 2 tokenizer and template files, conversations and expected ids taken from
// testdata/chat_tokens/cases.jsonl (HF tokenizers on the @huggingface/jinja rendering, written at
// test time by tests/tools/gen_chat_tokens_refs.mjs), plus the errors for bad lines.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

#include "support/test_support.h"

namespace smelt {
namespace {

using nlohmann::ordered_json;

std::vector<ordered_json> reference_cases(const std::string& prefix) {
  std::ifstream in(test::testdata("chat_tokens/cases.jsonl"));
  std::vector<ordered_json> out;
  std::string line;
  while (std::getline(in, line)) {
    ordered_json c = ordered_json::parse(line);
    std::string name = c["name"];
    if (name.rfind(prefix, 0) == 0 && !c.contains("enable_thinking") && !c.contains("extra"))
      out.push_back(c);
  }
  return out;
}

// A model directory with only the tokenizer files of a reference case.
void make_model_dir(const std::filesystem::path& dir, const ordered_json& c) {
  std::filesystem::copy_file(c["tokenizer"].get<std::string>(), dir / "tokenizer.json");
  std::filesystem::copy_file(c["config"].get<std::string>(), dir / "tokenizer_config.json");
}

std::vector<ordered_json> parse_lines(const std::string& out) {
  std::vector<ordered_json> lines;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) lines.push_back(ordered_json::parse(line));
  return lines;
}

int32_t token_id(const std::filesystem::path& tokenizer_json, const std::string& content) {
  std::ifstream in(tokenizer_json);
  ordered_json t = ordered_json::parse(in);
  for (const auto& a : t["added_tokens"])
    if (a["content"] == content) return a["id"].get<int32_t>();
  return -1;
}

class tokenize_chat : public ::testing::TestWithParam<std::string> {};

TEST_P(tokenize_chat, prints_hf_ids_roles_and_mask_per_line) {
  std::vector<ordered_json> cases = reference_cases(GetParam() + "/");
  ASSERT_GE(cases.size(), 8u) << "missing generated references (testdata fixture)";
  test::temp_dir dir;
  make_model_dir(dir.path(), cases[0]);
  int32_t eot = token_id(dir / "tokenizer.json", cases[0]["eot"].get<std::string>());
  ASSERT_GE(eot, 0);
  for (bool gen : {false, true}) {
    SCOPED_TRACE(gen ? "with generation prompt" : "without generation prompt");
    std::string jsonl;
    std::vector<ordered_json> expected;
    for (const auto& c : cases)
      if (c["add_generation_prompt"].get<bool>() == gen) {
        jsonl += ordered_json{{"messages", c["messages"]}}.dump() + "\n";
        expected.push_back(c);
      }
    test::write_file(dir / "chat.jsonl", jsonl);
    auto r = test::run_smelt("tokenize " + test::shell_quote(dir.path()) + " --chat " +
                             test::shell_quote(dir / "chat.jsonl") + (gen ? " --generation-prompt" : ""));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::vector<ordered_json> lines = parse_lines(r.out);
    ASSERT_EQ(lines.size(), expected.size());
    for (size_t i = 0; i < lines.size(); ++i) {
      const ordered_json& out = lines[i];
      const ordered_json& c = expected[i];
      SCOPED_TRACE(c["name"].get<std::string>());
      EXPECT_EQ(out["text"], c["text"]);
      EXPECT_EQ(out["ids"], c["ids"]);
      size_t n = c["ids"].size();
      EXPECT_EQ(out["count"].get<size_t>(), n);
      ASSERT_EQ(out["roles"].size(), n);
      ASSERT_EQ(out["trained"].size(), n);
      // Every trained token is an assistant's, each assistant turn ends its training on the
      // end-of-turn token, and roles follow the messages in order.
      size_t assistants = 0, eots = 0;
      for (const auto& m : c["messages"]) assistants += m["role"] == "assistant";
      std::vector<std::string> seen;
      for (size_t k = 0; k < n; ++k) {
        const ordered_json& role = out["roles"][k];
        if (!role.is_null() && (seen.empty() || seen.back() != role.get<std::string>()))
          seen.push_back(role.get<std::string>());
        if (out["trained"][k] == 1) {
          EXPECT_EQ(role, "assistant") << "token " << k;
          eots += out["ids"][k] == eot;
        } else {
          EXPECT_EQ(out["trained"][k], 0);
        }
      }
      EXPECT_EQ(eots, assistants);
      EXPECT_GE(seen.size(), 2u);
      // The generation prompt belongs to no message (Llama 2's template prints none).
      if (gen && GetParam() != "llama2") EXPECT_TRUE(out["roles"][n - 1].is_null());
    }
  }
}

INSTANTIATE_TEST_SUITE_P(real_models, tokenize_chat, ::testing::Values("qwen3", "llama3", "llama2"));

TEST(tokenize_chat_file, single_object_file_is_one_conversation) {
  std::vector<ordered_json> cases = reference_cases("qwen3/multi/gen=false");
  ASSERT_EQ(cases.size(), 1u);
  test::temp_dir dir;
  make_model_dir(dir.path(), cases[0]);
  test::write_file(dir / "one.json", ordered_json{{"messages", cases[0]["messages"]}}.dump(2));
  auto r = test::run_smelt("tokenize " + test::shell_quote(dir.path()) + " --chat " +
                           test::shell_quote(dir / "one.json"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<ordered_json> lines = parse_lines(r.out);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["ids"], cases[0]["ids"]);
}

TEST(tokenize_chat_file, bad_lines_name_file_line_and_field) {
  std::vector<ordered_json> cases = reference_cases("qwen3/multi/gen=false");
  ASSERT_EQ(cases.size(), 1u);
  test::temp_dir dir;
  make_model_dir(dir.path(), cases[0]);
  auto run = [&](const std::string& body) {
    test::write_file(dir / "chat.jsonl", body);
    return test::run_smelt("tokenize " + test::shell_quote(dir.path()) + " --chat " +
                           test::shell_quote(dir / "chat.jsonl"));
  };
  std::string good = R"({"messages":[{"role":"user","content":"Hi"}]})";
  std::string file = (dir / "chat.jsonl").string();
  auto r = run(good + "\n\n" +
               R"({"messages":[{"role":"user","content":"Hi"},{"role":"bot","content":"x"}]})" + "\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(file + ":3: messages[1].role: expected system|user|assistant, got \"bot\""),
            std::string::npos)
      << r.err;
  r = run(good + "\n" + R"({"messages":[{"role":"user","content":7}]})" + "\n");
  EXPECT_NE(r.err.find(file + ":2: messages[0].content: expected a string, got 7"), std::string::npos)
      << r.err;
  r = run(good + "\n{\"messages\": [\n");
  EXPECT_NE(r.err.find(file + ":2: not valid JSON"), std::string::npos) << r.err;
  r = run(good + "\n" + R"({"conversation":[]})" + "\n");
  EXPECT_NE(r.err.find(file + ":2: messages: missing"), std::string::npos) << r.err;
  r = run("");
  EXPECT_NE(r.err.find(file + ": no conversations"), std::string::npos) << r.err;

  // A template that refuses the conversation: its message, prefixed with the line.
  test::temp_dir l2;
  std::vector<ordered_json> llama2 = reference_cases("llama2/multi/gen=false");
  ASSERT_EQ(llama2.size(), 1u);
  make_model_dir(l2.path(), llama2[0]);
  test::write_file(l2 / "chat.jsonl",
                   R"({"messages":[{"role":"user","content":"a"},{"role":"user","content":"b"}]})");
  r = test::run_smelt("tokenize " + test::shell_quote(l2.path()) + " --chat " +
                      test::shell_quote(l2 / "chat.jsonl"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find((l2 / "chat.jsonl").string() + ":1: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Conversation roles must alternate"), std::string::npos) << r.err;

  // No tokenizer_config.json beside tokenizer.json: the missing file is named.
  std::filesystem::remove(l2 / "tokenizer_config.json");
  r = test::run_smelt("tokenize " + test::shell_quote(l2.path()) + " --chat " +
                      test::shell_quote(l2 / "chat.jsonl"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("tokenizer_config.json"), std::string::npos) << r.err;
  // --generation-prompt without --chat is a usage error.
  r = test::run_smelt("tokenize " + test::shell_quote(l2.path()) + " --text hi --generation-prompt");
  EXPECT_EQ(r.exit_code, 2);
}

}  // namespace
}  // namespace smelt
