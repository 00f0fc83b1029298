// Structure-aware chunking: document -> chunks that follow its headings, each with a heading
// breadcrumb, byte offsets into the rendered document, and page/slide/sheet provenance.
// Tables, code blocks and headings are never split; giant paragraphs and list items are split
// at sentence boundaries.
// Sizes are measured in characters (code points) or tokens; real tokenizers are supplied by the
// caller (count_tokens), this file only carries an approximate estimator.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "extract/document.h"

namespace smelt {

enum class chunk_unit { chars, tokens };

struct chunk_options {
  size_t budget = 1500;                 // target maximum size of a chunk, in `unit`
  chunk_unit unit = chunk_unit::chars;  // chars = Unicode code points
  size_t overlap = 0;                   // units of the previous chunk repeated (same section only);
                                        // clamped to budget / 2
  std::optional<size_t> min_size;       // runt threshold; unset = budget / 4
  // Token counter for chunk_unit::tokens; when empty, chunk_estimate_tokens is used.
  // Must be (roughly) monotone: a longer text never counts fewer tokens.
  std::function<size_t(std::string_view)> count_tokens;
  render_format format = render_format::markdown;  // rendering the text and offsets refer to
};

struct chunk {
  size_t index = 0;
  std::string id;                       // "c0007": stable for the same document and options
  std::vector<std::string> breadcrumb;  // heading titles from the top level down
  std::string text;                     // overlap prefix (if any) + rendered[begin, end)
  size_t begin = 0;                     // byte offsets into document_render(doc, format).text
  size_t end = 0;
  size_t overlap = 0;  // bytes at the start of text repeated from the previous chunk
  int page_first = 0;  // from page anchors; 0 when the document has none
  int page_last = 0;
  std::string anchor_kind;  // innermost non-page anchor ("slide", "sheet", "chapter", ...)
  int anchor_first = 0;     // its number at the chunk's first and last block
  int anchor_last = 0;
  std::string anchor_label;  // of the anchor at the first block (sheet name, ...); may be empty
  size_t size = 0;           // size of text in the options' unit
  bool oversize = false;     // size > budget (a table, code block or heading kept whole)
};

// Splits the document into chunks in reading order. Chunks start at headings (and at slide,
// sheet, chapter, attachment and notes anchors); a section with only its heading is carried
// into the next one; runts (< min_size) are merged with a neighbour in the same parent section
// when the result fits the budget.
std::vector<chunk> chunk_document(const document& doc, const chunk_options& options);

// Size of text in the options' unit.
size_t chunk_measure(std::string_view text, const chunk_options& options);
// Approximate token count without a tokenizer: each CJK character (ideographs, kana, hangul,
// CJK/fullwidth punctuation) ~1 token, any other text ~4 code points per token (rounded up).
size_t chunk_estimate_tokens(std::string_view text);

const char* chunk_unit_name(chunk_unit unit);  // "chars" | "tokens"

struct chunk_summary {
  size_t count = 0;
  size_t min = 0, median = 0, p90 = 0, max = 0;  // nearest-rank percentiles
  double mean = 0;
  size_t oversize = 0;  // chunks over the budget
};

chunk_summary chunk_summarize(const std::vector<chunk>& chunks);
// "42 chunks (chars): min 310, median 1288, mean 1107.4, p90 1476, max 2210; 1 over the 1500 budget"
std::string chunk_summary_format(const chunk_summary& summary, const chunk_options& options);

// "<!-- chunk c0003 | Heading > Sub | pages 2-3 | 812 chars -->"
std::string chunk_header(const chunk& c, const chunk_options& options);
// Every field of the chunk as one JSON object (for JSON Lines output).
nlohmann::json chunk_to_json(const chunk& c, const chunk_options& options);

}  // namespace smelt
