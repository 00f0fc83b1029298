// The document model's invariants: rendering offsets, the heading tree, and valid UTF-8 in every
// extracted document (JSON output throws on anything else; found by fuzz_extract_eml).
#include "extract/document.h"

#include <gtest/gtest.h>

#include "core/text.h"
#include "extract/extract.h"
#include "support/test_support.h"

namespace smelt {
namespace {

TEST(document, render_offsets_and_heading_tree) {
  document doc;
  document_add_heading(doc, 1, "Guide");
  document_add_paragraph(doc, "Intro.");
  document_add_heading(doc, 2, "Install");
  document_add_list_item(doc, 0, false, "Ceiling");
  document_add_list_item(doc, 0, false, "Hallway");
  document_add_table(doc, {{"a", "b|c"}, {"1", "2"}});
  auto r = document_render(doc, render_format::markdown);
  EXPECT_EQ(
      r.text,
      "# Guide\n\nIntro.\n\n## Install\n\n- Ceiling\n- Hallway\n\n| a | b\\|c |\n| --- | --- |\n| 1 | 2 |\n");
  ASSERT_EQ(r.spans.size(), 6u);
  EXPECT_EQ(r.text.substr(r.spans[3].begin, r.spans[3].end - r.spans[3].begin), "- Ceiling");
  auto j = document_to_json(doc);
  ASSERT_EQ(j["headings"].size(), 1u);
  EXPECT_EQ(j["headings"][0]["title"], "Guide");
  EXPECT_EQ(j["headings"][0]["children"][0]["title"], "Install");
  EXPECT_EQ(j["headings"][0]["children"][0]["offset"], r.spans[2].begin);
}

TEST(document, make_valid_utf8_everywhere) {
  document doc;
  document_add_paragraph(doc, "ok \xE5\x91 cut");
  document_add_table(doc, {{"\xFF"}});
  doc.warnings.push_back("bad \xC0");
  document_make_valid_utf8(doc);
  EXPECT_EQ(doc.blocks[0].text, "ok \xEF\xBF\xBD\xEF\xBF\xBD cut");  // one U+FFFD per bad byte
  EXPECT_TRUE(utf8_is_valid(doc.blocks[1].rows[0][0]));
  EXPECT_TRUE(utf8_is_valid(doc.warnings[0]));
}

TEST(document, eml_with_split_encoded_word_gives_valid_json) {
  std::string bytes = test::read_file(test::source_path("tests/fuzz/seeds/eml-split-encoded-word.eml"));
  ASSERT_FALSE(bytes.empty());
  auto doc = extract_bytes(bytes, "mail.eml", "eml");
  ASSERT_TRUE(doc.ok()) << doc.message();
  EXPECT_NO_THROW((void)document_to_json(*doc).dump());
}

}  // namespace
}  // namespace smelt
