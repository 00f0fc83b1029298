// Tolerant HTML tokenizer, a small tree builder (implied end tags for p/li/td/tr/...) and a walker
// that turns the tree into document blocks. Not a conforming HTML5 parser: no adoption agency,
// no foster parenting; enough for the main text of real pages and EPUB chapters.
#include "extract/html_blocks.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <unordered_map>

#include "core/text.h"

namespace smelt {

namespace {

struct html_attr {
  std::string name;
  std::string value;
};

// One element or text node; tag is empty for text. Children are indices into html_tree::nodes.
struct html_node {
  std::string tag;
  std::string text;
  std::vector<html_attr> attrs;
  std::vector<int> children;
};

struct html_tree {
  std::vector<html_node> nodes;  // nodes[0] is the synthetic root
};

const std::string* node_attr(const html_node& n, std::string_view name) {
  for (const auto& a : n.attrs)
    if (a.name == name) return &a.value;
  return nullptr;
}

bool in_set(std::string_view tag, std::initializer_list<std::string_view> set) {
  return std::find(set.begin(), set.end(), tag) != set.end();
}

bool tag_is_heading(std::string_view t) {
  return t.size() == 2 && t[0] == 'h' && t[1] >= '1' && t[1] <= '6';
}

bool tag_is_void(std::string_view t) {
  return in_set(t, {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
                    "source", "track", "wbr", "keygen"});
}

// Elements whose content is not markup: text up to the matching end tag.
bool tag_is_raw_text(std::string_view t) {
  return in_set(t,
                {"script", "style", "xmp", "iframe", "noembed", "noframes", "noscript", "textarea", "title"});
}

// Starting one of these closes an open <p>.
bool tag_closes_p(std::string_view t) {
  return tag_is_heading(t) ||
         in_set(t, {"address",  "article",    "aside",  "blockquote", "details", "div",     "dl",
                    "fieldset", "figcaption", "figure", "footer",     "form",    "header",  "hr",
                    "main",     "nav",        "ol",     "p",          "pre",     "section", "table",
                    "ul",       "li",         "dd",     "dt"});
}

const std::unordered_map<std::string_view, char32_t>& entity_table() {
  static const std::unordered_map<std::string_view, char32_t> table = {
      {"amp", '&'},      {"lt", '<'},        {"gt", '>'},        {"quot", '"'},      {"apos", '\''},
      {"nbsp", 0xA0},    {"ensp", 0x2002},   {"emsp", 0x2003},   {"thinsp", 0x2009}, {"shy", 0xAD},
      {"zwnj", 0x200C},  {"zwj", 0x200D},    {"copy", 0xA9},     {"reg", 0xAE},      {"trade", 0x2122},
      {"mdash", 0x2014}, {"ndash", 0x2013},  {"hellip", 0x2026}, {"lsquo", 0x2018},  {"rsquo", 0x2019},
      {"sbquo", 0x201A}, {"ldquo", 0x201C},  {"rdquo", 0x201D},  {"bdquo", 0x201E},  {"laquo", 0xAB},
      {"raquo", 0xBB},   {"lsaquo", 0x2039}, {"rsaquo", 0x203A}, {"bull", 0x2022},   {"middot", 0xB7},
      {"euro", 0x20AC},  {"pound", 0xA3},    {"yen", 0xA5},      {"cent", 0xA2},     {"times", 0xD7},
      {"divide", 0xF7},  {"deg", 0xB0},      {"plusmn", 0xB1},   {"sect", 0xA7},     {"para", 0xB6},
      {"iexcl", 0xA1},   {"iquest", 0xBF},   {"micro", 0xB5},    {"frac12", 0xBD},   {"frac14", 0xBC},
      {"frac34", 0xBE},  {"sup2", 0xB2},     {"sup3", 0xB3},     {"larr", 0x2190},   {"rarr", 0x2192},
      {"uarr", 0x2191},  {"darr", 0x2193},   {"harr", 0x2194},   {"le", 0x2264},     {"ge", 0x2265},
      {"ne", 0x2260},    {"minus", 0x2212},  {"infin", 0x221E},  {"dagger", 0x2020}, {"prime", 0x2032},
      {"agrave", 0xE0},  {"aacute", 0xE1},   {"acirc", 0xE2},    {"auml", 0xE4},     {"aring", 0xE5},
      {"ccedil", 0xE7},  {"egrave", 0xE8},   {"eacute", 0xE9},   {"ecirc", 0xEA},    {"euml", 0xEB},
      {"iacute", 0xED},  {"iuml", 0xEF},     {"ntilde", 0xF1},   {"oacute", 0xF3},   {"ouml", 0xF6},
      {"oslash", 0xF8},  {"uacute", 0xFA},   {"uuml", 0xFC},     {"szlig", 0xDF},    {"Auml", 0xC4},
      {"Eacute", 0xC9},  {"Ouml", 0xD6},     {"Uuml", 0xDC},     {"Aring", 0xC5},    {"alpha", 0x3B1},
      {"beta", 0x3B2},   {"gamma", 0x3B3},   {"delta", 0x3B4},   {"pi", 0x3C0},      {"sigma", 0x3C3},
      {"mu", 0x3BC},     {"lambda", 0x3BB},  {"omega", 0x3C9},   {"hearts", 0x2665}, {"check", 0x2713},
  };
  return table;
}

bool ascii_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// Case-insensitive find of needle (lowercase) in s from pos.
size_t find_ci(std::string_view s, std::string_view needle, size_t pos) {
  if (needle.empty() || s.size() < needle.size()) return std::string_view::npos;
  for (size_t i = pos; i + needle.size() <= s.size(); ++i) {
    size_t k = 0;
    while (k < needle.size()) {
      char c = s[i + k];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c != needle[k]) break;
      ++k;
    }
    if (k == needle.size()) return i;
  }
  return std::string_view::npos;
}

class tree_builder {
 public:
  explicit tree_builder(html_tree& tree) : tree_(tree) {
    tree_.nodes.push_back(html_node{"#root", {}, {}, {}});
    open_.push_back(0);
  }

  void text(std::string s) {
    if (s.empty()) return;
    int parent = open_.back();
    html_node& p = tree_.nodes[parent];
    if (!p.children.empty() && tree_.nodes[p.children.back()].tag.empty()) {
      tree_.nodes[p.children.back()].text += s;
      return;
    }
    add(html_node{"", std::move(s), {}, {}});
  }

  // Returns the new node's index.
  int start(std::string tag, std::vector<html_attr> attrs, bool self_closing) {
    if (tag_closes_p(tag)) {
      while (open_.size() > 1 && tree_.nodes[open_.back()].tag == "p") open_.pop_back();
    }
    if (tag == "li")
      close_nearest({"li"}, {"ul", "ol", "table", "menu"});
    else if (tag == "dt" || tag == "dd")
      close_nearest({"dt", "dd"}, {"dl", "table"});
    else if (tag == "tr")
      close_nearest({"tr"}, {"table"});
    else if (tag == "td" || tag == "th")
      close_nearest({"td", "th"}, {"tr", "table"});
    else if (tag == "thead" || tag == "tbody" || tag == "tfoot")
      close_nearest({"thead", "tbody", "tfoot"}, {"table"});
    else if (tag == "option")
      close_nearest({"option"}, {"select"});
    else if (tag_is_heading(tag) && tag_is_heading(tree_.nodes[open_.back()].tag))
      open_.pop_back();
    bool is_void = tag_is_void(tag);
    int index = add(html_node{std::move(tag), {}, std::move(attrs), {}});
    // Past kMaxDepth open elements new ones stay childless, so walking the tree cannot exhaust the stack.
    if (!is_void && !self_closing && open_.size() < kMaxDepth) open_.push_back(index);
    return index;
  }

  void end(std::string_view tag) {
    if (tag == "br") {
      start("br", {}, true);
      return;
    }
    for (size_t k = open_.size(); k-- > 1;) {
      if (tree_.nodes[open_[k]].tag == tag) {
        open_.resize(k);
        return;
      }
    }
  }

 private:
  int add(html_node node) {
    int index = static_cast<int>(tree_.nodes.size());
    tree_.nodes.push_back(std::move(node));
    tree_.nodes[open_.back()].children.push_back(index);
    return index;
  }

  void close_nearest(std::initializer_list<std::string_view> targets,
                     std::initializer_list<std::string_view> stops) {
    for (size_t k = open_.size(); k-- > 1;) {
      const std::string& t = tree_.nodes[open_[k]].tag;
      if (in_set(t, targets)) {
        open_.resize(k);
        return;
      }
      if (in_set(t, stops)) return;
    }
  }

  static constexpr size_t kMaxDepth = 256;
  html_tree& tree_;
  std::vector<int> open_;
};

// Parses "<name attr=value ...>" starting just after '<'; returns the position after '>'.
size_t parse_start_tag(std::string_view s, size_t i, std::string& name, std::vector<html_attr>& attrs,
                       bool& self_closing) {
  size_t n = s.size();
  while (i < n && (ascii_alnum(s[i]) || s[i] == ':' || s[i] == '-' || s[i] == '_')) name += s[i++];
  name = text_to_lower_ascii(name);
  self_closing = false;
  while (i < n) {
    while (i < n && std::strchr(" \t\r\n\f", s[i])) ++i;
    if (i >= n) break;
    if (s[i] == '>') return i + 1;
    if (s[i] == '/') {
      self_closing = i + 1 < n && s[i + 1] == '>';
      ++i;
      continue;
    }
    html_attr a;
    while (i < n && !std::strchr(" \t\r\n\f=>", s[i]) && !(s[i] == '/' && i + 1 < n && s[i + 1] == '>'))
      a.name += s[i++];
    a.name = text_to_lower_ascii(a.name);
    while (i < n && std::strchr(" \t\r\n\f", s[i])) ++i;
    if (i < n && s[i] == '=') {
      ++i;
      while (i < n && std::strchr(" \t\r\n\f", s[i])) ++i;
      if (i < n && (s[i] == '"' || s[i] == '\'')) {
        char q = s[i++];
        size_t close = s.find(q, i);
        if (close == std::string_view::npos) close = n;
        a.value = html_decode_entities(s.substr(i, close - i));
        i = std::min(n, close + 1);
      } else {
        size_t b = i;
        while (i < n && !std::strchr(" \t\r\n\f>", s[i])) ++i;
        a.value = html_decode_entities(s.substr(b, i - b));
      }
    }
    if (!a.name.empty()) attrs.push_back(std::move(a));
  }
  return n;
}

html_tree html_parse(std::string_view s) {
  html_tree tree;
  tree_builder builder(tree);
  size_t i = 0, n = s.size();
  while (i < n) {
    if (s[i] != '<') {
      size_t next = s.find('<', i);
      if (next == std::string_view::npos) next = n;
      builder.text(html_decode_entities(s.substr(i, next - i)));
      i = next;
      continue;
    }
    std::string_view rest = s.substr(i);
    if (text_starts_with(rest, "<!--")) {
      size_t end = s.find("-->", i + 4);
      i = end == std::string_view::npos ? n : end + 3;
    } else if (text_starts_with(rest, "<![CDATA[")) {
      size_t end = s.find("]]>", i + 9);
      size_t stop = end == std::string_view::npos ? n : end;
      builder.text(std::string(s.substr(i + 9, stop - i - 9)));
      i = end == std::string_view::npos ? n : end + 3;
    } else if (text_starts_with(rest, "<!") || text_starts_with(rest, "<?")) {
      size_t end = s.find('>', i);
      i = end == std::string_view::npos ? n : end + 1;
    } else if (rest.size() > 2 && rest[1] == '/' && ascii_alnum(rest[2])) {
      size_t b = i + 2, e = b;
      while (e < n && (ascii_alnum(s[e]) || s[e] == ':' || s[e] == '-' || s[e] == '_')) ++e;
      std::string name = text_to_lower_ascii(s.substr(b, e - b));
      size_t end = s.find('>', e);
      i = end == std::string_view::npos ? n : end + 1;
      builder.end(name);
    } else if (rest.size() > 1 && ascii_alnum(rest[1])) {
      std::string name;
      std::vector<html_attr> attrs;
      bool self_closing = false;
      i = parse_start_tag(s, i + 1, name, attrs, self_closing);
      builder.start(name, std::move(attrs), self_closing);
      if (tag_is_raw_text(name) && !self_closing) {
        size_t end = find_ci(s, "</" + name, i);
        size_t stop = end == std::string_view::npos ? n : end;
        std::string_view raw = s.substr(i, stop - i);
        builder.text(name == "title" || name == "textarea" ? html_decode_entities(raw) : std::string(raw));
        builder.end(name);
        if (end == std::string_view::npos) {
          i = n;
        } else {
          size_t gt = s.find('>', end);
          i = gt == std::string_view::npos ? n : gt + 1;
        }
      }
    } else {
      builder.text("<");
      ++i;
    }
  }
  return tree;
}

bool tag_is_dropped(std::string_view t) {
  return in_set(t, {"script", "style",  "noscript", "template", "nav",     "aside",    "form",
                    "svg",    "math",   "head",     "title",    "iframe",  "object",   "embed",
                    "canvas", "select", "button",   "textarea", "noembed", "noframes", "dialog"});
}

bool tag_is_block(std::string_view t) {
  return tag_is_heading(t) ||
         in_set(t, {"address", "article", "blockquote", "body",     "center",     "dd",     "details",
                    "div",     "dl",      "dt",         "fieldset", "figcaption", "figure", "footer",
                    "header",  "hgroup",  "hr",         "html",     "li",         "main",   "ol",
                    "p",       "pre",     "section",    "summary",  "table",      "ul",     "tr",
                    "td",      "th",      "caption",    "legend",   "menu",       "#root"});
}

bool node_is_main(const html_node& n) {
  const std::string* role = node_attr(n, "role");
  return n.tag == "main" || (role && *role == "main");
}

class block_walker {
 public:
  block_walker(const html_tree& tree, document& doc) : tree_(tree), doc_(doc) {}

  void walk_root() {
    std::vector<int> roots;
    find_content(0, roots);
    if (roots.empty()) {
      walk(0);
    } else {
      content_depth_ = 1;
      for (int r : roots) walk(r);
    }
    flush();
  }

 private:
  // The first <main> (or role=main); else every outermost <article>.
  void find_content(int root, std::vector<int>& out) {
    std::vector<int> articles;
    int main = -1;
    search(root, main, articles);
    if (main >= 0)
      out.push_back(main);
    else
      out = articles;
  }
  void search(int i, int& main, std::vector<int>& articles) {
    const html_node& n = tree_.nodes[i];
    if (main >= 0 || (i != 0 && tag_is_dropped(n.tag))) return;
    if (node_is_main(n)) {
      main = i;
      return;
    }
    if (n.tag == "article") {
      articles.push_back(i);
      return;
    }
    for (int c : n.children) search(c, main, articles);
  }

  bool skipped(const html_node& n) const {
    if (tag_is_dropped(n.tag) || node_attr(n, "hidden")) return true;
    // Page chrome. Inside the chosen <main>/<article> a header usually holds the title: kept.
    if (n.tag == "footer" || (n.tag == "header" && content_depth_ == 0)) return true;
    const std::string* aria = node_attr(n, "aria-hidden");
    return aria && *aria == "true";
  }

  void walk(int index) {
    const html_node& n = tree_.nodes[index];
    if (n.tag.empty()) {
      // Source line breaks are plain whitespace; only <br> (as '\n') breaks a line.
      for (char c : n.text) pending_ += c == '\n' || c == '\r' ? ' ' : c;
      return;
    }
    if (skipped(n)) return;
    const std::string& t = n.tag;
    if (t == "br") {
      pending_ += '\n';
      return;
    }
    if (tag_is_heading(t)) {
      flush();
      document_add_heading(doc_, t[1] - '0', inline_text(index));
      return;
    }
    if (t == "pre") {
      flush();
      code_block(index);
      return;
    }
    if (t == "table") {
      flush();
      table(index);
      return;
    }
    if (t == "ul" || t == "ol" || t == "menu") {
      flush();
      lists_.push_back(t == "ol");
      for (int c : n.children) walk(c);
      flush();
      lists_.pop_back();
      return;
    }
    if (t == "li") {
      flush();
      int depth = std::max(0, static_cast<int>(lists_.size()) - 1);
      items_.push_back({depth, !lists_.empty() && lists_.back()});
      for (int c : n.children) walk(c);
      flush();
      items_.pop_back();
      return;
    }
    bool block = tag_is_block(t);
    bool content = t == "article" || node_is_main(n);
    if (block) flush();
    content_depth_ += content;
    for (int c : n.children) walk(c);
    content_depth_ -= content;
    if (block) flush();
  }

  // Emits the pending inline text as a paragraph, or as a list item inside <li>.
  void flush() {
    std::string text;
    for (std::string_view line : text_split_lines(pending_)) {
      std::string collapsed = text_collapse_spaces(line);
      if (collapsed.empty()) continue;
      if (!text.empty()) text += '\n';
      text += collapsed;
    }
    pending_.clear();
    if (text.empty()) return;
    if (!items_.empty())
      document_add_list_item(doc_, items_.back().depth, items_.back().ordered, text);
    else
      document_add_paragraph(doc_, text);
  }

  // All text below index, blocks separated by spaces, dropped elements skipped.
  std::string inline_text(int index) const {
    std::string out;
    collect(index, out);
    return text_collapse_spaces(out);
  }
  void collect(int index, std::string& out) const {
    const html_node& n = tree_.nodes[index];
    if (n.tag.empty()) {
      out += n.text;
      return;
    }
    if (tag_is_dropped(n.tag)) return;
    if (n.tag == "br" || tag_is_block(n.tag)) out += ' ';
    for (int c : n.children) collect(c, out);
    if (tag_is_block(n.tag)) out += ' ';
  }

  void raw_text(int index, std::string& out) const {
    const html_node& n = tree_.nodes[index];
    if (n.tag.empty())
      out += n.text;
    else if (n.tag == "br")
      out += '\n';
    else
      for (int c : n.children) raw_text(c, out);
  }

  static std::string class_language(const html_node& n) {
    const std::string* cls = node_attr(n, "class");
    if (!cls) return "";
    std::string_view s = *cls;
    for (std::string_view prefix : {"language-", "lang-"}) {
      size_t p = s.find(prefix);
      if (p == std::string_view::npos || (p > 0 && s[p - 1] != ' ')) continue;
      size_t b = p + prefix.size(), e = s.find(' ', b);
      return std::string(s.substr(b, e == std::string_view::npos ? std::string_view::npos : e - b));
    }
    return "";
  }

  void code_block(int index) {
    const html_node& n = tree_.nodes[index];
    std::string language = class_language(n);
    for (int c : n.children)
      if (language.empty() && tree_.nodes[c].tag == "code") language = class_language(tree_.nodes[c]);
    std::string text;
    raw_text(index, text);
    text = text_replace_all(std::move(text), "\r\n", "\n");
    if (!text.empty() && text[0] == '\n') text.erase(0, 1);
    document_add_code(doc_, std::move(text), std::move(language));
  }

  void table_rows(int index, std::vector<std::vector<std::string>>& rows, std::string& caption) const {
    for (int c : tree_.nodes[index].children) {
      const html_node& n = tree_.nodes[c];
      if (n.tag == "thead" || n.tag == "tbody" || n.tag == "tfoot") {
        table_rows(c, rows, caption);
      } else if (n.tag == "caption") {
        caption = inline_text(c);
      } else if (n.tag == "tr") {
        std::vector<std::string> row;
        for (int cell : n.children) {
          const html_node& cn = tree_.nodes[cell];
          if (cn.tag != "td" && cn.tag != "th") continue;
          std::string text = inline_text(cell);
          // A spanning cell is repeated so later columns stay under their headers.
          int span = 1;
          if (const std::string* cs = node_attr(cn, "colspan"))
            span = std::clamp(std::atoi(cs->c_str()), 1, 64);
          for (int k = 0; k < span; ++k) row.push_back(text);
        }
        if (!row.empty()) rows.push_back(std::move(row));
      }
    }
  }

  void table(int index) {
    std::vector<std::vector<std::string>> rows;
    std::string caption;
    table_rows(index, rows, caption);
    document_add_paragraph(doc_, caption);
    document_add_table(doc_, std::move(rows));
  }

  struct item {
    int depth;
    bool ordered;
  };

  const html_tree& tree_;
  document& doc_;
  std::string pending_;
  std::vector<bool> lists_;  // open <ul>/<ol>: true when ordered
  std::vector<item> items_;  // open <li>
  int content_depth_ = 0;    // >0 inside <main>/<article>
};

}  // namespace

std::string html_decode_entities(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    size_t amp = s.find('&', i);
    if (amp == std::string_view::npos) {
      out.append(s.substr(i));
      break;
    }
    out.append(s.substr(i, amp - i));
    i = amp + 1;
    size_t j = i;
    if (j < s.size() && s[j] == '#') {
      ++j;
      bool hex = j < s.size() && (s[j] == 'x' || s[j] == 'X');
      if (hex) ++j;
      size_t digits_begin = j;
      char32_t cp = 0;
      while (j < s.size() && j - digits_begin < 8 &&
             (hex ? std::isxdigit(static_cast<unsigned char>(s[j]))
                  : std::isdigit(static_cast<unsigned char>(s[j])))) {
        char c = s[j++];
        int v = c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
        cp = cp * (hex ? 16 : 10) + v;
      }
      if (j == digits_begin) {
        out += '&';
        continue;
      }
      if (j < s.size() && s[j] == ';') ++j;
      if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
      utf8_append(out, cp);
      i = j;
      continue;
    }
    while (j < s.size() && j - i < 10 && ascii_alnum(s[j])) ++j;
    auto it = entity_table().find(s.substr(i, j - i));
    if (j > i && it != entity_table().end()) {
      utf8_append(out, it->second);
      i = (j < s.size() && s[j] == ';') ? j + 1 : j;
    } else {
      out += '&';
    }
  }
  return out;
}

void html_to_document(std::string_view html_utf8, document& doc) {
  html_tree tree = html_parse(html_utf8);
  block_walker(tree, doc).walk_root();
}

std::string html_title(std::string_view html_utf8) {
  size_t open = find_ci(html_utf8, "<title", 0);
  if (open == std::string_view::npos) return "";
  size_t gt = html_utf8.find('>', open);
  if (gt == std::string_view::npos) return "";
  size_t close = find_ci(html_utf8, "</title", gt);
  std::string_view raw = html_utf8.substr(gt + 1, close == std::string_view::npos ? 0 : close - gt - 1);
  return text_collapse_spaces(html_decode_entities(raw));
}

std::string html_declared_charset(std::string_view bytes) {
  std::string head = text_to_lower_ascii(bytes.substr(0, 2048));
  auto token_after = [&](size_t p) {
    while (p < head.size() && std::strchr(" \t\r\n=\"'", head[p])) ++p;
    size_t b = p;
    while (p < head.size() && (ascii_alnum(head[p]) || std::strchr("-_.:", head[p]))) ++p;
    return head.substr(b, p - b);
  };
  if (text_starts_with(head, "<?xml")) {
    size_t end = head.find("?>");
    size_t enc = head.find("encoding", 0);
    if (enc != std::string::npos && enc < end) return token_after(enc + 8);
  }
  size_t pos = 0;
  while ((pos = head.find("<meta", pos)) != std::string::npos) {
    size_t end = head.find('>', pos);
    if (end == std::string::npos) break;
    size_t cs = head.find("charset", pos);
    if (cs != std::string::npos && cs < end) return token_after(cs + 7);
    pos = end;
  }
  return "";
}

}  // namespace smelt
