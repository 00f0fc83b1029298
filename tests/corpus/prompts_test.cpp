// Prompt sources: prompt_render's placeholder rules, the default prompt's contract with the builder
// (placeholders present, JSON fields, parameters), the dify-seed preset's values, the avoid paragraph.
#include "corpus/prompts.h"

#include <gtest/gtest.h>

namespace smelt {
namespace {

TEST(prompt_render, replaces_known_placeholders_once_and_leaves_the_rest) {
  std::map<std::string, std::string> v = {
      {"trigger", "你是消防系统专家"}, {"count", "3"}, {"text", "{{count}}"}};
  EXPECT_EQ(prompt_render("{{trigger}}: ask {{ count }} about {{text}}", v),
            "你是消防系统专家: ask 3 about {{count}}");  // values are not rendered again
  EXPECT_EQ(prompt_render("{{unknown}} {{#1735.result#}} {\"a\": {{}} {{count", v),
            "{{unknown}} {{#1735.result#}} {\"a\": {{}} {{count");
  EXPECT_EQ(prompt_render("{{{count}}}", v), "{3}");
  EXPECT_EQ(prompt_render("", v), "");
  EXPECT_EQ(prompt_render("no placeholders", {}), "no placeholders");
}

TEST(prompt_render, empty_value_removes_the_placeholder) {
  EXPECT_EQ(prompt_render("a{{avoid}}b", {{"avoid", ""}}), "ab");
}

TEST(corpus_prompt_default, asks_for_json_fields_with_quotes) {
  prompt_spec s = corpus_prompt_default();
  EXPECT_EQ(s.name, "default");
  EXPECT_EQ(s.format, prompt_answer_format::json_fields);
  EXPECT_TRUE(s.require_quote);
  EXPECT_FALSE(s.whole_document);
  EXPECT_EQ(s.char_cap, 0u);
  EXPECT_EQ(s.pairs_per_request, 10);
  EXPECT_EQ(s.temperature, 0.3);
  EXPECT_EQ(s.frequency_penalty, 0.5);
  EXPECT_EQ(s.max_tokens, 4096);
  EXPECT_FALSE(s.top_p.has_value());
  EXPECT_TRUE(s.model.empty());  // --model decides
  for (const char* p : {"{{text}}", "{{count}}", "{{heading}}", "{{avoid}}", "{{language}}"})
    EXPECT_NE(s.user_template.find(p), std::string::npos) << p;
  EXPECT_NE(s.system_template.find("{{trigger}}"), std::string::npos);
  EXPECT_NE(s.user_template.find(R"([{"question": "...", "answer": "...", "quote": "..."}])"),
            std::string::npos);

  std::string user = prompt_render(s.user_template, {{"text", "烟雾报警器每月测试一次。"},
                                                     {"count", "4"},
                                                     {"heading", "维护 > 测试"},
                                                     {"avoid", ""},
                                                     {"language", "Chinese"}});
  EXPECT_NE(user.find("Document section: 维护 > 测试\nExcerpt:\n<<<\n烟雾报警器每月测试一次。\n>>>"),
            std::string::npos);
  EXPECT_NE(user.find("Write 4 question-answer pairs in Chinese"), std::string::npos);
  EXPECT_EQ(user.find("{{"), std::string::npos);
  EXPECT_EQ(user.find("already taken"), std::string::npos);
}

TEST(corpus_prompt_dify_seed, reproduces_the_seed_workflow_parameters) {
  prompt_spec s = corpus_prompt_dify_seed();
  EXPECT_EQ(s.name, "dify-seed");
  EXPECT_EQ(s.model, "Qwen/Qwen2.5-72B-Instruct-128K");
  EXPECT_EQ(s.temperature, 0.3);
  EXPECT_EQ(s.frequency_penalty, 0.5);
  EXPECT_EQ(s.max_tokens, 4096);
  EXPECT_FALSE(s.top_p.has_value());
  EXPECT_EQ(s.pairs_per_request, 10);
  EXPECT_TRUE(s.whole_document);
  EXPECT_EQ(s.char_cap, 80000u);
  EXPECT_EQ(s.format, prompt_answer_format::seed_messages);
  EXPECT_FALSE(s.require_quote);
  EXPECT_TRUE(s.user_template.empty());

  std::string system = prompt_render(
      s.system_template, {{"trigger", "你是消防系统专家"}, {"count", "10"}, {"text", "第一条 总则"}});
  EXPECT_NE(system.find("提出 10 个口语化的问题"), std::string::npos);
  EXPECT_NE(system.find("回答必须忠于文档原文"), std::string::npos);
  EXPECT_NE(system.find(R"({"messages": [{"role": "system", "content": "你是消防系统专家"}, )"
                        R"({"role": "user", "content": "问题"}, {"role": "assistant", "content": "回答"}]})"),
            std::string::npos);
  EXPECT_EQ(system.substr(system.size() - std::string("文档内容：\n第一条 总则").size()),
            "文档内容：\n第一条 总则");
}

TEST(corpus_avoid_block, empty_list_gives_nothing) {
  EXPECT_EQ(corpus_avoid_block({}), "");
  EXPECT_EQ(corpus_avoid_block({"", " \n "}), "");
}

TEST(corpus_avoid_block, one_question_per_line_flattened) {
  EXPECT_EQ(corpus_avoid_block({"How often is the alarm tested?", "  烟雾报警器\n 装在哪里？ "}),
            "These questions are already taken; do not ask them again or rephrase them:\n"
            "- How often is the alarm tested?\n"
            "- 烟雾报警器 装在哪里？\n");
}

}  // namespace
}  // namespace smelt
