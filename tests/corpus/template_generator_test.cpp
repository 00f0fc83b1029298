// The offline template generator: exact questions and verbatim quotes from a small bilingual
// document built in code, determinism, and the chunk range respected.
#include "corpus/template_generator.h"

#include <gtest/gtest.h>

namespace smelt {
namespace {

document fire_document() {
  document doc;
  document_add_heading(doc, 1, "3. Types of alarms");
  document_add_paragraph(
      doc, "A heat alarm is a detector that reacts to a rapid rise in temperature. Use one in kitchens.");
  document_add_table(doc, {{"Type", "Best place"}, {"Heat alarm", "Kitchens"}, {"Smoke alarm", "Bedrooms"}});
  document_add_heading(doc, 1, "测试步骤");
  document_add_list_item(doc, 0, true, "按下测试按钮");
  document_add_list_item(doc, 0, true, "等待报警器响起");
  document_add_paragraph(doc, "感温报警器是一种根据温度变化报警的设备。第三条 报警器每月测试一次。");
  return doc;
}

TEST(template_generator, questions_from_every_rule) {
  document doc = fire_document();
  auto rendered = document_render(doc, render_format::markdown);
  auto items = template_generate(doc, 0, rendered.text.size());
  std::vector<std::string> questions;
  for (const auto& item : items) {
    questions.push_back(item.question);
    EXPECT_NE(rendered.text.find(item.quote), std::string::npos) << "quote not verbatim: " << item.quote;
  }
  std::vector<std::string> expected = {
      "What is a heat alarm?",
      "What is the Best place for Heat alarm?",
      "What is the Best place for Smoke alarm?",
      "What does the text say about Types of alarms?",
      "什么是感温报警器？",
      "第三条规定了什么？",
      "测试步骤有哪些步骤？",
      "关于“测试步骤”，有哪些要点？",
  };
  EXPECT_EQ(questions, expected);
  EXPECT_EQ(items[1].answer, "Best place: Kitchens.");
  EXPECT_EQ(items[3].answer,
            "A heat alarm is a detector that reacts to a rapid rise in temperature. Use one in kitchens.");
  EXPECT_EQ(items[6].answer, "1. 按下测试按钮\n2. 等待报警器响起");
}

TEST(template_generator, deterministic_and_range_limited) {
  document doc = fire_document();
  auto rendered = document_render(doc, render_format::markdown);
  size_t second_section = rendered.text.find("# 测试步骤");
  auto first = template_generate(doc, 0, second_section);
  auto again = template_generate(doc, 0, second_section);
  ASSERT_EQ(first.size(), again.size());
  for (size_t i = 0; i < first.size(); ++i) EXPECT_EQ(first[i].question, again[i].question);
  for (const auto& item : first) EXPECT_EQ(item.question.find("测试"), std::string::npos) << item.question;
  EXPECT_EQ(first.size(), 4u);
}

TEST(template_generator, forced_language) {
  document doc;
  document_add_heading(doc, 1, "Maintenance");
  document_add_paragraph(doc, "Replace the battery once a year.");
  document_add_paragraph(doc, "A short chirp every minute means the battery is low.");
  auto rendered = document_render(doc, render_format::markdown);
  auto zh = template_generate(doc, 0, rendered.text.size(), template_language::zh);
  ASSERT_EQ(zh.size(), 2u);
  EXPECT_EQ(zh[0].question, "What does a short chirp every minute mean?");  // English sentence, English rule
  EXPECT_EQ(zh[1].question, "关于“Maintenance”，有哪些要点？");
}

}  // namespace
}  // namespace smelt

namespace smelt {
namespace {

TEST(template_generator, bare_copula_is_not_a_definition) {
  document doc;
  document_add_paragraph(doc, "致命的往往是烟雾而不是火焰。报警器是很重要的设备吗");
  auto rendered = document_render(doc, render_format::markdown);
  EXPECT_TRUE(template_generate(doc, 0, rendered.text.size()).empty());
}

}  // namespace
}  // namespace smelt
