// PDF extraction on PDFs made by pdfkit and reportlab (tests/tools/gen_pdf.mjs): exact blocks, page
// anchors, running headers/footers removed, hyphenation and CJK line joins, two columns, Chinese in a
// non-embedded Adobe-GB1 font, and the messages for scanned, encrypted, truncated and damaged files
// and for poppler without poppler-data. Layout helpers and warning wording are also tested directly.
#include <gtest/gtest.h>

#include <algorithm>

#include "extract/extract.h"
#include "extract/pdf_layout.h"
#include "extract/pdf_problems.h"
#include "support/test_support.h"

namespace smelt {
namespace {

using test::testdata;

struct expected_block {
  block_kind kind;
  int level;
  std::string text;
};

void expect_blocks(const document& doc, const std::vector<expected_block>& expected) {
  ASSERT_EQ(doc.blocks.size(), expected.size()) << document_render(doc, render_format::markdown).text;
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(doc.blocks[i].kind, expected[i].kind) << "block " << i;
    EXPECT_EQ(doc.blocks[i].level, expected[i].level) << "block " << i;
    EXPECT_EQ(doc.blocks[i].text, expected[i].text) << "block " << i;
  }
}

result<document> extract(const std::string& name) {
  return extract_file(testdata("pdf/" + name));
}

std::string quoted(const std::filesystem::path& p) {
  return "'" + p.string() + "'";
}

std::string fmt_line(const char* side, int line, int page) {
  return std::string(side) + " column line " + std::to_string(line) + " of page " + std::to_string(page) +
         ".";
}

TEST(pdf, sample_blocks_exact) {
  auto doc = extract("sample.pdf");
  ASSERT_TRUE(doc.ok()) << doc.message();
  EXPECT_EQ(doc->format, "pdf");
  // Page 3 also has a bulleted list whose second item wraps onto an indented line.
  EXPECT_TRUE(doc->warnings.empty());
  expect_blocks(
      *doc,
      {
          {block_kind::heading, 1, "Data Protection Basics"},
          {block_kind::paragraph, 0,
           "Personal data needs careful handling. Every team must apply protection measures before "
           "sharing files with partners."},
          {block_kind::paragraph, 0, "Keep a record of who accessed which document and when."},
          {block_kind::heading, 2, "Retention"},
          {block_kind::paragraph, 0, "Delete raw exports after thirty days unless a legal hold applies."},
          {block_kind::heading, 1, "中文部分"},
          {block_kind::paragraph, 0, "数据保护是每个团队的责任，所有文件在共享之前必须经过审查。"},
          {block_kind::paragraph, 0, "Mixed pages keep their order from top to bottom."},
          {block_kind::heading, 2, "Summary"},
          {block_kind::paragraph, 0, "Protect data, keep records, and delete what you no longer need."},
          {block_kind::list_item, 0, "Encrypt every laptop and every backup."},
          {block_kind::list_item, 0, "Lock the screen when you step away from the desk."},
      });
}

TEST(pdf, sample_page_anchors) {
  auto doc = extract("sample.pdf");
  ASSERT_TRUE(doc.ok()) << doc.message();
  ASSERT_EQ(doc->anchors.size(), 3u);
  const size_t first_block[] = {0, 5, 8};
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(doc->anchors[i].kind, anchor_kind::page);
    EXPECT_EQ(doc->anchors[i].number, i + 1);
    EXPECT_EQ(doc->anchors[i].block, first_block[i]);
  }
}

TEST(pdf, running_header_and_page_footer_removed) {
  auto doc = extract("sample.pdf");
  ASSERT_TRUE(doc.ok()) << doc.message();
  std::string text = document_render(*doc, render_format::text).text;
  EXPECT_EQ(text.find("Smelt Handbook"), std::string::npos) << text;
  EXPECT_EQ(text.find("Page "), std::string::npos) << text;
  EXPECT_EQ(text.find("protec-"), std::string::npos) << text;
}

TEST(pdf, json_heading_tree_and_pages) {
  auto doc = extract("sample.pdf");
  ASSERT_TRUE(doc.ok()) << doc.message();
  nlohmann::json j = document_to_json(*doc);
  ASSERT_EQ(j["headings"].size(), 2u);
  EXPECT_EQ(j["headings"][0]["title"], "Data Protection Basics");
  ASSERT_EQ(j["headings"][0]["children"].size(), 1u);
  EXPECT_EQ(j["headings"][0]["children"][0]["title"], "Retention");
  EXPECT_EQ(j["headings"][1]["title"], "中文部分");
  EXPECT_EQ(j["headings"][1]["children"][0]["title"], "Summary");
  ASSERT_EQ(j["anchors"].size(), 3u);
  // Page 2 begins where its first heading is rendered.
  EXPECT_EQ(j["anchors"][1]["offset"], j["headings"][1]["offset"]);
}

TEST(pdf, two_columns_read_left_then_right_and_page_numbers_removed) {
  auto doc = extract("columns.pdf");
  ASSERT_TRUE(doc.ok()) << doc.message();
  std::vector<expected_block> expected;
  for (int p = 1; p <= 2; ++p) {
    std::string left, right;
    for (int i = 1; i <= 6; ++i) {
      left += (i > 1 ? " " : "") + fmt_line("Left", i, p);
      right += (i > 1 ? " " : "") + fmt_line("Right", i, p);
    }
    expected.push_back({block_kind::heading, 1, "Column Study " + std::to_string(p)});
    expected.push_back({block_kind::paragraph, 0, left});
    expected.push_back({block_kind::paragraph, 0, right});
  }
  expect_blocks(*doc, expected);
}

TEST(pdf, long_pdf_keeps_page_order_across_threads) {
  auto doc = extract("long.pdf");
  ASSERT_TRUE(doc.ok()) << doc.message();
  ASSERT_EQ(doc->anchors.size(), 40u);
  ASSERT_EQ(doc->blocks.size(), 80u) << document_render(*doc, render_format::markdown).text;
  for (int p = 1; p <= 40; ++p) {
    EXPECT_EQ(doc->anchors[p - 1].number, p);
    EXPECT_EQ(doc->anchors[p - 1].block, size_t(2 * (p - 1)));
    EXPECT_EQ(doc->blocks[2 * (p - 1)].text, "Part " + std::to_string(p));
    EXPECT_EQ(doc->blocks[2 * (p - 1) + 1].text,
              "This sentence belongs to page number " + std::to_string(p) + ".");
  }
}

TEST(pdf, image_only_pdf_warns_no_text_layer) {
  auto doc = extract("scanned.pdf");
  ASSERT_TRUE(doc.ok()) << doc.message();
  EXPECT_TRUE(doc->blocks.empty());
  ASSERT_EQ(doc->warnings.size(), 1u);
  EXPECT_EQ(doc->warnings[0], "no text layer — scanned? OCR is not enabled");

  auto r = test::run_smelt("extract " + quoted(testdata("pdf/scanned.pdf")));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("warning: " + testdata("pdf/scanned.pdf").string() +
                       ": no text layer — scanned? OCR is not enabled"),
            std::string::npos)
      << r.err;
}

TEST(pdf, non_embedded_gb1_cid_font_text_exact) {
  auto doc = extract("cid_gb1.pdf");
  ASSERT_TRUE(doc.ok()) << doc.message();
  EXPECT_EQ(doc->warnings, std::vector<std::string>{});
  expect_blocks(*doc,
                {
                    {block_kind::heading, 1, "GB/T 35273 Sample Standard"},
                    {block_kind::paragraph, 0,
                     "本标准规定了个人信息处理活动应遵循的原则和安全要求，适用于各类组织的个人信息处理活动，"
                     "也适用于主管监管部门对个人信息处理活动进行监督、管理和评估。"},
                    {block_kind::paragraph, 0,
                     "Latin text stays readable next to the Chinese paragraphs of the standard."},
                    {block_kind::paragraph, 0, "第二页的中文内容，分两行排列。"},
                    {block_kind::paragraph, 0, "Second page in Latin."},
                });
  ASSERT_EQ(doc->anchors.size(), 2u);
  EXPECT_EQ(doc->anchors[1].block, 3u);
}

// poppler reads its data dir (poppler-data) once per process; a smelt run pointed at an empty one
// is poppler without poppler-data, as on a machine where the package is missing.
TEST(pdf, missing_poppler_data_warns_with_pages_and_fix) {
  test::temp_dir empty;
  std::filesystem::path mixed = testdata("pdf/cid_gb1.pdf");
  std::filesystem::path only = testdata("pdf/cid_gb1_only.pdf");
  auto r = test::run_shell("SMELT_POPPLER_DATA_DIR=" + quoted(empty.path()) + " '" + SMELT_BINARY +
                           "' extract -f text " + quoted(mixed) + " " + quoted(only));
  EXPECT_EQ(r.exit_code, 0) << r.err;  // a warning, like a PDF without a text layer
  EXPECT_NE(r.out.find("Latin text stays readable next to the Chinese"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Second page in Latin."), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("中文"), std::string::npos) << r.out;
  std::string cause =
      "text in Adobe-GB1 (simplified Chinese) fonts was dropped: poppler's language pack is missing from "
      "SMELT_POPPLER_DATA_DIR (" +
      empty.path().string() +
      "); install poppler-data and point SMELT_POPPLER_DATA_DIR at its folder, or unset it\n";
  // The Chinese-only file gets this warning instead of "no text layer".
  EXPECT_EQ(r.err, "warning: " + mixed.string() + ": pages 1-2: " + cause + "warning: " + only.string() +
                       ": page 1: " + cause);
}

TEST(pdf, encrypted_pdf_is_refused_with_advice) {
  auto doc = extract("encrypted.pdf");
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.message(), testdata("pdf/encrypted.pdf").string() +
                               ": encrypted PDF (password required); decrypt it first, e.g. qpdf --decrypt "
                               "--password=PASSWORD in.pdf out.pdf");
}

TEST(pdf, truncated_pdf_is_an_error) {
  auto doc = extract("truncated.pdf");
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.message().rfind(testdata("pdf/truncated.pdf").string() + ": truncated or damaged PDF", 0), 0u)
      << doc.message();
}

TEST(pdf, damaged_and_fake_pdfs_are_errors_without_poppler_chatter) {
  auto damaged = extract("damaged.pdf");
  ASSERT_FALSE(damaged.ok());
  EXPECT_EQ(damaged.message(),
            testdata("pdf/damaged.pdf").string() + ": damaged PDF (poppler cannot read its structure)");
  auto fake = extract("not_pdf.pdf");
  ASSERT_FALSE(fake.ok());
  EXPECT_EQ(fake.message(), testdata("pdf/not_pdf.pdf").string() + ": not a PDF file (no %PDF- header)");

  auto r = test::run_smelt("extract " + quoted(testdata("pdf/damaged.pdf")) + " " +
                           quoted(testdata("pdf/truncated.pdf")) + " " + quoted(testdata("pdf/sample.pdf")));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("Data Protection Basics"), std::string::npos);
  // Two error lines and the summary: nothing from poppler itself ("Syntax Error: ...").
  std::vector<std::string> lines;
  for (std::string_view rest = r.err; !rest.empty();) {
    size_t nl = rest.find('\n');
    lines.emplace_back(rest.substr(0, nl));
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
  }
  ASSERT_EQ(lines.size(), 3u) << r.err;
  EXPECT_EQ(lines[0].rfind("error: " + testdata("pdf/damaged.pdf").string() + ": damaged PDF", 0), 0u)
      << r.err;
  EXPECT_EQ(lines[1].rfind("error: " + testdata("pdf/truncated.pdf").string() + ": truncated", 0), 0u)
      << r.err;
  EXPECT_EQ(lines[2], "extracted 1 of 3 files, 2 failed");
}

TEST(pdf_layout, join_line_rules) {
  auto join = [](std::string a, std::string_view b) {
    pdf_join_line(a, b);
    return a;
  };
  EXPECT_EQ(join("apply protec-", "tion measures"), "apply protection measures");
  EXPECT_EQ(join("soft protec\xC2\xAD", "tion"), "soft protection");
  EXPECT_EQ(join("the Anglo-", "Saxon"), "the Anglo- Saxon");  // capital after: a real compound
  EXPECT_EQ(join("pages 3-", "4"), "pages 3- 4");
  EXPECT_EQ(join("共享之前", "必须经过"), "共享之前必须经过");
  EXPECT_EQ(join("审查。", "下一句"), "审查。下一句");
  EXPECT_EQ(join("English line", "next line"), "English line next line");
  EXPECT_EQ(join("中文", "English"), "中文 English");
  EXPECT_EQ(join("", "  first  "), "first");
}

TEST(pdf_problems, poppler_messages_become_page_warnings) {
  std::vector<pdf_page_problems> pages(5);
  pdf_problems_note(pages[0], "error: Missing language pack for 'Adobe-GB1' mapping");
  pdf_problems_note(pages[0], "error: Unknown font tag 'F3'");
  pdf_problems_note(pages[0], "error (2397): No font in show");
  pdf_problems_note(pages[1], "error (88): No font in move/show");
  pdf_problems_note(pages[3], "error: Couldn't find 'UniJIS-UCS2-H' CMap file for 'Adobe-Japan1' collection");
  pdf_problems_note(pages[3], "error (120): No font in show/space");
  pdf_problems_note(pages[4], "error (12): Illegal character <29> in hex string");
  EXPECT_EQ(pages[0].missing_packs, std::set<std::string>{"Adobe-GB1"});
  EXPECT_EQ(pages[0].dropped_shows, 1);
  EXPECT_EQ(pages[3].missing_packs, std::set<std::string>{"Adobe-Japan1"});
  EXPECT_EQ(pages[4].dropped_shows, 0);
  EXPECT_EQ(pdf_problems_warnings(pages, ""),
            std::vector<std::string>{
                "pages 1-2, 4: text in Adobe-GB1 (simplified Chinese) and Adobe-Japan1 (Japanese) fonts was "
                "dropped: poppler's language packs are missing; install poppler-data (e.g. apt install "
                "poppler-data)"});
  // Text dropped with no missing language pack: a font poppler cannot use for another reason.
  std::vector<pdf_page_problems> broken(3);
  pdf_problems_note(broken[2], "error (5): No font in show");
  EXPECT_EQ(pdf_problems_warnings(broken, ""),
            std::vector<std::string>{
                "page 3: text in a font poppler cannot load was dropped (a damaged or unsupported font)"});
  // Nothing dropped, nothing to say.
  EXPECT_TRUE(pdf_problems_warnings(std::vector<pdf_page_problems>(2), "").empty());
}

TEST(pdf_problems, page_lists) {
  EXPECT_EQ(pdf_page_list({3}), "page 3");
  EXPECT_EQ(pdf_page_list({1, 2}), "pages 1-2");
  EXPECT_EQ(pdf_page_list({1, 2, 3, 7, 9, 10}), "pages 1-3, 7, 9-10");
}

pdf_word word(std::string text, double x0, double y0, double width, double size = 10) {
  return pdf_word{std::move(text), x0, y0, x0 + width, y0 + size * 1.2, size, true};
}

TEST(pdf_layout, words_ordered_into_lines_top_to_bottom_left_to_right) {
  // Given out of order; "b" sits 1pt lower than "a" (a different baseline within tolerance).
  std::vector<pdf_word> words = {word("world", 60, 100, 30), word("second", 10, 114, 40),
                                 word("Hello", 10, 101, 40), word("line", 55, 114, 20)};
  auto lines = pdf_layout_lines(words, 612);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].text, "Hello world");
  EXPECT_EQ(lines[1].text, "second line");
  EXPECT_EQ(lines[0].size, 10);
  EXPECT_EQ(lines[0].chars, 10u);
}

TEST(pdf_layout, running_lines_need_repetition) {
  auto page = [](std::string header, std::string body) {
    pdf_page_lines p;
    p.width = 612, p.height = 792;
    p.lines.push_back(pdf_line{std::move(header), 72, 30, 300, 40, 9, 10});
    p.lines.push_back(pdf_line{std::move(body), 72, 300, 300, 312, 11, 10});
    return p;
  };
  std::vector<pdf_page_lines> one = {page("Report 2024", "Body")};
  pdf_remove_running_lines(one);
  EXPECT_EQ(one[0].lines.size(), 2u);  // a single page proves nothing repeats

  std::vector<pdf_page_lines> three = {page("Report 2024 - 1", "A"), page("Report 2024 - 2", "B"),
                                       page("Different top", "C")};
  pdf_remove_running_lines(three);
  EXPECT_EQ(three[0].lines.size(), 1u);
  EXPECT_EQ(three[1].lines.size(), 1u);
  EXPECT_EQ(three[2].lines.size(), 2u);  // its header differs, so it stays
  EXPECT_EQ(three[2].lines[0].text, "Different top");
}

}  // namespace
}  // namespace smelt
