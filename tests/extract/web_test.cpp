// Text-family extraction on documents made by tests/tools/gen_web.mjs: HTML (chrome dropped,
// entities, lists, tables, code, GBK), EPUB spine order and chapter anchors, Markdown, TXT in four
// encodings, CSV quoting and sniffing, EML with encoded headers and attachments, and the errors
// for binary, empty and broken files. Expected Markdown is compared exactly.
#include <gtest/gtest.h>

#include "extract/encoding.h"
#include "extract/extract.h"
#include "extract/html_blocks.h"
#include "support/test_support.h"

namespace smelt {
namespace {

using test::testdata;

std::string markdown_of(const std::string& file) {
  auto doc = extract_file(testdata("web/" + file));
  if (!doc.ok()) return "ERROR: " + doc.message();
  return document_render(*doc, render_format::markdown).text;
}

std::string error_of(const std::string& file) {
  auto doc = extract_file(testdata("web/" + file));
  return doc.ok() ? "no error" : doc.message();
}

struct expected_anchor {
  anchor_kind kind;
  int number;
  std::string label;
  size_t block;
};

void expect_anchors(const document& doc, const std::vector<expected_anchor>& expected) {
  ASSERT_EQ(doc.anchors.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(doc.anchors[i].kind, expected[i].kind) << i;
    EXPECT_EQ(doc.anchors[i].number, expected[i].number) << i;
    EXPECT_EQ(doc.anchors[i].label, expected[i].label) << i;
    EXPECT_EQ(doc.anchors[i].block, expected[i].block) << i;
  }
}

TEST(web_html, main_content_without_chrome) {
  EXPECT_EQ(markdown_of("page.html"),
            "# Guide to Smelting\n\n"
            "Tom & Jerry's caf\u00e9 costs <5> \u20ac \u4e2d\u6587 text. Second line in the same paragraph.\n"
            "After a break.\n\n"
            "## Steps\n\n"
            "1. Heat the ore\n"
            "  - slowly\n"
            "  - evenly\n"
            "1. Pour the metal\n\n"
            "Unclosed paragraph one\n\n"
            "Unclosed paragraph two\n\n"
            "### Table\n\n"
            "Metals\n\n"
            "| Metal | Melting point | Note |\n"
            "| --- | --- | --- |\n"
            "| Iron | 1538 \u00b0C | common |\n"
            "| Tin | 232 \u00b0C | 232 \u00b0C |\n\n"
            "```python\n"
            "def melt(x):\n"
            "    return x < 2\n"
            "```\n\n"
            "\u4e2d\u6587\u6bb5\u843d\uff1a\u94c1\u7684\u7194\u70b9\u5f88\u9ad8\u3002\n\n"
            "cdata text and end.\n");
}

TEST(web_html, list_items_and_table_are_structured) {
  auto doc = extract_file(testdata("web/page.html"));
  ASSERT_TRUE(doc.ok()) << doc.message();
  const block& first_item = doc->blocks[3];
  EXPECT_EQ(first_item.kind, block_kind::list_item);
  EXPECT_TRUE(first_item.ordered);
  EXPECT_EQ(first_item.level, 0);
  EXPECT_EQ(doc->blocks[4].level, 1);
  EXPECT_FALSE(doc->blocks[4].ordered);
  const block& table = doc->blocks[11];
  ASSERT_EQ(table.kind, block_kind::table);
  EXPECT_EQ(table.rows, (std::vector<std::vector<std::string>>{{"Metal", "Melting point", "Note"},
                                                               {"Iron", "1538 \u00b0C", "common"},
                                                               {"Tin", "232 \u00b0C", "232 \u00b0C"}}));
  EXPECT_EQ(doc->blocks[12].kind, block_kind::code);
  EXPECT_EQ(doc->blocks[12].language, "python");
}

TEST(web_html, articles_when_no_main_and_title_fallback) {
  EXPECT_EQ(markdown_of("articles.html"), "## First post\n\nBody one.\n\n## Second post\n\nBody two.\n");
  EXPECT_EQ(markdown_of("untitled.html"), "# Only \"title\"\n\nJust a div and span\n");
}

TEST(web_html, declared_gbk_charset) {
  EXPECT_EQ(markdown_of("page_gbk.html"),
            "# \u7b80\u4f53\u4e2d\u6587\u9875\u9762\n\n\u7f16\u7801\u662f\u56fd\u6807\u3002\n");
}

TEST(web_html, tokenizer_edge_cases) {
  document doc;
  html_to_document("<p>a<!-- unterminated", doc);
  html_to_document("<p title='x>y'>q&unknown; &#0; &#x110000; &#65</p><p>< not a tag</p><script>never", doc);
  html_to_document("<table><tr><td>1<td>2<tr><td>3</table><pre>\nline\n  indented</pre>", doc);
  EXPECT_EQ(document_render(doc, render_format::markdown).text,
            "a\n\nq&unknown; \ufffd \ufffd A\n\n< not a tag\n\n| 1 | 2 |\n| --- | --- |\n| 3 |  |\n\n"
            "```\nline\n  indented\n```\n");
  EXPECT_EQ(html_decode_entities("&lt;&gt;&amp;&quot;&apos;&nbsp;&#x4e2d;&#20013;"),
            "<>&\"'\u00a0\u4e2d\u4e2d");
  EXPECT_EQ(html_declared_charset("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><html>"), "iso-8859-1");
  EXPECT_EQ(html_declared_charset("<html><head><META CHARSET=\"Shift_JIS\">"), "shift_jis");
  EXPECT_EQ(html_declared_charset("<html><body>charset=utf-8</body>"), "");
}

TEST(web_epub, spine_order_and_chapter_anchors) {
  auto doc = extract_file(testdata("web/book.epub"));
  ASSERT_TRUE(doc.ok()) << doc.message();
  EXPECT_EQ(document_render(*doc, render_format::markdown).text,
            "# Chapter One\n\nIt was a dark night.\n\nThe end of one.\n\n"
            "## \u7b2c\u4e8c\u7ae0\n\n\u4e2d\u6587\u5185\u5bb9\u3002\n\n- alpha\n- beta\n\n"
            "No heading here, only text.\n");
  expect_anchors(*doc, {{anchor_kind::chapter, 1, "Chapter One", 0},
                        {anchor_kind::chapter, 2, "\u7b2c\u4e8c\u7ae0", 3},
                        {anchor_kind::chapter, 3, "Epilogue title", 7}});
  EXPECT_EQ(doc->format, "epub");
}

TEST(web_epub, broken_containers) {
  std::string dir = testdata("web").string();
  EXPECT_EQ(error_of("broken.epub"),
            dir + "/broken.epub: corrupt or truncated ZIP container (Not a zip archive)");
  EXPECT_EQ(error_of("no_container.epub"),
            dir + "/no_container.epub: not an EPUB: META-INF/container.xml is missing");
}

TEST(web_markdown, blocks_and_inline_markup) {
  EXPECT_EQ(markdown_of("notes.md"),
            "# Markdown Guide\n\n"
            "Intro paragraph with bold, emphasis, code and a link. It continues on a second line; "
            "snake_case_name stays.\n\n"
            "# Setext Heading\n\n"
            "## Sub heading\n\n"
            "- apple\n- banana\n  - yellow\n  - long continued item\n- cherry\n1. first\n1. second\n\n"
            "| Name | Qty |\n| --- | --- |\n| a \\| b | 1 |\n| img | 2 |\n\n"
            "```js\nconst x = 1;\n\nconsole.log(x);\n```\n\n"
            "```\ntilde fence\n```\n\n"
            "A quote over two lines.\n\n"
            "```\nindented code\n```\n\n"
            "\u4e2d\u6587\u7b2c\u4e00\u884c\u4e2d\u6587\u7b2c\u4e8c\u884c\n");
  auto doc = extract_file(testdata("web/notes.md"));
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ(doc->blocks[6].text, "yellow");
  EXPECT_EQ(doc->blocks[6].level, 1);
  EXPECT_TRUE(doc->blocks[9].ordered);
  EXPECT_EQ(doc->blocks[9].text, "first");
  EXPECT_EQ(doc->blocks[9].level, 0);
}

TEST(web_txt, four_encodings_give_the_same_text) {
  const std::string expected =
      "\u7b2c\u4e00\u6bb5\uff1a\u4f60\u597d\uff0c\u4e16\u754c\u3002\nHello line two.\n\n"
      "\u7b2c\u4e8c\u6bb5 second paragraph.\n";
  for (const char* file : {"utf8.txt", "utf8_bom.txt", "utf16le.txt", "utf16be.txt", "gb18030.txt"})
    EXPECT_EQ(markdown_of(file), expected) << file;
}

TEST(web_txt, binary_and_empty_files_are_errors) {
  std::string dir = testdata("web").string();
  EXPECT_EQ(error_of("garbage.txt"), dir + "/garbage.txt: binary data, not text (contains NUL bytes)");
  EXPECT_EQ(
      error_of("garbage_no_nul.txt"),
      dir + "/garbage_no_nul.txt: binary data, not text (invalid UTF-8 at byte 6 and not GB18030 either)");
  EXPECT_EQ(error_of("controls.txt"), dir + "/controls.txt: binary data, not text (control characters)");
  EXPECT_EQ(error_of("empty.txt"), dir + "/empty.txt: empty file (0 bytes)");
}

TEST(web_txt, cli_reports_binary_file_and_fails) {
  auto run = test::run_smelt("extract '" + testdata("web/garbage.txt").string() + "'");
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.err.find("garbage.txt: binary data, not text"), std::string::npos) << run.err;
  EXPECT_EQ(run.out, "");
}

TEST(web_encoding, decode_rules) {
  auto latin = encoding_decode("caf\xE9", "x.txt", "windows-1252");
  ASSERT_TRUE(latin.ok());
  EXPECT_EQ(latin->utf8, "caf\u00e9");
  // Valid non-ASCII UTF-8 wins over a (wrong) declaration.
  auto wrong = encoding_decode("\u4e2d", "x.txt", "iso-8859-1");
  ASSERT_TRUE(wrong.ok());
  EXPECT_EQ(wrong->utf8, "\u4e2d");
  EXPECT_EQ(wrong->encoding, "UTF-8");
  // An undecodable declaration falls back to detection.
  auto shift = encoding_decode("\xD6\xD0\xCE\xC4", "x.txt", "utf-16-no-such");
  ASSERT_TRUE(shift.ok());
  EXPECT_EQ(shift->encoding, "GB18030");
  auto iso2022 = encoding_decode("\x1b$B$3$s\x1b(B", "j.txt", "ISO-2022-JP");
  ASSERT_TRUE(iso2022.ok());
  EXPECT_EQ(iso2022->utf8, "\u3053\u3093");
  auto gb = encoding_decode("\xD6\xD0\xCE\xC4", "x.txt");
  ASSERT_TRUE(gb.ok());
  EXPECT_EQ(gb->utf8, "\u4e2d\u6587");
  EXPECT_EQ(gb->encoding, "GB18030");
  auto odd = encoding_decode(std::string("\xFF\xFE\x41", 3), "odd.txt");
  ASSERT_FALSE(odd.ok());
  EXPECT_EQ(odd.message(), "odd.txt: truncated UTF-16LE sequence at byte 0");
  auto unknown = encoding_convert("abc", "no-such-charset", "u.txt");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.message(), "u.txt: unknown character set 'no-such-charset'");
}

TEST(web_csv, quoting_and_sniffing) {
  auto doc = extract_file(testdata("web/data.csv"));
  ASSERT_TRUE(doc.ok()) << doc.message();
  ASSERT_EQ(doc->blocks.size(), 1u);
  EXPECT_EQ(doc->blocks[0].rows,
            (std::vector<std::vector<std::string>>{{"id", "name", "comment"},
                                                   {"1", "Smith, John", "said \"hi\"\nthen left"},
                                                   {"2", "\u738b\u4e94", "plain"}}));
  expect_anchors(*doc, {{anchor_kind::sheet, 1, "data", 0}});
  EXPECT_EQ(markdown_of("semicolon.csv"),
            "| \u4ea7\u54c1 | \u4ef7\u683c | \u5907\u6ce8 |\n| --- | --- | --- |\n"
            "| \u82f9\u679c | 3,5 | \u65b0\u9c9c; \u597d |\n| \u68a8 | 4,0 |  |\n");
  EXPECT_EQ(markdown_of("data.tsv"), "| a | b |\n| --- | --- |\n| 1 | 2 |\n");
  EXPECT_EQ(error_of("unclosed.csv"),
            testdata("web").string() + "/unclosed.csv:2: quoted field is never closed");
}

TEST(web_eml, headers_body_and_attachments) {
  auto doc = extract_file(testdata("web/mail.eml"));
  ASSERT_TRUE(doc.ok()) << doc.message();
  EXPECT_EQ(document_render(*doc, render_format::markdown).text,
            "# \u5b63\u5ea6\u62a5\u544a Quarterly report\n\n"
            "From: \u5f20\u4e09 <zhang@example.com>\n"
            "To: li@example.com, Bob <bob@example.com>\n"
            "Cc: carol@example.com\n"
            "Date: Tue, 05 Mar 2024 10:20:30 +0000\n\n"
            "\u4f60\u597d\uff0c\n\n"
            "\u8bf7\u67e5\u770b\u9644\u4ef6\u4e2d\u7684\u62a5\u544a\u3002\nSee the attached report.\n\n"
            "## Attachment: \u6570\u636e.csv\n\n"
            "| name | value |\n| --- | --- |\n| x, y | 1 |\n| z | 2 |\n\n"
            "## Attachment: notes.txt\n\n"
            "Plain attachment text.\n");
  ASSERT_EQ(doc->anchors.size(), 3u);
  EXPECT_EQ(doc->anchors[0].kind, anchor_kind::attachment);
  EXPECT_EQ(doc->anchors[0].label, "\u6570\u636e.csv");
  EXPECT_EQ(doc->anchors[0].block, 4u);
  EXPECT_EQ(doc->blocks[4].text, "Attachment: \u6570\u636e.csv");
  EXPECT_EQ(doc->anchors[1].kind, anchor_kind::sheet);
  EXPECT_EQ(doc->anchors[2].kind, anchor_kind::attachment);
  EXPECT_EQ(doc->anchors[2].number, 2);
  EXPECT_EQ(doc->anchors[2].label, "notes.txt");
  EXPECT_EQ(doc->warnings,
            std::vector<std::string>{
                "attachment 'archive.bin' (application/octet-stream) skipped: unsupported type"});
}

TEST(web_eml, not_an_email) {
  auto doc = extract_bytes("just some words\nand more\n", "fake.eml", "eml");
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.message(), "fake.eml: not an e-mail message (no From/To/Subject/Date header)");
}

TEST(web_eml, encoded_words_and_qp_html_fallback) {
  std::string mail =
      "Subject: =?gb2312?B?1tDOxA==?= =?ISO-8859-1?Q?caf=E9?= plain\r\n"
      "From: a@b.c\r\n"
      "Content-Type: multipart/alternative; boundary=XYZ\r\n\r\n"
      "preamble\r\n--XYZ\r\nContent-Type: text/html; charset=iso-8859-1\r\n"
      "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
      "<p>Soft=\r\n break caf=E9</p>\r\n--XYZ--\r\n";
  auto doc = extract_bytes(mail, "m.eml", "eml");
  ASSERT_TRUE(doc.ok()) << doc.message();
  EXPECT_EQ(document_render(*doc, render_format::markdown).text,
            "# \u4e2d\u6587caf\u00e9 plain\n\nFrom: a@b.c\n\nSoft break caf\u00e9\n");
}

}  // namespace
}  // namespace smelt
