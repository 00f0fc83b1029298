// The document model every extractor produces and every later step (chunking, corpus) reads:
// an ordered list of blocks (headings, paragraphs, list items, tables, code) plus anchors that
// say where pages/slides/sheets/chapters begin. Rendering to Markdown/text/JSON lives here too;
// parsing of any file format does not (see extract_*.cpp).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace smelt {

enum class block_kind { heading, paragraph, list_item, table, code };

struct block {
  block_kind kind = block_kind::paragraph;
  int level = 0;                               // heading: 1..6; list_item: nesting depth from 0
  bool ordered = false;                        // list_item: numbered list
  std::string text;                            // UTF-8, no Markdown markup (tables use rows instead)
  std::vector<std::vector<std::string>> rows;  // table: rows of cells, first row is the header
  std::string language;                        // code: info string, may be empty
};

enum class anchor_kind { page, slide, sheet, chapter, attachment, notes };

struct anchor {
  anchor_kind kind = anchor_kind::page;
  int number = 0;     // 1-based page/slide/sheet/chapter number
  std::string label;  // sheet name, chapter title, attachment file name; may be empty
  size_t block = 0;   // index of the first block at or after this anchor
};

struct document {
  std::string source;  // path as given by the user
  std::string format;  // "pdf", "docx", ...
  std::vector<block> blocks;
  std::vector<anchor> anchors;
  std::vector<std::string> warnings;  // non-fatal problems ("no text layer ...")
};

// Builder helpers used by extractors; they skip empty text so callers need not check.
void document_add_heading(document& doc, int level, std::string text);
void document_add_paragraph(document& doc, std::string text);
void document_add_list_item(document& doc, int depth, bool ordered, std::string text);
void document_add_table(document& doc, std::vector<std::vector<std::string>> rows);
void document_add_code(document& doc, std::string text, std::string language = "");
void document_add_anchor(document& doc, anchor_kind kind, int number, std::string label = "");
// Replaces malformed UTF-8 in every text, cell, label and warning with U+FFFD. extract_bytes
// applies it to every document, so consumers may rely on valid UTF-8 (JSON output needs it).
void document_make_valid_utf8(document& doc);
// Appends other's blocks and anchors (e.g. an EML attachment), shifting anchor indices.
void document_append(document& doc, const document& other);

enum class render_format { text, markdown };

struct block_span {
  size_t begin = 0;  // byte offsets into rendered.text
  size_t end = 0;
};

struct rendered_document {
  std::string text;
  std::vector<block_span> spans;  // one per block
};

rendered_document document_render(const document& doc, render_format format);
std::string table_to_markdown(const std::vector<std::vector<std::string>>& rows);

// JSON form: {"source","format","text" (markdown),"blocks":[{kind,level,begin,end,...}],
// "headings":[{"title","level","offset","children":[...]}],"anchors":[{kind,number,label,offset}],
// "warnings":[...]}. Offsets are byte offsets into "text".
nlohmann::json document_to_json(const document& doc);

const char* block_kind_name(block_kind kind);
const char* anchor_kind_name(anchor_kind kind);

}  // namespace smelt
