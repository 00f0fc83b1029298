// DOCX (WordprocessingML) -> document: body paragraphs in order, headings from paragraph styles
// (names "heading N"/"Title" or outline levels, resolved through word/styles.xml and basedOn),
// lists from w:numPr + word/numbering.xml, tables with gridSpan, text boxes after their paragraph,
// footnotes as "[N]" markers plus "[N] text" paragraphs at the end. Headers, footers, comments,
// endnotes and tracked deletions are left out; so is formatting.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <unordered_map>

#include "core/text.h"
#include "extract/formats.h"
#include "extract/ooxml.h"

namespace smelt {

namespace {

struct docx_style {
  std::string name;        // lower-case, e.g. "heading 1"
  std::string based_on;    // style id
  int outline_level = -1;  // w:outlineLvl 0..9, -1 if unset
  std::string num_id;      // list numbering the style carries, empty if none
  int num_level = -1;
};

struct docx_context {
  std::string name;
  document* doc = nullptr;
  std::unordered_map<std::string, docx_style> styles;                    // by style id
  std::unordered_map<std::string, std::string> num_abstract;             // numId -> abstractNumId
  std::unordered_map<std::string, std::map<int, std::string>> num_fmts;  // numId -> ilvl -> override numFmt
  std::unordered_map<std::string, std::map<int, std::string>>
      abstract_fmts;                                           // abstractNumId -> ilvl -> numFmt
  std::unordered_map<std::string, std::string> footnote_text;  // w:id -> text
  std::vector<std::string> footnotes_used;                     // ids in order of first reference
  bool depth_warned = false;
};

int parse_int(std::string_view s, int fallback) {
  int v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && end == s.data() + s.size() ? v : fallback;
}

bool too_deep(docx_context& ctx, int depth) {
  if (depth < ooxml_max_depth) return false;
  if (!ctx.depth_warned) ctx.doc->warnings.push_back("content nested too deeply; skipped");
  ctx.depth_warned = true;
  return true;
}

// The first branch of mc:AlternateContent that we understand: Choice, else Fallback.
pugi::xml_node alternate_branch(const pugi::xml_node& alt) {
  pugi::xml_node choice = xml_child(alt, "Choice");
  return choice ? choice : xml_child(alt, "Fallback");
}

// --- styles.xml and numbering.xml -------------------------------------------------------------

void docx_load_styles(docx_context& ctx, const pugi::xml_node& root) {
  for (pugi::xml_node s : root.children()) {
    if (!xml_is(s, "style") || xml_attr(s, "type") != "paragraph") continue;
    docx_style style;
    style.name = text_to_lower_ascii(xml_child_val(s, "name"));
    style.based_on = xml_child_val(s, "basedOn");
    if (pugi::xml_node ppr = xml_child(s, "pPr")) {
      style.outline_level = parse_int(xml_child_val(ppr, "outlineLvl"), -1);
      if (pugi::xml_node numpr = xml_child(ppr, "numPr")) {
        style.num_id = xml_child_val(numpr, "numId");
        style.num_level = parse_int(xml_child_val(numpr, "ilvl"), -1);
      }
    }
    ctx.styles[std::string(xml_attr(s, "styleId"))] = std::move(style);
  }
}

// numFmt of a w:lvl; Word 2010+ may wrap it in mc:AlternateContent (custom formats).
std::string level_format(const pugi::xml_node& lvl) {
  if (pugi::xml_node f = xml_child(lvl, "numFmt")) return std::string(xml_attr(f, "val"));
  if (pugi::xml_node alt = xml_child(lvl, "AlternateContent")) {
    if (pugi::xml_node fb = xml_child(alt, "Fallback")) return std::string(xml_child_val(fb, "numFmt"));
  }
  return "";
}

void docx_load_numbering(docx_context& ctx, const pugi::xml_node& root) {
  for (pugi::xml_node n : root.children()) {
    if (xml_is(n, "abstractNum")) {
      auto& levels = ctx.abstract_fmts[std::string(xml_attr(n, "abstractNumId"))];
      for (pugi::xml_node lvl : n.children())
        if (xml_is(lvl, "lvl")) levels[parse_int(xml_attr(lvl, "ilvl"), 0)] = level_format(lvl);
    } else if (xml_is(n, "num")) {
      std::string id(xml_attr(n, "numId"));
      ctx.num_abstract[id] = xml_child_val(n, "abstractNumId");
      for (pugi::xml_node o : n.children()) {
        if (!xml_is(o, "lvlOverride")) continue;
        if (pugi::xml_node lvl = xml_child(o, "lvl"))
          ctx.num_fmts[id][parse_int(xml_attr(o, "ilvl"), 0)] = level_format(lvl);
      }
    }
  }
}

// --- paragraph classification ------------------------------------------------------------------

// "title" -> 1, "heading 3" / "heading3" -> 3, else 0.
int heading_level_from_name(std::string_view name) {
  if (name == "title") return 1;
  if (!text_starts_with(name, "heading")) return 0;
  name.remove_prefix(7);
  if (!name.empty() && name.front() == ' ') name.remove_prefix(1);
  int n = parse_int(name, 0);
  return n >= 1 && n <= 9 ? std::min(n, 6) : 0;
}

int outline_to_heading(int outline) {
  return outline >= 0 && outline < 9 ? std::min(outline + 1, 6) : 0;
}

int docx_heading_level(const docx_context& ctx, const pugi::xml_node& ppr) {
  if (int direct = parse_int(xml_child_val(ppr, "outlineLvl"), -1); direct >= 0)
    return outline_to_heading(direct);
  std::string id(xml_child_val(ppr, "pStyle"));
  for (int hops = 0; !id.empty() && hops < 32; ++hops) {
    auto it = ctx.styles.find(id);
    if (it == ctx.styles.end())
      return heading_level_from_name(text_to_lower_ascii(id));  // no styles.xml entry
    if (int level = heading_level_from_name(it->second.name)) return level;
    if (it->second.outline_level >= 0) return outline_to_heading(it->second.outline_level);
    id = it->second.based_on;
  }
  return 0;
}

struct docx_list {
  bool is_list = false;
  int depth = 0;
  bool ordered = false;
};

docx_list docx_list_info(const docx_context& ctx, const pugi::xml_node& ppr) {
  std::string num_id;
  int level = -1;
  if (pugi::xml_node numpr = xml_child(ppr, "numPr")) {
    num_id = xml_child_val(numpr, "numId");
    level = parse_int(xml_child_val(numpr, "ilvl"), -1);
  }
  std::string id(xml_child_val(ppr, "pStyle"));
  for (int hops = 0; num_id.empty() && !id.empty() && hops < 32; ++hops) {
    auto it = ctx.styles.find(id);
    if (it == ctx.styles.end()) break;
    if (!it->second.num_id.empty()) {
      num_id = it->second.num_id;
      if (level < 0) level = it->second.num_level;
    }
    id = it->second.based_on;
  }
  docx_list out;
  if (num_id.empty() || num_id == "0") return out;  // numId 0 switches numbering off
  out.is_list = true;
  out.depth = std::clamp(level, 0, 8);
  std::string format;
  if (auto o = ctx.num_fmts.find(num_id); o != ctx.num_fmts.end() && o->second.count(out.depth))
    format = o->second.at(out.depth);
  else if (auto n = ctx.num_abstract.find(num_id); n != ctx.num_abstract.end())
    if (auto a = ctx.abstract_fmts.find(n->second);
        a != ctx.abstract_fmts.end() && a->second.count(out.depth))
      format = a->second.at(out.depth);
  out.ordered = !format.empty() && format != "bullet" && format != "none";
  return out;
}

// --- text --------------------------------------------------------------------------------------

// "[N]" for a footnote reference, numbering footnotes in order of first use; "" if unknown.
std::string docx_footnote_marker(docx_context& ctx, std::string_view id) {
  if (!ctx.footnote_text.count(std::string(id))) return "";
  auto it = std::find(ctx.footnotes_used.begin(), ctx.footnotes_used.end(), id);
  size_t number = static_cast<size_t>(it - ctx.footnotes_used.begin()) + 1;
  if (it == ctx.footnotes_used.end()) ctx.footnotes_used.emplace_back(id);
  return fmt::format("[{}]", number);
}

// Appends the visible text under node: runs, hyperlinks, smart tags, insertions, fields' results.
// Text boxes met on the way are collected into boxes for the caller to emit after the paragraph.
void docx_collect_text(docx_context& ctx, const pugi::xml_node& node, std::string& out,
                       std::vector<pugi::xml_node>& boxes, int depth) {
  if (too_deep(ctx, depth)) return;
  for (pugi::xml_node c : node.children()) {
    if (c.type() != pugi::node_element) continue;
    std::string_view n = xml_local_name(c);
    if (n == "t")
      out += c.child_value();
    else if (n == "tab" || n == "ptab")
      out += '\t';
    else if (n == "br" || n == "cr")
      out += '\n';
    else if (n == "noBreakHyphen")
      out += '-';
    else if (n == "txbxContent")
      boxes.push_back(c);
    else if (n == "AlternateContent")
      docx_collect_text(ctx, alternate_branch(c), out, boxes, depth + 1);
    else if (n == "footnoteReference")
      out += docx_footnote_marker(ctx, xml_attr(c, "id"));
    else if (n == "pPr" || n == "rPr" || n == "del" || n == "moveFrom" || n == "delText" ||
             n == "instrText" || n == "sdtPr" || n == "sdtEndPr" || n == "footnoteRef" ||
             n == "endnoteReference" || n == "commentReference")
      continue;
    else
      docx_collect_text(ctx, c, out, boxes, depth + 1);
  }
}

void docx_walk_blocks(docx_context& ctx, const pugi::xml_node& container, int depth);

void docx_paragraph(docx_context& ctx, const pugi::xml_node& p, int depth) {
  pugi::xml_node ppr = xml_child(p, "pPr");
  std::string text;
  std::vector<pugi::xml_node> boxes;
  docx_collect_text(ctx, p, text, boxes, depth + 1);
  if (int level = docx_heading_level(ctx, ppr)) {
    document_add_heading(*ctx.doc, level, text);
  } else if (docx_list list = docx_list_info(ctx, ppr); list.is_list) {
    document_add_list_item(*ctx.doc, list.depth, list.ordered, text);
  } else {
    document_add_paragraph(*ctx.doc, text);
  }
  for (const pugi::xml_node& box : boxes) docx_walk_blocks(ctx, box, depth + 1);
}

// Children named local, looking through content controls and custom XML wrappers (rows and
// cells may sit inside w:sdt/w:sdtContent).
void docx_children(const pugi::xml_node& node, std::string_view local, std::vector<pugi::xml_node>& out,
                   int depth) {
  if (depth > ooxml_max_depth) return;
  for (pugi::xml_node c : node.children()) {
    if (xml_is(c, local))
      out.push_back(c);
    else if (xml_is(c, "sdt"))
      docx_children(xml_child(c, "sdtContent"), local, out, depth + 1);
    else if (xml_is(c, "customXml"))
      docx_children(c, local, out, depth + 1);
  }
}

std::vector<std::vector<std::string>> docx_table_rows(docx_context& ctx, const pugi::xml_node& tbl,
                                                      int depth);

// A cell's paragraphs joined by newlines; a nested table is flattened into lines of cells.
std::string docx_cell_text(docx_context& ctx, const pugi::xml_node& tc, int depth) {
  std::string out;
  auto add = [&out](std::string_view piece) {
    piece = text_trim(piece);
    if (piece.empty()) return;
    if (!out.empty()) out += '\n';
    out += piece;
  };
  if (too_deep(ctx, depth)) return out;
  for (pugi::xml_node c : tc.children()) {
    if (xml_is(c, "p")) {
      std::string text;
      std::vector<pugi::xml_node> boxes;  // text boxes inside table cells are dropped
      docx_collect_text(ctx, c, text, boxes, depth + 1);
      add(text);
    } else if (xml_is(c, "tbl")) {
      for (const auto& row : docx_table_rows(ctx, c, depth + 1)) {
        std::string line;
        for (const auto& cell : row)
          if (!cell.empty()) line += (line.empty() ? "" : " ") + cell;
        add(line);
      }
    } else if (xml_is(c, "sdt")) {
      add(docx_cell_text(ctx, xml_child(c, "sdtContent"), depth + 1));
    } else if (xml_is(c, "customXml")) {
      add(docx_cell_text(ctx, c, depth + 1));
    }
  }
  return out;
}

std::vector<std::vector<std::string>> docx_table_rows(docx_context& ctx, const pugi::xml_node& tbl,
                                                      int depth) {
  std::vector<std::vector<std::string>> rows;
  if (too_deep(ctx, depth)) return rows;
  std::vector<pugi::xml_node> trs;
  docx_children(tbl, "tr", trs, 0);
  for (const pugi::xml_node& tr : trs) {
    std::vector<std::string> row;
    int before = parse_int(xml_child_val(xml_child(tr, "trPr"), "gridBefore"), 0);
    row.resize(static_cast<size_t>(std::clamp(before, 0, 64)));
    std::vector<pugi::xml_node> tcs;
    docx_children(tr, "tc", tcs, 0);
    for (const pugi::xml_node& tc : tcs) {
      row.push_back(docx_cell_text(ctx, tc, depth + 1));
      // A cell spanning N grid columns is followed by N-1 empty cells so columns line up.
      int span = parse_int(xml_child_val(xml_child(tc, "tcPr"), "gridSpan"), 1);
      for (int i = 1; i < std::clamp(span, 1, 64); ++i) row.emplace_back();
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

void docx_walk_blocks(docx_context& ctx, const pugi::xml_node& container, int depth) {
  if (too_deep(ctx, depth)) return;
  for (pugi::xml_node c : container.children()) {
    if (xml_is(c, "p"))
      docx_paragraph(ctx, c, depth);
    else if (xml_is(c, "tbl"))
      document_add_table(*ctx.doc, docx_table_rows(ctx, c, depth + 1));
    else if (xml_is(c, "sdt"))
      docx_walk_blocks(ctx, xml_child(c, "sdtContent"), depth + 1);
    else if (xml_is(c, "customXml"))
      docx_walk_blocks(ctx, c, depth + 1);
    else if (xml_is(c, "AlternateContent"))
      docx_walk_blocks(ctx, alternate_branch(c), depth + 1);
  }
}

// Footnote texts by id; separators (w:type set) carry no text of the author's.
void docx_load_footnotes(docx_context& ctx, const pugi::xml_node& root) {
  for (pugi::xml_node f : root.children()) {
    if (!xml_is(f, "footnote") || !xml_attr(f, "type").empty()) continue;
    std::string text;
    for (pugi::xml_node p : f.children()) {
      if (!xml_is(p, "p")) continue;
      std::string line;
      std::vector<pugi::xml_node> boxes;
      docx_collect_text(ctx, p, line, boxes, 1);
      std::string_view trimmed = text_trim(line);
      if (trimmed.empty()) continue;
      if (!text.empty()) text += ' ';
      text += trimmed;
    }
    if (!text.empty()) ctx.footnote_text[std::string(xml_attr(f, "id"))] = std::move(text);
  }
}

// Optional parts (styles, numbering, footnotes): a problem becomes a warning, not a failure.
void docx_load_optional(docx_context& ctx, const zip_archive& zip,
                        const std::vector<ooxml_relationship>& rels, std::string_view type,
                        const std::string& fallback, void (*load)(docx_context&, const pugi::xml_node&)) {
  const ooxml_relationship* rel = ooxml_find_type(rels, type);
  std::string part = rel ? rel->target : fallback;
  if (!zip.contains(part)) return;
  auto xml = ooxml_read_xml(zip, ctx.name, part);
  if (!xml.ok()) {
    ctx.doc->warnings.push_back(ooxml_warning(xml.err(), ctx.name) + "; ignoring it");
    return;
  }
  load(ctx, (*xml)->document_element());
}

}  // namespace

result<document> extract_docx(std::string_view bytes, const std::string& name) {
  auto zip = ooxml_open(bytes, name, "DOCX");
  if (!zip.ok()) return zip.err();
  auto main = ooxml_main_part(*zip, name, "DOCX", "word/document.xml");
  if (!main.ok()) return main.err();
  auto rels = ooxml_read_relationships(*zip, name, *main);
  if (!rels.ok()) return rels.err();

  document doc;
  docx_context ctx;
  ctx.name = name;
  ctx.doc = &doc;
  docx_load_optional(ctx, *zip, *rels, "styles", "word/styles.xml", docx_load_styles);
  docx_load_optional(ctx, *zip, *rels, "numbering", "word/numbering.xml", docx_load_numbering);
  docx_load_optional(ctx, *zip, *rels, "footnotes", "word/footnotes.xml", docx_load_footnotes);

  auto xml = ooxml_read_xml(*zip, name, *main);
  if (!xml.ok()) return xml.err();
  pugi::xml_node body = xml_child((*xml)->document_element(), "body");
  if (!body) return make_error(fmt::format("{}: part '{}' has no document body (w:body)", name, *main));
  docx_walk_blocks(ctx, body, 0);
  for (size_t i = 0; i < ctx.footnotes_used.size(); ++i)
    document_add_paragraph(doc, fmt::format("[{}] {}", i + 1, ctx.footnote_text[ctx.footnotes_used[i]]));
  if (doc.blocks.empty()) doc.warnings.push_back("no text found");
  return doc;
}

}  // namespace smelt
