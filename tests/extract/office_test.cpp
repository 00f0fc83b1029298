// Tests for the OOXML extractors (extract_docx/pptx/xlsx.cpp, ooxml.cpp) on documents made by
// tests/tools/gen_office.mjs with npm docx, pptxgenjs, exceljs and hand-written parts: exact
// Markdown, blocks and anchors, warnings, and the exact errors for broken containers.
#include <gtest/gtest.h>

#include "extract/extract.h"
#include "support/test_support.h"

namespace smelt {
namespace {

using test::testdata;

document extract_ok(const std::string& file) {
  auto doc = extract_file(testdata("office/" + file));
  EXPECT_TRUE(doc.ok()) << (doc.ok() ? "" : doc.message());
  return doc.ok() ? std::move(doc).value() : document{};
}

std::string markdown(const document& doc) {
  return document_render(doc, render_format::markdown).text;
}

std::string error_of(const std::string& file) {
  auto doc = extract_file(testdata("office/" + file));
  EXPECT_FALSE(doc.ok()) << file;
  return doc.ok() ? "" : doc.message();
}

// --- DOCX ---

TEST(office_docx, report_markdown_is_exact) {
  document doc = extract_ok("report.docx");
  EXPECT_EQ(doc.format, "docx");
  EXPECT_EQ(markdown(doc),
            "# Quarterly Report\n\n"
            "# Introduction 介绍\n\n"
            "This report covers sales in 中国 and Europe.[1]\n\n"
            "Name\tValue\nSecond line\n\n"
            "See the website for details.\n\n"
            "## Bullets\n\n"
            "- Apples\n"
            "  - Green apples\n"
            "- Pears\n\n"
            "## Steps\n\n"
            "1. Open the box\n"
            "  1. Check the contents\n"
            "1. Close the box\n\n"
            "## Figures\n\n"
            "| Region | Q1 | Q2 |\n"
            "| --- | --- | --- |\n"
            "| North | 10 | 12 |\n"
            "| 南方 | n/a |  |\n\n"
            "The end.\n\n"
            "[1] Figures are unaudited.\n");  // footnote: marker in the text, body at the end
  EXPECT_TRUE(doc.warnings.empty());
}

TEST(office_docx, report_blocks_carry_list_depth_and_kind) {
  document doc = extract_ok("report.docx");
  ASSERT_EQ(doc.blocks.size(), 17u);
  const block& green = doc.blocks[7];
  EXPECT_EQ(green.kind, block_kind::list_item);
  EXPECT_EQ(green.text, "Green apples");
  EXPECT_EQ(green.level, 1);
  EXPECT_FALSE(green.ordered);
  const block& check = doc.blocks[11];
  EXPECT_EQ(check.text, "Check the contents");
  EXPECT_EQ(check.level, 1);
  EXPECT_TRUE(check.ordered);  // lowerLetter counts as ordered
  // The "Chapter" style has no heading name but w:outlineLvl 1 -> level 2.
  EXPECT_EQ(doc.blocks[13].kind, block_kind::heading);
  EXPECT_EQ(doc.blocks[13].level, 2);
  EXPECT_EQ(doc.blocks[13].text, "Figures");
  const block& table = doc.blocks[14];
  ASSERT_EQ(table.kind, block_kind::table);
  // gridSpan=2 is followed by an empty cell so columns stay aligned.
  EXPECT_EQ(table.rows, (std::vector<std::vector<std::string>>{
                            {"Region", "Q1", "Q2"}, {"North", "10", "12"}, {"南方", "n/a", ""}}));
}

TEST(office_docx, localised_styles_smart_tags_and_content_controls) {
  document doc = extract_ok("crafted.docx");
  EXPECT_EQ(markdown(doc),
            "# Handbuch\n\n"                          // style id "Titel", name "Title"
            "# Erste Schritte\n\n"                    // style id "berschrift1", name "heading 1"
            "### Gliederung drei\n\n"                 // style outlineLvl 2
            "### Geerbt\n\n"                          // basedOn the outline style
            "## Direkt zwei\n\n"                      // direct w:outlineLvl 1
            "Call Berlin via the portal. Added.\n\n"  // smart tag, hyperlink, insertion; deletion dropped
            "Inside a content control\n\n"
            "1. Eins\n"
            "  - Punkt\n"
            "- Aus dem Stil\n\n"    // numbering inherited from the paragraph style
            "Nummerierung aus\n\n"  // numId 0 turns numbering off
            "| A | B B2 |\n"
            "| --- | --- |\n"
            "| nested | x\\|y |\n");
  const block& table = doc.blocks.back();
  ASSERT_EQ(table.kind, block_kind::table);
  EXPECT_EQ(table.rows, (std::vector<std::vector<std::string>>{{"A", "B\nB2"}, {"nested", "x|y"}}));
}

// --- PPTX ---

TEST(office_pptx, deck_markdown_is_exact) {
  document doc = extract_ok("deck.pptx");
  EXPECT_EQ(doc.format, "pptx");
  EXPECT_EQ(markdown(doc),
            "## Welcome 欢迎\n\n"
            "Smelt turns documents into data.\n\n"
            "Notes: Greet the audience.\n\n"
            "## Agenda\n\n"
            "- Extract\n"
            "  - PDF and Office\n"
            "- Train\n\n"
            "## Results\n\n"
            "| Model | Score |\n"
            "| --- | --- |\n"
            "| base | 61 |\n"
            "| 微调 | 78 |\n\n"
            "Notes: Mention the baseline.\nThen the tuned model.\n");
  EXPECT_TRUE(doc.warnings.empty());
}

TEST(office_pptx, deck_anchors_mark_slides_and_notes) {
  document doc = extract_ok("deck.pptx");
  ASSERT_EQ(doc.anchors.size(), 5u);
  struct expected {
    anchor_kind kind;
    int number;
    std::string label;
    size_t block;
  };
  std::vector<expected> want = {{anchor_kind::slide, 1, "Welcome 欢迎", 0},
                                {anchor_kind::notes, 1, "", 2},
                                {anchor_kind::slide, 2, "Agenda", 3},
                                {anchor_kind::slide, 3, "Results", 7},
                                {anchor_kind::notes, 3, "", 9}};
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(doc.anchors[i].kind, want[i].kind) << i;
    EXPECT_EQ(doc.anchors[i].number, want[i].number) << i;
    EXPECT_EQ(doc.anchors[i].label, want[i].label) << i;
    EXPECT_EQ(doc.anchors[i].block, want[i].block) << i;
  }
  EXPECT_EQ(doc.blocks[0].kind, block_kind::heading);
  EXPECT_EQ(doc.blocks[0].level, 2);
  EXPECT_EQ(doc.blocks[5].kind, block_kind::list_item);
  EXPECT_EQ(doc.blocks[5].level, 1);
  EXPECT_EQ(doc.blocks[5].text, "PDF and Office");
  EXPECT_EQ(doc.blocks[9].text, "Notes: Mention the baseline.\nThen the tuned model.");
}

TEST(office_pptx, presentation_order_not_file_order) {
  // Same deck with sldIdLst reversed: slide3.xml is now slide 1.
  document doc = extract_ok("deck_reordered.pptx");
  ASSERT_GE(doc.blocks.size(), 1u);
  EXPECT_EQ(doc.blocks[0].text, "Results");
  ASSERT_EQ(doc.anchors.size(), 5u);
  EXPECT_EQ(doc.anchors[0].label, "Results");
  EXPECT_EQ(doc.anchors[0].number, 1);
  EXPECT_EQ(doc.anchors[1].kind, anchor_kind::notes);
  EXPECT_EQ(doc.anchors[1].number, 1);
  EXPECT_EQ(doc.anchors[2].label, "Agenda");
  EXPECT_EQ(doc.anchors[3].label, "Welcome 欢迎");
  EXPECT_EQ(doc.anchors[3].number, 3);
  EXPECT_EQ(doc.blocks.back().text, "Notes: Greet the audience.");
}

// --- XLSX ---

TEST(office_xlsx, book_sheets_tables_and_anchors) {
  document doc = extract_ok("book.xlsx");
  EXPECT_EQ(doc.format, "xlsx");
  // B3 is a gap; B4 is a formula (cached 1200); C4 a boolean; a styled empty F9 adds nothing.
  EXPECT_EQ(markdown(doc),
            "## Sales\n\n"
            "| Region | Units | Price |\n"
            "| --- | --- | --- |\n"
            "| North | 1200 | 3.5 |\n"
            "| 南方 |  | 0.25 |\n"
            "| Total | 1200 | TRUE |\n\n"
            "## 备注\n\n"
            "| -7 |  |\n"
            "| --- | --- |\n"
            "|  | only cell |\n");
  ASSERT_EQ(doc.anchors.size(), 2u);
  EXPECT_EQ(doc.anchors[0].kind, anchor_kind::sheet);
  EXPECT_EQ(doc.anchors[0].number, 1);
  EXPECT_EQ(doc.anchors[0].label, "Sales");
  EXPECT_EQ(doc.anchors[0].block, 0u);
  EXPECT_EQ(doc.anchors[1].label, "备注");
  EXPECT_EQ(doc.anchors[1].number, 2);
  EXPECT_EQ(doc.anchors[1].block, 2u);
  ASSERT_EQ(doc.blocks.size(), 4u);
  EXPECT_EQ(doc.blocks[1].rows[2], (std::vector<std::string>{"南方", "", "0.25"}));
  EXPECT_TRUE(doc.warnings.empty());
}

TEST(office_xlsx, inline_strings_errors_workbook_order_and_broken_sheet) {
  document doc = extract_ok("crafted.xlsx");
  EXPECT_EQ(markdown(doc),
            "## Second\n\n"
            "| x | 1 |  |\n"
            "| --- | --- | --- |\n"
            "| y |  | 3 |\n\n"
            "## Empty\n\n"
            "## First\n\n"
            "| Key | Value |\n"
            "| --- | --- |\n"
            "| ab | #DIV/0! |\n"
            "| 1000 | 2.50 |\n"
            "| FALSE | 0 |\n");
  ASSERT_EQ(doc.anchors.size(), 3u);  // the broken fourth sheet is skipped with a warning
  EXPECT_EQ(doc.anchors[2].label, "First");
  EXPECT_EQ(doc.anchors[2].number, 3);
  ASSERT_EQ(doc.warnings.size(), 1u);
  EXPECT_EQ(
      doc.warnings[0],
      "sheet 'Broken': part 'xl/worksheets/sheet4.xml' is not well-formed XML: Start-end tags mismatch at "
      "byte 26; skipped");
}

TEST(office_xlsx, stray_far_cell_is_dropped_with_a_warning) {
  document doc = extract_ok("wide.xlsx");
  EXPECT_EQ(markdown(doc), "## Wide\n\n| corner |  |\n| --- | --- |\n|  | 2 |\n");
  ASSERT_EQ(doc.warnings.size(), 1u);
  EXPECT_EQ(doc.warnings[0], "sheet 'Wide': cells beyond 1024 columns from the first used one dropped");
}

// --- broken containers ---

TEST(office_errors, truncated_docx) {
  std::string path = testdata("office/truncated.docx").string();
  EXPECT_EQ(error_of("truncated.docx"), path + ": corrupt or truncated ZIP container (Not a zip archive)");
}

TEST(office_errors, text_file_named_docx) {
  std::string path = testdata("office/not_a_zip.docx").string();
  EXPECT_EQ(error_of("not_a_zip.docx"),
            path + ": not a valid DOCX file (no ZIP signature; DOCX files are ZIP packages)");
}

TEST(office_errors, zip_without_main_part) {
  for (const char* kind : {"docx", "pptx", "xlsx"}) {
    std::string file = std::string("no_body.") + kind;
    std::string upper = kind == std::string("docx") ? "DOCX" : kind == std::string("pptx") ? "PPTX" : "XLSX";
    std::string part = kind == std::string("docx")   ? "word/document.xml"
                       : kind == std::string("pptx") ? "ppt/presentation.xml"
                                                     : "xl/workbook.xml";
    EXPECT_EQ(error_of(file), testdata("office/" + file).string() + ": not a valid " + upper +
                                  " file: missing part '" + part + "' (and no officeDocument relationship)");
  }
}

TEST(office_errors, malformed_main_part) {
  std::string path = testdata("office/bad_xml.docx").string();
  std::string message = error_of("bad_xml.docx");
  EXPECT_TRUE(message.starts_with(path + ": part 'word/document.xml' is not well-formed XML: ")) << message;
}

TEST(office_errors, cli_reports_and_continues) {
  auto run = test::run_smelt("extract '" + testdata("office/not_a_zip.docx").string() + "' '" +
                             testdata("office/book.xlsx").string() + "'");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("not_a_zip.docx: not a valid DOCX file (no ZIP signature"), std::string::npos)
      << run.err;
  EXPECT_NE(run.out.find("| Total | 1200 | TRUE |"), std::string::npos) << run.out;
}

}  // namespace
}  // namespace smelt
