// Document building and rendering (Markdown, plain text, JSON). The offsets recorded while
// rendering are what chunking and provenance refer to.
#include "extract/document.h"

#include <algorithm>

#include "core/text.h"

namespace smelt {

const char* block_kind_name(block_kind kind) {
  switch (kind) {
    case block_kind::heading:
      return "heading";
    case block_kind::paragraph:
      return "paragraph";
    case block_kind::list_item:
      return "list_item";
    case block_kind::table:
      return "table";
    case block_kind::code:
      return "code";
  }
  return "?";
}

const char* anchor_kind_name(anchor_kind kind) {
  switch (kind) {
    case anchor_kind::page:
      return "page";
    case anchor_kind::slide:
      return "slide";
    case anchor_kind::sheet:
      return "sheet";
    case anchor_kind::chapter:
      return "chapter";
    case anchor_kind::attachment:
      return "attachment";
    case anchor_kind::notes:
      return "notes";
  }
  return "?";
}

void document_add_heading(document& doc, int level, std::string text) {
  text = text_collapse_spaces(text);
  if (text.empty()) return;
  block b;
  b.kind = block_kind::heading;
  b.level = std::clamp(level, 1, 6);
  b.text = std::move(text);
  doc.blocks.push_back(std::move(b));
}

void document_add_paragraph(document& doc, std::string text) {
  if (text_trim(text).empty()) return;
  block b;
  b.kind = block_kind::paragraph;
  b.text = std::string(text_trim(text));
  doc.blocks.push_back(std::move(b));
}

void document_add_list_item(document& doc, int depth, bool ordered, std::string text) {
  text = text_collapse_spaces(text);
  if (text.empty()) return;
  block b;
  b.kind = block_kind::list_item;
  b.level = std::max(0, depth);
  b.ordered = ordered;
  b.text = std::move(text);
  doc.blocks.push_back(std::move(b));
}

void document_add_table(document& doc, std::vector<std::vector<std::string>> rows) {
  // Drop rows that are entirely empty; keep the table if anything remains.
  std::vector<std::vector<std::string>> kept;
  for (auto& row : rows) {
    bool any =
        std::any_of(row.begin(), row.end(), [](const std::string& c) { return !text_trim(c).empty(); });
    if (any) kept.push_back(std::move(row));
  }
  if (kept.empty()) return;
  block b;
  b.kind = block_kind::table;
  b.rows = std::move(kept);
  doc.blocks.push_back(std::move(b));
}

void document_add_code(document& doc, std::string text, std::string language) {
  if (text_trim(text).empty()) return;
  block b;
  b.kind = block_kind::code;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  b.text = std::move(text);
  b.language = std::move(language);
  doc.blocks.push_back(std::move(b));
}

void document_add_anchor(document& doc, anchor_kind kind, int number, std::string label) {
  doc.anchors.push_back(anchor{kind, number, std::move(label), doc.blocks.size()});
}

void document_make_valid_utf8(document& doc) {
  auto fix = [](std::string& s) {
    if (!utf8_is_valid(s)) s = utf8_sanitize(s);
  };
  for (block& b : doc.blocks) {
    fix(b.text);
    fix(b.language);
    for (auto& row : b.rows)
      for (auto& cell : row) fix(cell);
  }
  for (anchor& a : doc.anchors) fix(a.label);
  for (std::string& w : doc.warnings) fix(w);
}

void document_append(document& doc, const document& other) {
  size_t shift = doc.blocks.size();
  doc.blocks.insert(doc.blocks.end(), other.blocks.begin(), other.blocks.end());
  for (anchor a : other.anchors) {
    a.block += shift;
    doc.anchors.push_back(std::move(a));
  }
  doc.warnings.insert(doc.warnings.end(), other.warnings.begin(), other.warnings.end());
}

namespace {

std::string table_cell_escape(std::string_view cell) {
  std::string s = text_collapse_spaces(cell);
  return text_replace_all(std::move(s), "|", "\\|");
}

std::string table_to_text(const std::vector<std::vector<std::string>>& rows) {
  std::string out;
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      if (i) out += '\t';
      out += text_collapse_spaces(row[i]);
    }
    out += '\n';
  }
  if (!out.empty()) out.pop_back();
  return out;
}

std::string block_render(const block& b, render_format format) {
  bool md = format == render_format::markdown;
  switch (b.kind) {
    case block_kind::heading:
      return md ? std::string(b.level, '#') + " " + b.text : b.text;
    case block_kind::paragraph:
      return b.text;
    case block_kind::list_item: {
      std::string indent(2 * b.level, ' ');
      return indent + (b.ordered ? "1. " : (md ? "- " : "• ")) + b.text;
    }
    case block_kind::table:
      return md ? table_to_markdown(b.rows) : table_to_text(b.rows);
    case block_kind::code:
      return md ? "```" + b.language + "\n" + b.text + "\n```" : b.text;
  }
  return b.text;
}

}  // namespace

std::string table_to_markdown(const std::vector<std::vector<std::string>>& rows) {
  size_t columns = 0;
  for (const auto& row : rows) columns = std::max(columns, row.size());
  std::string out;
  for (size_t r = 0; r < rows.size(); ++r) {
    out += '|';
    for (size_t c = 0; c < columns; ++c) {
      out += ' ';
      if (c < rows[r].size()) out += table_cell_escape(rows[r][c]);
      out += " |";
    }
    out += '\n';
    if (r == 0) {
      out += '|';
      for (size_t c = 0; c < columns; ++c) out += " --- |";
      out += '\n';
    }
  }
  if (!out.empty()) out.pop_back();
  return out;
}

rendered_document document_render(const document& doc, render_format format) {
  rendered_document out;
  out.spans.reserve(doc.blocks.size());
  const block* previous = nullptr;
  for (const block& b : doc.blocks) {
    if (previous) {
      // Consecutive list items stay together; everything else is separated by a blank line.
      bool tight = previous->kind == block_kind::list_item && b.kind == block_kind::list_item;
      out.text += tight ? "\n" : "\n\n";
    }
    block_span span;
    span.begin = out.text.size();
    out.text += block_render(b, format);
    span.end = out.text.size();
    out.spans.push_back(span);
    previous = &b;
  }
  if (!out.text.empty()) out.text += '\n';
  return out;
}

nlohmann::json document_to_json(const document& doc) {
  rendered_document r = document_render(doc, render_format::markdown);
  nlohmann::json blocks = nlohmann::json::array();
  for (size_t i = 0; i < doc.blocks.size(); ++i) {
    const block& b = doc.blocks[i];
    nlohmann::json j = {
        {"kind", block_kind_name(b.kind)}, {"begin", r.spans[i].begin}, {"end", r.spans[i].end}};
    if (b.kind == block_kind::heading || b.kind == block_kind::list_item) j["level"] = b.level;
    if (b.kind == block_kind::list_item) j["ordered"] = b.ordered;
    if (b.kind == block_kind::table)
      j["rows"] = b.rows;
    else
      j["text"] = b.text;
    if (b.kind == block_kind::code && !b.language.empty()) j["language"] = b.language;
    blocks.push_back(std::move(j));
  }
  // Heading tree: a stack of open headings; each new heading closes those at its level or deeper.
  nlohmann::json roots = nlohmann::json::array();
  std::vector<nlohmann::json*> stack;
  std::vector<int> levels;
  for (size_t i = 0; i < doc.blocks.size(); ++i) {
    const block& b = doc.blocks[i];
    if (b.kind != block_kind::heading) continue;
    while (!levels.empty() && levels.back() >= b.level) levels.pop_back(), stack.pop_back();
    nlohmann::json node = {{"title", b.text},
                           {"level", b.level},
                           {"offset", r.spans[i].begin},
                           {"children", nlohmann::json::array()}};
    nlohmann::json& parent = stack.empty() ? roots : (*stack.back())["children"];
    parent.push_back(std::move(node));
    stack.push_back(&parent.back());
    levels.push_back(b.level);
  }
  nlohmann::json anchors = nlohmann::json::array();
  for (const anchor& a : doc.anchors) {
    size_t offset = a.block < r.spans.size() ? r.spans[a.block].begin : r.text.size();
    nlohmann::json j = {{"kind", anchor_kind_name(a.kind)}, {"number", a.number}, {"offset", offset}};
    if (!a.label.empty()) j["label"] = a.label;
    anchors.push_back(std::move(j));
  }
  return {{"source", doc.source}, {"format", doc.format}, {"text", r.text},          {"blocks", blocks},
          {"headings", roots},    {"anchors", anchors},   {"warnings", doc.warnings}};
}

}  // namespace smelt
