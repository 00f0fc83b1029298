// Tests for extract/chunk: breadcrumbs, whole tables and code, runt merging, giant splitting,
// overlap, offsets into the rendered text, UTF-8 safety for Chinese, page and slide ranges,
// the size summary and the header line. Documents are built in code with document_add_*.
#include "extract/chunk.h"

#include <gtest/gtest.h>

#include <random>

#include "core/text.h"

namespace smelt {
namespace {

// "Sentence 0 tells about alarms. Sentence 1 tells about alarms. ..." (count sentences).
std::string sentences(size_t count, const std::string& topic = "alarms") {
  std::string out;
  for (size_t i = 0; i < count; ++i)
    out += (i ? " " : "") + ("Sentence " + std::to_string(i) + " tells about " + topic + ".");
  return out;
}

chunk_options options_chars(size_t budget, size_t min_size = 0, size_t overlap = 0) {
  chunk_options o;
  o.budget = budget;
  if (min_size) o.min_size = min_size;  // else the default, budget / 4
  o.overlap = overlap;
  return o;
}

// Every chunk's own text is exactly the rendered text at [begin, end); chunks are in order,
// disjoint, and what lies between them is only whitespace.
void expect_offsets_consistent(const document& doc, const std::vector<chunk>& chunks,
                               const chunk_options& o) {
  std::string rendered = document_render(doc, o.format).text;
  size_t previous_end = 0;
  for (const chunk& c : chunks) {
    ASSERT_LE(c.begin, c.end);
    ASSERT_LE(c.end, rendered.size());
    ASSERT_GE(c.begin, previous_end) << c.id;
    EXPECT_EQ(text_trim(rendered.substr(previous_end, c.begin - previous_end)), "") << c.id;
    EXPECT_EQ(c.text.substr(c.overlap), rendered.substr(c.begin, c.end - c.begin)) << c.id;
    EXPECT_EQ(c.size, chunk_measure(c.text, o)) << c.id;
    previous_end = c.end;
  }
  EXPECT_EQ(text_trim(rendered.substr(previous_end)), "");
}

TEST(chunk, breadcrumbs_follow_the_heading_tree) {
  document doc;
  document_add_paragraph(doc, "Preamble before any heading.");
  document_add_heading(doc, 1, "Guide");
  document_add_heading(doc, 2, "Install");
  document_add_paragraph(doc, "Run the installer.");
  document_add_heading(doc, 3, "Linux");
  document_add_paragraph(doc, "Use the package.");
  document_add_heading(doc, 2, "Use");
  document_add_paragraph(doc, "Press the button.");
  document_add_heading(doc, 1, "Appendix");
  document_add_paragraph(doc, "Extra notes.");
  chunk_options o = options_chars(1000, 1);  // min_size 1: no runt merging
  auto chunks = chunk_document(doc, o);
  ASSERT_EQ(chunks.size(), 5u);
  EXPECT_TRUE(chunks[0].breadcrumb.empty());
  EXPECT_EQ(chunks[0].text, "Preamble before any heading.");
  // A heading with nothing under it travels with the next heading.
  EXPECT_EQ(chunks[1].breadcrumb, (std::vector<std::string>{"Guide", "Install"}));
  EXPECT_EQ(chunks[1].text, "# Guide\n\n## Install\n\nRun the installer.");
  EXPECT_EQ(chunks[2].breadcrumb, (std::vector<std::string>{"Guide", "Install", "Linux"}));
  EXPECT_EQ(chunks[2].text, "### Linux\n\nUse the package.");
  EXPECT_EQ(chunks[3].breadcrumb, (std::vector<std::string>{"Guide", "Use"}));
  EXPECT_EQ(chunks[4].breadcrumb, (std::vector<std::string>{"Appendix"}));
  EXPECT_EQ(chunks[4].text, "# Appendix\n\nExtra notes.");
  EXPECT_EQ(chunks[3].id, "c0003");
  EXPECT_EQ(chunks[3].index, 3u);
  expect_offsets_consistent(doc, chunks, o);
}

TEST(chunk, tables_and_code_are_never_split) {
  document doc;
  document_add_heading(doc, 1, "Data");
  document_add_paragraph(doc, sentences(3));
  std::vector<std::vector<std::string>> rows = {{"Device", "Interval", "Notes"}};
  for (int i = 0; i < 40; ++i)
    rows.push_back({"detector " + std::to_string(i), "12 months", "check the battery"});
  document_add_table(doc, rows);
  std::string code;
  for (int i = 0; i < 30; ++i) code += "alarm_test(" + std::to_string(i) + ");  // run the self test\n";
  document_add_code(doc, code, "cpp");
  document_add_paragraph(doc, sentences(2, "exits"));
  chunk_options o = options_chars(300);
  auto chunks = chunk_document(doc, o);
  std::string table_md = table_to_markdown(rows);
  std::string code_md = "```cpp\n" + code.substr(0, code.size() - 1) + "\n```";
  int table_hits = 0, code_hits = 0;
  for (const chunk& c : chunks) {
    bool has_table = c.text.find(table_md) != std::string::npos;
    bool has_code = c.text.find(code_md) != std::string::npos;
    table_hits += has_table;
    code_hits += has_code;
    if (has_table || has_code) {
      EXPECT_TRUE(c.oversize) << c.id;
    }
    if (!has_table && !has_code) {
      EXPECT_LE(c.size, 300u) << c.id;
    }
    // No chunk holds a fragment of the table or code without all of it.
    if (!has_table) {
      EXPECT_EQ(c.text.find("| detector"), std::string::npos) << c.id;
    }
    if (!has_code) {
      EXPECT_EQ(c.text.find("alarm_test("), std::string::npos) << c.id;
    }
  }
  EXPECT_EQ(table_hits, 1);
  EXPECT_EQ(code_hits, 1);
  EXPECT_EQ(chunk_summarize(chunks).oversize, 2u);
  expect_offsets_consistent(doc, chunks, o);
}

TEST(chunk, heading_stays_with_an_oversize_table) {
  document doc;
  document_add_heading(doc, 2, "Inventory");
  std::vector<std::vector<std::string>> rows = {{"Item", "Count"}};
  for (int i = 0; i < 20; ++i) rows.push_back({"extinguisher " + std::to_string(i), "4"});
  document_add_table(doc, rows);
  auto chunks = chunk_document(doc, options_chars(100));
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].text, "## Inventory\n\n" + table_to_markdown(rows));
  EXPECT_EQ(chunks[0].breadcrumb, std::vector<std::string>{"Inventory"});
}

TEST(chunk, runts_merge_with_siblings) {
  document doc;
  document_add_heading(doc, 1, "Alarms");
  document_add_heading(doc, 2, "Smoke");
  document_add_paragraph(doc, "Test monthly.");
  document_add_heading(doc, 2, "Heat");
  document_add_paragraph(doc, "Test yearly.");
  document_add_heading(doc, 2, "Gas");
  document_add_paragraph(doc, sentences(12));  // ~420 chars
  chunk_options o = options_chars(1000);       // runts: < 250
  auto chunks = chunk_document(doc, o);
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].breadcrumb, std::vector<std::string>{"Alarms"});
  EXPECT_TRUE(text_starts_with(chunks[0].text,
                               "# Alarms\n\n## Smoke\n\nTest monthly.\n\n## Heat\n\nTest yearly.\n\n## Gas"));
  expect_offsets_consistent(doc, chunks, o);
}

TEST(chunk, runts_stay_inside_their_parent_section) {
  document doc;
  document_add_heading(doc, 1, "A");
  document_add_heading(doc, 2, "A1");
  document_add_paragraph(doc, sentences(20));  // ~700 chars
  document_add_heading(doc, 2, "A2");
  document_add_paragraph(doc, "Tiny.");
  document_add_heading(doc, 1, "B");
  document_add_paragraph(doc, sentences(20, "exits"));
  chunk_options o = options_chars(1000);
  auto chunks = chunk_document(doc, o);
  ASSERT_EQ(chunks.size(), 2u);
  // A2's runt joins its sibling A1 (same parent A), not the following top-level section B.
  EXPECT_EQ(chunks[0].breadcrumb, std::vector<std::string>{"A"});
  EXPECT_TRUE(text_ends_with(chunks[0].text, "## A2\n\nTiny.")) << chunks[0].text;
  EXPECT_EQ(chunks[1].breadcrumb, std::vector<std::string>{"B"});
  EXPECT_TRUE(text_starts_with(chunks[1].text, "# B\n\n"));
  expect_offsets_consistent(doc, chunks, o);
}

TEST(chunk, giant_paragraph_splits_at_sentences_within_budget) {
  document doc;
  document_add_heading(doc, 1, "Long");
  std::string para = sentences(150);  // ~5300 chars
  document_add_paragraph(doc, para);
  chunk_options o = options_chars(500);
  auto chunks = chunk_document(doc, o);
  ASSERT_GE(chunks.size(), 10u);
  std::string joined;
  for (const chunk& c : chunks) {
    EXPECT_LE(c.size, 500u) << c.id;
    EXPECT_FALSE(c.oversize);
    EXPECT_TRUE(text_ends_with(c.text, ".")) << c.id << ": " << c.text;
    EXPECT_EQ(c.breadcrumb, std::vector<std::string>{"Long"});
    joined += (joined.empty() ? "" : " ") + c.text;
  }
  EXPECT_EQ(joined, "# Long\n\n" + para);
  // Filled, not shredded: all but the last chunk use most of the budget.
  for (size_t i = 0; i + 1 < chunks.size(); ++i) EXPECT_GT(chunks[i].size, 450u) << chunks[i].id;
  expect_offsets_consistent(doc, chunks, o);
}

TEST(chunk, sentence_longer_than_budget_splits_at_words) {
  document doc;
  std::string para;
  for (int i = 0; i < 200; ++i) para += (i ? " word" : "word") + std::to_string(i);
  document_add_paragraph(doc, para);
  chunk_options o = options_chars(100);
  auto chunks = chunk_document(doc, o);
  std::string joined;
  for (const chunk& c : chunks) {
    EXPECT_LE(c.size, 100u);
    EXPECT_TRUE(text_starts_with(c.text, "word")) << c.text;
    EXPECT_NE(c.text.back(), ' ');
    joined += (joined.empty() ? "" : " ") + c.text;
  }
  EXPECT_EQ(joined, para);
  expect_offsets_consistent(doc, chunks, o);
}

TEST(chunk, overlap_repeats_whole_sentences_within_a_section) {
  document doc;
  document_add_heading(doc, 1, "One");
  document_add_paragraph(doc, sentences(60));
  document_add_heading(doc, 1, "Two");
  document_add_paragraph(doc, sentences(60, "exits"));
  chunk_options o = options_chars(400, 0, 80);
  auto chunks = chunk_document(doc, o);
  ASSERT_GE(chunks.size(), 8u);
  size_t with_overlap = 0;
  for (size_t k = 0; k < chunks.size(); ++k) {
    const chunk& c = chunks[k];
    EXPECT_LE(c.size, 400u) << c.id;
    if (text_starts_with(c.text, "# ")) {
      EXPECT_EQ(c.overlap, 0u) << c.id;  // a new section starts fresh
      continue;
    }
    ASSERT_GT(c.overlap, 1u) << c.id;
    ++with_overlap;
    // prefix = tail of the previous chunk's own text + one space (same paragraph continues)
    std::string tail = c.text.substr(0, c.overlap - 1);
    EXPECT_EQ(c.text[c.overlap - 1], ' ');
    const chunk& prev = chunks[k - 1];
    std::string prev_own = prev.text.substr(prev.overlap);
    EXPECT_TRUE(text_ends_with(prev_own, tail)) << c.id;
    EXPECT_LE(utf8_length(tail), 80u);
    EXPECT_TRUE(text_starts_with(tail, "Sentence ")) << tail;  // whole sentences
    EXPECT_EQ(prev_own[prev_own.size() - tail.size() - 1], ' ');
  }
  EXPECT_GE(with_overlap, 6u);
  expect_offsets_consistent(doc, chunks, o);
}

TEST(chunk, overlap_never_pushes_a_table_over_the_budget) {
  document doc;
  document_add_paragraph(doc, sentences(3));  // 92 chars
  std::vector<std::vector<std::string>> rows = {{"Device", "Interval"}};
  for (int i = 0; i < 4; ++i) rows.push_back({"detector " + std::to_string(i), "monthly"});
  document_add_table(doc, rows);  // 146 chars
  std::vector<std::vector<std::string>> big = rows;
  for (int i = 0; i < 10; ++i) big.push_back({"sprinkler " + std::to_string(i), "yearly"});
  document_add_paragraph(doc, "Between tables.");
  document_add_table(doc, big);
  chunk_options o = options_chars(200, 1, 60);
  auto chunks = chunk_document(doc, o);
  ASSERT_EQ(chunks.size(), 4u);
  EXPECT_EQ(chunks[1].text.substr(chunks[1].overlap), table_to_markdown(rows));
  EXPECT_GT(chunks[1].overlap, 0u);  // 52 chars of room left: "Sentence 2 tells about alarms.\n\n"
  EXPECT_EQ(chunks[1].text.substr(0, chunks[1].overlap), "Sentence 2 tells about alarms.\n\n");
  EXPECT_LE(chunks[1].size, 200u);
  EXPECT_TRUE(chunks[3].oversize);
  EXPECT_EQ(chunks[3].overlap, 0u);  // already over the budget: nothing added
  expect_offsets_consistent(doc, chunks, o);
}

TEST(chunk, chinese_text_splits_after_full_stops_and_stays_valid_utf8) {
  document doc;
  document_add_heading(doc, 1, "消防安全");
  const std::string sentence = "火灾报警器应每月测试一次，并记录结果。";  // 19 chars
  std::string para;
  for (int i = 0; i < 40; ++i) para += sentence;
  document_add_paragraph(doc, para);
  std::string unbroken;
  for (int i = 0; i < 300; ++i) unbroken += "灭火器";
  document_add_paragraph(doc, unbroken);
  chunk_options o = options_chars(100);
  auto chunks = chunk_document(doc, o);
  ASSERT_GE(chunks.size(), 17u);
  for (const chunk& c : chunks) {
    EXPECT_TRUE(utf8_is_valid(c.text)) << c.id;
    EXPECT_LE(c.size, 100u) << c.id;
    EXPECT_EQ(c.breadcrumb, std::vector<std::string>{"消防安全"});
    // Sentences are never cut: removing whole sentences leaves none of their words.
    std::string rest = text_replace_all(c.text, sentence, "");
    EXPECT_EQ(rest.find("报警"), std::string::npos) << c.text;
    EXPECT_EQ(rest.find("记录"), std::string::npos) << c.text;
  }
  expect_offsets_consistent(doc, chunks, o);

  chunk_options tokens = o;
  tokens.unit = chunk_unit::tokens;
  tokens.overlap = 20;
  auto token_chunks = chunk_document(doc, tokens);
  for (const chunk& c : token_chunks) {
    EXPECT_TRUE(utf8_is_valid(c.text)) << c.id;
    EXPECT_LE(c.size, 100u) << c.id;
  }
  expect_offsets_consistent(doc, token_chunks, tokens);
}

TEST(chunk, page_ranges_and_slide_anchors) {
  document doc;
  document_add_anchor(doc, anchor_kind::page, 1);
  document_add_heading(doc, 1, "Intro");
  document_add_paragraph(doc, sentences(5));
  document_add_anchor(doc, anchor_kind::page, 2);
  document_add_paragraph(doc, sentences(5, "exits"));
  document_add_anchor(doc, anchor_kind::page, 3);
  document_add_heading(doc, 1, "Rules");
  document_add_paragraph(doc, sentences(5, "doors"));
  chunk_options o = options_chars(1000, 1);
  auto chunks = chunk_document(doc, o);
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0].page_first, 1);
  EXPECT_EQ(chunks[0].page_last, 2);
  EXPECT_EQ(chunks[1].page_first, 3);
  EXPECT_EQ(chunks[1].page_last, 3);
  EXPECT_EQ(chunk_header(chunks[0], o),
            "<!-- chunk c0000 | Intro | pages 1-2 | " + std::to_string(chunks[0].size) + " chars -->");

  document slides;
  document_add_anchor(slides, anchor_kind::slide, 1);
  document_add_heading(slides, 1, "Welcome");
  document_add_paragraph(slides, "Hello.");
  document_add_anchor(slides, anchor_kind::slide, 2);
  document_add_paragraph(slides, "Untitled slide text.");
  auto slide_chunks = chunk_document(slides, options_chars(1000, 1));
  ASSERT_EQ(slide_chunks.size(), 2u);  // a slide starts a new chunk
  EXPECT_EQ(slide_chunks[1].anchor_kind, "slide");
  EXPECT_EQ(slide_chunks[1].anchor_first, 2);
  EXPECT_EQ(slide_chunks[1].text, "Untitled slide text.");
  EXPECT_EQ(slide_chunks[0].page_first, 0);
  // With runt merging on, both small slides share a chunk whose anchor range says so.
  auto merged = chunk_document(slides, options_chars(1000));
  ASSERT_EQ(merged.size(), 1u);
  EXPECT_EQ(merged[0].anchor_first, 1);
  EXPECT_EQ(merged[0].anchor_last, 2);
  EXPECT_EQ(chunk_header(merged[0], options_chars(1000)),
            "<!-- chunk c0000 | Welcome | slide 1-2 | " + std::to_string(merged[0].size) + " chars -->");
}

// Random documents (fixed seed): every chunk keeps the invariants whatever the options.
TEST(chunk, random_documents_keep_the_invariants) {
  std::mt19937 rng(12345);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  const std::vector<std::string> words = {"alarm",  "door",  "exit", "火灾",
                                          "报警器", "water", "测试", "stairs"};
  auto text = [&](size_t sentence_count) {
    std::string out;
    for (size_t i = 0; i < sentence_count; ++i) {
      size_t n = 1 + pick(30);
      for (size_t w = 0; w < n; ++w) out += (w && pick(3) ? " " : "") + words[pick(words.size())];
      out += pick(2) ? ". " : "。";
    }
    return out;
  };
  for (int round = 0; round < 200; ++round) {
    document doc;
    int page = 0;
    size_t blocks = 1 + pick(40);
    for (size_t b = 0; b < blocks; ++b) {
      if (pick(6) == 0) document_add_anchor(doc, anchor_kind::page, ++page);
      switch (pick(6)) {
        case 0:
          document_add_heading(doc, 1 + static_cast<int>(pick(4)), text(1));
          break;
        case 1:
          document_add_list_item(doc, static_cast<int>(pick(3)), pick(2), text(1 + pick(3)));
          break;
        case 2:
          document_add_table(doc, {{"a", "b"}, {text(1), text(1)}});
          break;
        case 3:
          document_add_code(doc, text(2 + pick(3)), "sh");
          break;
        default:
          document_add_paragraph(doc, text(1 + pick(40)));
          break;
      }
    }
    chunk_options o;
    o.budget = 20 + pick(400);
    o.overlap = pick(3) ? 0 : pick(o.budget / 2);
    o.unit = pick(2) ? chunk_unit::tokens : chunk_unit::chars;
    if (pick(2)) o.format = render_format::text;
    SCOPED_TRACE(::testing::Message() << "round " << round << " budget " << o.budget << " overlap "
                                      << o.overlap << " unit " << chunk_unit_name(o.unit));
    auto chunks = chunk_document(doc, o);
    expect_offsets_consistent(doc, chunks, o);
    rendered_document r = document_render(doc, o.format);
    for (const chunk& c : chunks) {
      EXPECT_TRUE(utf8_is_valid(c.text)) << c.id;
      EXPECT_EQ(c.oversize, c.size > o.budget);
      bool holds_atomic = false;
      for (size_t i = 0; i < doc.blocks.size(); ++i) {
        block_kind kind = doc.blocks[i].kind;
        bool atomic = kind == block_kind::table || kind == block_kind::code || kind == block_kind::heading;
        if (!atomic) continue;
        const block_span& s = r.spans[i];
        bool inside = s.begin >= c.begin && s.end <= c.end;
        bool touches = s.begin < c.end && c.begin < s.end;
        EXPECT_EQ(inside, touches) << c.id << ": block " << i << " is split";
        holds_atomic |= inside;
      }
      if (c.oversize) {
        EXPECT_TRUE(holds_atomic) << c.id << " is over the budget:\n" << c.text;
      }
      if (page) {
        EXPECT_LE(c.page_first, c.page_last);
      }
    }
  }
}

TEST(chunk, custom_token_counter_sets_the_budget) {
  document doc;
  document_add_paragraph(doc, sentences(100));
  chunk_options o;
  o.unit = chunk_unit::tokens;
  o.budget = 50;
  o.count_tokens = [](std::string_view s) {  // one token per space-separated word
    size_t n = 0;
    bool in_word = false;
    for (char ch : s) {
      bool space = ch == ' ' || ch == '\n';
      if (!space && !in_word) ++n;
      in_word = !space;
    }
    return n;
  };
  auto chunks = chunk_document(doc, o);
  ASSERT_EQ(chunks.size(), 10u);  // 100 sentences x 5 words / 50
  for (const chunk& c : chunks) {
    EXPECT_EQ(c.size, 50u) << c.id;
    EXPECT_TRUE(text_ends_with(c.text, ".")) << c.id;
  }
  expect_offsets_consistent(doc, chunks, o);
}

TEST(chunk, token_estimate) {
  EXPECT_EQ(chunk_estimate_tokens(""), 0u);
  EXPECT_EQ(chunk_estimate_tokens("abcdefgh"), 2u);
  EXPECT_EQ(chunk_estimate_tokens("abcde"), 2u);
  EXPECT_EQ(chunk_estimate_tokens("火灾报警"), 4u);
  EXPECT_EQ(chunk_estimate_tokens("火灾 alarm。"), 5u);  // 3 CJK + ceil(6 / 4)
}

TEST(chunk, summary_and_empty_document) {
  EXPECT_TRUE(chunk_document(document{}, chunk_options{}).empty());
  std::vector<chunk> chunks(10);
  size_t sizes[] = {50, 10, 20, 30, 40, 60, 70, 80, 90, 2000};
  for (size_t i = 0; i < 10; ++i) chunks[i].size = sizes[i], chunks[i].oversize = sizes[i] > 1500;
  chunk_summary s = chunk_summarize(chunks);
  EXPECT_EQ(s.count, 10u);
  EXPECT_EQ(s.min, 10u);
  EXPECT_EQ(s.median, 50u);
  EXPECT_EQ(s.p90, 90u);
  EXPECT_EQ(s.max, 2000u);
  EXPECT_DOUBLE_EQ(s.mean, 245.0);
  EXPECT_EQ(s.oversize, 1u);
  EXPECT_EQ(chunk_summary_format(s, chunk_options{}),
            "10 chunks (chars): min 10, median 50, mean 245.0, p90 90, max 2000; 1 over the 1500 budget "
            "(tables, code blocks and headings are kept whole)");
  EXPECT_EQ(chunk_summary_format(chunk_summarize({}), chunk_options{}), "0 chunks (chars)");
}

TEST(chunk, json_has_every_field) {
  document doc;
  document_add_heading(doc, 1, "Top");
  document_add_paragraph(doc, "Body.");
  chunk_options o;
  auto chunks = chunk_document(doc, o);
  ASSERT_EQ(chunks.size(), 1u);
  nlohmann::json j = chunk_to_json(chunks[0], o);
  EXPECT_EQ(j["id"], "c0000");
  EXPECT_EQ(j["breadcrumb"], nlohmann::json::array({"Top"}));
  EXPECT_EQ(j["text"], "# Top\n\nBody.");
  EXPECT_EQ(j["begin"], 0);
  EXPECT_EQ(j["end"], 12);
  EXPECT_EQ(j["size"], 12);
  EXPECT_EQ(j["unit"], "chars");
  EXPECT_EQ(j["overlap"], 0);
  EXPECT_EQ(j["page_first"], 0);
  EXPECT_EQ(j["oversize"], false);
  EXPECT_TRUE(j.contains("anchor_kind"));
}

}  // namespace
}  // namespace smelt
