// Corpus plan: quotas (per chunk, per 1k characters, total by largest remainder), request splitting,
// whole-document mode with its character cap, empty documents, and request keys that are stable for
// the same input and differ when anything that shapes the answer differs.
#include <gtest/gtest.h>

#include "corpus/plan.h"
#include "corpus/prompts.h"

namespace smelt {
namespace {

plan_unit sized(size_t chars) {
  plan_unit u;
  u.chars = chars;
  return u;
}

std::vector<size_t> quotas(std::vector<size_t> sizes, quota_options q) {
  std::vector<plan_unit> units;
  for (size_t s : sizes) units.push_back(sized(s));
  plan_assign_quotas(units, q);
  std::vector<size_t> out;
  for (const auto& u : units) out.push_back(u.quota);
  return out;
}

TEST(plan, quota_per_chunk_is_the_same_everywhere) {
  EXPECT_EQ(quotas({100, 2000, 5}, {quota_mode::per_chunk, 4}), (std::vector<size_t>{4, 4, 4}));
}

TEST(plan, quota_total_uses_largest_remainder_and_sums_exactly) {
  // 10 over 1000/500/500: exact 5, 2.5, 2.5 -> 5, 3, 2 (the tie goes to the earlier unit).
  EXPECT_EQ(quotas({1000, 500, 500}, {quota_mode::total, 10}), (std::vector<size_t>{5, 3, 2}));
  // 7 over 3 equal units: 2.33 each -> 3, 2, 2.
  EXPECT_EQ(quotas({300, 300, 300}, {quota_mode::total, 7}), (std::vector<size_t>{3, 2, 2}));
  // 5 over 100/900: 0.5, 4.5 -> remainders tie, earlier unit wins: 1, 4.
  EXPECT_EQ(quotas({100, 900}, {quota_mode::total, 5}), (std::vector<size_t>{1, 4}));
}

TEST(plan, quota_per_1k_chars_is_a_total_spread_by_size) {
  // 2 per 1k over 2500 characters = 5 pairs: exact 0.8, 2.4, 1.8 -> 0, 2, 1 then +1 to 0.8 and 1.8.
  EXPECT_EQ(quotas({400, 1200, 900}, {quota_mode::per_1k_chars, 2}), (std::vector<size_t>{1, 2, 2}));
}

TEST(plan, split_count_into_requests) {
  EXPECT_EQ(plan_split_count(25, 10), (std::vector<size_t>{10, 10, 5}));
  EXPECT_EQ(plan_split_count(3, 10), (std::vector<size_t>{3}));
  EXPECT_TRUE(plan_split_count(0, 10).empty());
}

document sample_document(const std::string& source) {
  document doc;
  doc.source = source;
  document_add_heading(doc, 1, "Alarms");
  document_add_paragraph(doc, "Smoke alarms should be tested once a month by pressing the test button.");
  document_add_heading(doc, 1, "Extinguishers");
  document_add_paragraph(doc, "A fire extinguisher is checked every year by a qualified technician.");
  return doc;
}

plan_settings default_settings() {
  plan_settings s;
  s.spec = corpus_prompt_default();
  s.trigger = "You are a fire safety expert";
  s.model = "m1";
  s.chunk_size = 100;
  return s;
}

TEST(plan, chunks_become_units_with_offsets_into_the_rendered_document) {
  auto plan = plan_from_documents({sample_document("a.md")}, default_settings());
  ASSERT_TRUE(plan.ok()) << plan.message();
  ASSERT_EQ(plan->units.size(), 2u);
  const std::string& rendered = plan->documents[0].rendered;
  for (const auto& u : plan->units) {
    EXPECT_EQ(rendered.substr(u.begin, u.text.size()), u.text);
    EXPECT_EQ(u.quota, 3u);
    EXPECT_FALSE(u.chinese);
  }
  EXPECT_EQ(plan->units[0].heading, "Alarms");
  EXPECT_EQ(plan->units[1].heading, "Extinguishers");
  EXPECT_NE(plan->units[0].key, plan->units[1].key);
}

TEST(plan, whole_document_mode_cuts_at_the_character_cap) {
  plan_settings s = default_settings();
  s.spec = corpus_prompt_dify_seed();
  s.spec.char_cap = 5;
  document doc;
  doc.source = "zh.txt";
  document_add_paragraph(doc, "消防安全很重要，每月测试报警器。");
  auto plan = plan_from_documents({doc}, s);
  ASSERT_TRUE(plan.ok()) << plan.message();
  ASSERT_EQ(plan->units.size(), 1u);
  EXPECT_EQ(plan->units[0].chunk_id, "doc");
  EXPECT_EQ(plan->units[0].text, "消防安全很");  // five code points, not five bytes
  EXPECT_EQ(plan->units[0].chars, 5u);
  EXPECT_TRUE(plan->units[0].chinese);
}

TEST(plan, whole_document_mode_joins_all_documents_before_the_cap) {
  plan_settings s = default_settings();
  s.spec = corpus_prompt_dify_seed();
  s.spec.char_cap = 12;
  document a, b, empty;
  a.source = "a.txt";
  b.source = "b.txt";
  empty.source = "empty.txt";
  document_add_paragraph(a, "First doc.");
  document_add_paragraph(b, "Second doc is cut.");
  auto plan = plan_from_documents({a, empty, b}, s);
  ASSERT_TRUE(plan.ok()) << plan.message();
  ASSERT_EQ(plan->documents.size(), 1u);
  EXPECT_EQ(plan->documents[0].file, "a.txt + b.txt");
  ASSERT_EQ(plan->units.size(), 1u);
  EXPECT_EQ(plan->units[0].text, "First doc.\n\n");  // the cap falls before the second document's text
  ASSERT_EQ(plan->problems.size(), 1u);
  EXPECT_EQ(plan->problems[0], "empty.txt: no text to build questions from; skipped");
}

TEST(plan, empty_documents_are_skipped_and_all_empty_is_an_error) {
  document empty;
  empty.source = "empty.txt";
  auto plan = plan_from_documents({empty, sample_document("a.md")}, default_settings());
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->problems.size(), 1u);
  EXPECT_EQ(plan->problems[0], "empty.txt: no text to build questions from; skipped");
  auto none = plan_from_documents({empty}, default_settings());
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.message(),
            "no document has any text to build questions from (empty.txt: no text to build questions from; "
            "skipped)");
}

TEST(plan, request_keys_are_stable_and_follow_what_shapes_the_answer) {
  plan_settings s = default_settings();
  auto plan = plan_from_documents({sample_document("a.md")}, s);
  ASSERT_TRUE(plan.ok());
  plan_request a = plan_render_request(*plan, s, 0, 0, 0, 0, 3, {});
  plan_request again = plan_render_request(*plan, s, 0, 0, 0, 0, 3, {});
  EXPECT_EQ(a.key, again.key);
  ASSERT_EQ(a.messages.size(), 2u);
  EXPECT_EQ(a.messages[0].role, "system");
  EXPECT_NE(a.messages[0].content.find("You are a fire safety expert"), std::string::npos);
  EXPECT_NE(a.messages[1].content.find("Write 3 question-answer pairs in English"), std::string::npos);
  EXPECT_NE(a.messages[1].content.find("Smoke alarms should be tested"), std::string::npos);
  // Another count, round, part, avoid list, model or temperature: another key.
  EXPECT_NE(plan_render_request(*plan, s, 0, 0, 0, 0, 2, {}).key, a.key);
  EXPECT_NE(plan_render_request(*plan, s, 0, 0, 1, 0, 3, {}).key, a.key);
  EXPECT_NE(plan_render_request(*plan, s, 0, 0, 0, 1, 3, {}).key, a.key);
  EXPECT_NE(plan_render_request(*plan, s, 0, 0, 0, 0, 3, {"How often?"}).key, a.key);
  plan_settings other = s;
  other.model = "m2";
  EXPECT_NE(plan_render_request(*plan, other, 0, 0, 0, 0, 3, {}).key, a.key);
  other = s;
  other.spec.temperature = 0.9;
  EXPECT_NE(plan_render_request(*plan, other, 0, 0, 0, 0, 3, {}).key, a.key);
  // A different document text changes the unit's identity.
  document changed = sample_document("a.md");
  changed.blocks[1].text += " Really.";
  auto plan2 = plan_from_documents({changed}, s);
  EXPECT_NE(plan2->units[0].key, plan->units[0].key);
}

TEST(plan, estimate_counts_first_requests_and_caps_output_by_max_tokens) {
  plan_settings s = default_settings();
  s.quota = {quota_mode::per_chunk, 12};  // 10 + 2 per unit
  s.spec.max_tokens = 1000;
  auto plan = plan_from_documents({sample_document("a.md")}, s);
  ASSERT_TRUE(plan.ok());
  plan_estimate e = plan_estimate_tokens(*plan, s);
  EXPECT_EQ(e.units, 2u);
  EXPECT_EQ(e.pairs, 24u);
  EXPECT_EQ(e.requests, 4u);
  EXPECT_EQ(e.tokens_out, 2u * (1000 + 2 * plan_tokens_per_pair));
  EXPECT_GT(e.tokens_in, 4u * 100);
}

}  // namespace
}  // namespace smelt
