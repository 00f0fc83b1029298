// Markdown and plain text. Markdown is read block by block (ATX/setext headings, fenced and
// indented code, nested lists, pipe tables, block quotes, paragraphs) with inline markup stripped
// to its text; it is a pragmatic reader, not a CommonMark implementation (no reference link
// definitions, no HTML blocks). TXT is decoded and split into paragraphs on blank lines.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "core/text.h"
#include "extract/encoding.h"
#include "extract/formats.h"

namespace smelt {

namespace {

bool ascii_punct(char c) {
  return std::ispunct(static_cast<unsigned char>(c)) != 0;
}
bool ascii_space(char c) {
  return c == ' ' || c == '\t';
}
bool word_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || static_cast<unsigned char>(c) >= 0x80;
}

// Joins wrapped lines: a space between them unless both sides are CJK.
void join_line(std::string& out, std::string_view line) {
  if (line.empty()) return;
  if (!out.empty()) {
    size_t i = 0;
    char32_t first = utf8_next(line, i);
    size_t back = out.size() - 1;
    while (back > 0 && (static_cast<unsigned char>(out[back]) & 0xC0) == 0x80) --back;
    size_t j = back;
    char32_t last = utf8_next(out, j);
    if (!(codepoint_is_cjk(first) && codepoint_is_cjk(last))) out += ' ';
  }
  out += line;
}

// Matching bracket within 1000 bytes (bounded so a line of '[' stays linear).
size_t find_closing(std::string_view s, size_t open, char o, char c) {
  int depth = 0;
  for (size_t i = open; i < s.size() && i < open + 1000; ++i) {
    if (s[i] == '\\') {
      ++i;
      continue;
    }
    if (s[i] == o) ++depth;
    if (s[i] == c && --depth == 0) return i;
  }
  return std::string_view::npos;
}

// Inline Markdown -> its text: links and images keep their text, emphasis and code marks go.
std::string md_inline(std::string_view s) {
  std::string out;
  size_t i = 0, n = s.size();
  while (i < n) {
    char c = s[i];
    if (c == '\\' && i + 1 < n && ascii_punct(s[i + 1])) {
      out += s[i + 1];
      i += 2;
    } else if (c == '`') {
      size_t run = 0;
      while (i + run < n && s[i + run] == '`') ++run;
      std::string fence(run, '`');
      size_t close = s.find(fence, i + run);
      if (close == std::string_view::npos) {
        out += fence;
        i += run;
      } else {
        out += text_trim(s.substr(i + run, close - i - run));
        i = close + run;
      }
    } else if ((c == '[' || (c == '!' && i + 1 < n && s[i + 1] == '[')) &&
               find_closing(s, c == '!' ? i + 1 : i, '[', ']') != std::string_view::npos) {
      size_t open = c == '!' ? i + 1 : i;
      size_t close = find_closing(s, open, '[', ']');
      std::string label = md_inline(s.substr(open + 1, close - open - 1));
      size_t after = close + 1;
      if (after < n && s[after] == '(') {
        size_t paren = find_closing(s, after, '(', ')');
        if (paren != std::string_view::npos) after = paren + 1;
      } else if (after < n && s[after] == '[') {
        size_t ref = s.find(']', after);
        if (ref != std::string_view::npos) after = ref + 1;
      }
      out += label;
      i = after;
    } else if (c == '<' && i + 1 < n &&
               (std::isalpha(static_cast<unsigned char>(s[i + 1])) || s[i + 1] == '/')) {
      size_t close = s.find('>', i);
      std::string_view inner = close == std::string_view::npos ? "" : s.substr(i + 1, close - i - 1);
      if (inner.find("://") != std::string_view::npos || text_starts_with(inner, "mailto:")) {
        out += inner;
        i = close + 1;
      } else if (!inner.empty() && inner.find(' ') != 0 && inner.find('<') == std::string_view::npos) {
        i = close + 1;  // inline HTML tag
      } else {
        out += c;
        ++i;
      }
    } else if (c == '*' || c == '_' || c == '~') {
      size_t run = 0;
      while (i + run < n && s[i + run] == c) ++run;
      char before = i > 0 ? s[i - 1] : ' ';
      char after = i + run < n ? s[i + run] : ' ';
      bool left = !ascii_space(after) && i + run < n;
      bool right = !ascii_space(before) && i > 0;
      bool delimiter = c == '_'   ? (left || right) && !(word_char(before) && word_char(after))
                       : c == '~' ? run == 2 && (left || right)
                                  : (left || right);
      if (!delimiter) out.append(run, c);
      i += run;
    } else {
      out += c;
      ++i;
    }
  }
  return out;
}

struct md_line {
  int indent = 0;         // columns of leading whitespace (tab = 4)
  std::string_view body;  // after the leading whitespace
  std::string_view raw;
};

md_line md_measure(std::string_view raw) {
  md_line l;
  l.raw = raw;
  size_t i = 0;
  while (i < raw.size() && ascii_space(raw[i])) l.indent += raw[i++] == '\t' ? 4 : 1;
  l.body = raw.substr(i);
  while (!l.body.empty() && (l.body.back() == ' ' || l.body.back() == '\t')) l.body.remove_suffix(1);
  return l;
}

bool md_is_fence(std::string_view body, char& ch, size_t& len) {
  if (body.size() < 3 || (body[0] != '`' && body[0] != '~')) return false;
  ch = body[0];
  len = 0;
  while (len < body.size() && body[len] == ch) ++len;
  return len >= 3 && (ch == '~' || body.substr(len).find('`') == std::string_view::npos);
}

bool md_is_rule(std::string_view body, char ch) {
  size_t count = 0;
  for (char c : body) {
    if (c == ch)
      ++count;
    else if (!ascii_space(c))
      return false;
  }
  return count >= 3;
}

bool md_is_setext(std::string_view body, char ch) {
  if (body.empty()) return false;
  for (char c : body)
    if (c != ch) return false;
  return true;
}

// "- x", "* x", "+ x", "1. x", "1) x": returns the item text, or false if not a list marker.
bool md_list_marker(std::string_view body, bool& ordered, std::string_view& text) {
  size_t i = 0;
  if (!body.empty() && (body[0] == '-' || body[0] == '*' || body[0] == '+')) {
    ordered = false;
    i = 1;
  } else {
    while (i < body.size() && i < 9 && std::isdigit(static_cast<unsigned char>(body[i]))) ++i;
    if (i == 0 || i >= body.size() || (body[i] != '.' && body[i] != ')')) return false;
    ordered = true;
    ++i;
  }
  if (i < body.size() && !ascii_space(body[i])) return false;
  text = text_trim(body.substr(i));
  return true;
}

std::vector<std::string> md_table_cells(std::string_view line) {
  line = text_trim(line);
  if (!line.empty() && line.front() == '|') line.remove_prefix(1);
  if (!line.empty() && line.back() == '|' && (line.size() < 2 || line[line.size() - 2] != '\\'))
    line.remove_suffix(1);
  std::vector<std::string> cells;
  std::string cell;
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '\\' && i + 1 < line.size() && line[i + 1] == '|') {
      cell += '|';
      ++i;
    } else if (line[i] == '|') {
      cells.push_back(md_inline(text_trim(cell)));
      cell.clear();
    } else {
      cell += line[i];
    }
  }
  cells.push_back(md_inline(text_trim(cell)));
  return cells;
}

bool md_is_table_delimiter(std::string_view body) {
  if (body.find('-') == std::string_view::npos) return false;
  bool pipe = body.find('|') != std::string_view::npos;
  for (char c : body)
    if (c != '|' && c != '-' && c != ':' && !ascii_space(c)) return false;
  return pipe;
}

class md_reader {
 public:
  md_reader(std::string_view text, document& doc) : lines_(text_split_lines(text)), doc_(doc) {}

  void run() {
    size_t i = skip_front_matter();
    bool blank_before = true;
    while (i < lines_.size()) {
      md_line l = md_measure(lines_[i]);
      char fence_ch;
      size_t fence_len;
      if (l.body.empty()) {
        flush_paragraph();
        blank_before = true;
        ++i;
        continue;
      }
      bool in_list = !list_indents_.empty();
      if (md_is_fence(l.body, fence_ch, fence_len) && (l.indent <= 3 || in_list)) {
        flush_all(false);
        i = fenced_code(i, l, fence_ch, fence_len);
      } else if (l.indent <= 3 && l.body[0] == '#' && atx_heading(l.body)) {
        flush_all(true);
        ++i;
      } else if (!paragraph_.empty() && l.indent <= 3 &&
                 (md_is_setext(l.body, '=') || md_is_setext(l.body, '-'))) {
        document_add_heading(doc_, l.body[0] == '=' ? 1 : 2, md_inline(paragraph_));
        paragraph_.clear();
        ++i;
      } else if (l.indent <= 3 &&
                 (md_is_rule(l.body, '-') || md_is_rule(l.body, '*') || md_is_rule(l.body, '_'))) {
        flush_all(true);
        ++i;
      } else if (l.body.find('|') != std::string_view::npos && i + 1 < lines_.size() &&
                 md_is_table_delimiter(md_measure(lines_[i + 1]).body)) {
        flush_all(true);
        i = table(i);
      } else if (list_item(l, blank_before)) {
        ++i;
      } else if (l.indent >= 4 && !in_list && paragraph_.empty()) {
        i = indented_code(i);
      } else {
        std::string_view body = l.body;
        while (!body.empty() && body[0] == '>') body = text_trim(body.substr(1));
        if (!item_text_.empty() && (!blank_before || l.indent > 0)) {
          join_line(item_text_, body);
        } else {
          if (blank_before || !item_text_.empty()) flush_all(l.indent == 0);
          join_line(paragraph_, body);
        }
        ++i;
      }
      blank_before = false;
    }
    flush_all(true);
  }

 private:
  size_t skip_front_matter() {
    if (lines_.empty() || lines_[0] != "---") return 0;
    for (size_t k = 1; k < lines_.size() && k < 100; ++k)
      if (lines_[k] == "---" || lines_[k] == "...") return k + 1;
    return 0;
  }

  bool atx_heading(std::string_view body) {
    size_t level = 0;
    while (level < body.size() && body[level] == '#') ++level;
    if (level > 6 || (level < body.size() && !ascii_space(body[level]))) return false;
    std::string_view text = text_trim(body.substr(level));
    size_t end = text.size();
    while (end > 0 && text[end - 1] == '#') --end;
    if (end == 0 || ascii_space(text[end - 1])) text = text_trim(text.substr(0, end));
    flush_all(true);
    document_add_heading(doc_, static_cast<int>(level), md_inline(text));
    return true;
  }

  size_t fenced_code(size_t i, const md_line& open, char ch, size_t len) {
    std::string_view info = text_trim(open.body.substr(len));
    std::string language(info.substr(0, info.find_first_of(" \t{")));
    std::string code;
    size_t k = i + 1;
    for (; k < lines_.size(); ++k) {
      md_line l = md_measure(lines_[k]);
      char c2;
      size_t len2;
      if (md_is_fence(l.body, c2, len2) && c2 == ch && len2 >= len && text_trim(l.body.substr(len2)).empty())
        break;
      std::string_view raw = lines_[k];
      size_t strip = 0;
      while (strip < raw.size() && strip < static_cast<size_t>(open.indent) && raw[strip] == ' ') ++strip;
      code += raw.substr(strip);
      code += '\n';
    }
    document_add_code(doc_, std::move(code), std::move(language));
    return std::min(k + 1, lines_.size());
  }

  size_t indented_code(size_t i) {
    std::string code;
    size_t k = i, last = i;
    for (; k < lines_.size(); ++k) {
      md_line l = md_measure(lines_[k]);
      if (!l.body.empty() && l.indent < 4) break;
      if (!l.body.empty()) last = k;
    }
    for (size_t j = i; j <= last; ++j) {
      std::string_view raw = lines_[j];
      size_t strip = raw.empty() ? 0 : (raw[0] == '\t' ? 1 : std::min<size_t>(4, raw.find_first_not_of(' ')));
      code += raw.substr(std::min(strip, raw.size()));
      code += '\n';
    }
    document_add_code(doc_, std::move(code));
    return last + 1;
  }

  size_t table(size_t i) {
    std::vector<std::vector<std::string>> rows;
    rows.push_back(md_table_cells(lines_[i]));
    size_t k = i + 2;
    for (; k < lines_.size(); ++k) {
      md_line l = md_measure(lines_[k]);
      if (l.body.empty() || l.body.find('|') == std::string_view::npos) break;
      rows.push_back(md_table_cells(l.body));
    }
    document_add_table(doc_, std::move(rows));
    return k;
  }

  bool list_item(const md_line& l, bool blank_before) {
    bool ordered = false;
    std::string_view text;
    if (!md_list_marker(l.body, ordered, text)) return false;
    // An ordered marker must not start with a number mid-paragraph ("in 2024. we ...").
    if (!paragraph_.empty() && list_indents_.empty() && ordered && !text_starts_with(l.body, "1"))
      return false;
    flush_paragraph();
    flush_item();
    while (!list_indents_.empty() && list_indents_.back() > l.indent) list_indents_.pop_back();
    if (list_indents_.empty() || l.indent > list_indents_.back() + 1) list_indents_.push_back(l.indent);
    item_depth_ = static_cast<int>(list_indents_.size()) - 1;
    item_ordered_ = ordered;
    item_text_.clear();
    join_line(item_text_, text);
    if (item_text_.empty()) item_text_.push_back(' ');  // keep the item open for its continuation line
    return true;
  }

  void flush_paragraph() {
    if (!paragraph_.empty()) document_add_paragraph(doc_, md_inline(paragraph_));
    paragraph_.clear();
  }
  void flush_item() {
    if (!item_text_.empty()) document_add_list_item(doc_, item_depth_, item_ordered_, md_inline(item_text_));
    item_text_.clear();
  }
  void flush_all(bool close_lists) {
    flush_paragraph();
    flush_item();
    if (close_lists) list_indents_.clear();
  }

  std::vector<std::string_view> lines_;
  document& doc_;
  std::string paragraph_;
  std::string item_text_;  // non-empty while a list item is open
  int item_depth_ = 0;
  bool item_ordered_ = false;
  std::vector<int> list_indents_;  // indent of each open list level
};

}  // namespace

result<document> extract_markdown(std::string_view bytes, const std::string& name) {
  auto text = encoding_decode(bytes, name);
  if (!text.ok()) return text.err();
  document doc;
  md_reader(text->utf8, doc).run();
  if (doc.blocks.empty()) doc.warnings.push_back("no text found");
  return doc;
}

result<document> extract_txt(std::string_view bytes, const std::string& name) {
  auto text = encoding_decode(bytes, name);
  if (!text.ok()) return text.err();
  document doc;
  std::string paragraph;
  for (std::string_view line : text_split_lines(text->utf8)) {
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\f'))
      line.remove_suffix(1);
    if (text_trim(line).empty()) {
      document_add_paragraph(doc, std::move(paragraph));
      paragraph.clear();
      continue;
    }
    if (!paragraph.empty()) paragraph += '\n';
    paragraph += line;
  }
  document_add_paragraph(doc, std::move(paragraph));
  if (doc.blocks.empty()) doc.warnings.push_back("no text found (only whitespace)");
  return doc;
}

}  // namespace smelt
