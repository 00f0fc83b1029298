// PPTX (PresentationML) -> document: slides in presentation order (presentation.xml sldIdLst),
// each opened by a slide anchor, its title placeholder as a level-2 heading, then text boxes
// (bulleted paragraphs -> list items), tables, and the speaker notes behind a notes anchor.
// Slide layouts/masters (inherited placeholder text), charts, SmartArt and images are left out.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "core/text.h"
#include "extract/formats.h"
#include "extract/ooxml.h"

namespace smelt {

namespace {

struct pptx_slide {
  std::string title;
  document body;  // blocks after the title, in shape order
};

int parse_level(std::string_view s) {
  int v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && end == s.data() + s.size() ? std::clamp(v, 0, 8) : 0;
}

// Text of one a:p: runs, fields (slide numbers, dates) and line breaks.
std::string pptx_paragraph_text(const pugi::xml_node& p) {
  std::string out;
  for (pugi::xml_node c : p.children()) {
    if (xml_is(c, "r") || xml_is(c, "fld"))
      out += xml_child(c, "t").child_value();
    else if (xml_is(c, "br"))
      out += '\n';
  }
  return out;
}

// All paragraphs of a text body joined by newlines (titles, table cells, notes).
std::string pptx_body_text(const pugi::xml_node& tx_body) {
  std::string out;
  for (pugi::xml_node p : tx_body.children()) {
    if (!xml_is(p, "p")) continue;
    std::string text(text_trim(pptx_paragraph_text(p)));
    if (text.empty()) continue;
    if (!out.empty()) out += '\n';
    out += text;
  }
  return out;
}

// Placeholder type of a shape: "" when it is not a placeholder; "obj" when ph has no type.
std::string pptx_placeholder_type(const pugi::xml_node& sp) {
  pugi::xml_node ph = xml_child(xml_child(xml_child(sp, "nvSpPr"), "nvPr"), "ph");
  if (!ph) return "";
  std::string_view type = xml_attr(ph, "type");
  return type.empty() ? "obj" : std::string(type);
}

void pptx_text_shape(pptx_slide& slide, const pugi::xml_node& sp) {
  std::string ph = pptx_placeholder_type(sp);
  if (ph == "sldNum" || ph == "dt" || ph == "ftr" || ph == "hdr" || ph == "sldImg") return;
  pugi::xml_node tx_body = xml_child(sp, "txBody");
  if (!tx_body) return;
  if ((ph == "title" || ph == "ctrTitle") && slide.title.empty()) {
    slide.title = text_collapse_spaces(pptx_body_text(tx_body));
    if (!slide.title.empty()) return;
  }
  // Body and content placeholders are bulleted unless a paragraph says otherwise.
  bool bulleted_by_default = ph == "body" || ph == "obj";
  for (pugi::xml_node p : tx_body.children()) {
    if (!xml_is(p, "p")) continue;
    std::string text = pptx_paragraph_text(p);
    pugi::xml_node ppr = xml_child(p, "pPr");
    int level = parse_level(xml_attr(ppr, "lvl"));
    bool none = static_cast<bool>(xml_child(ppr, "buNone"));
    bool numbered = static_cast<bool>(xml_child(ppr, "buAutoNum"));
    bool bullet = numbered || static_cast<bool>(xml_child(ppr, "buChar")) ||
                  static_cast<bool>(xml_child(ppr, "buBlip"));
    if (!none && (bullet || bulleted_by_default || level > 0))
      document_add_list_item(slide.body, level, numbered, std::move(text));
    else
      document_add_paragraph(slide.body, std::move(text));
  }
}

void pptx_table(pptx_slide& slide, const pugi::xml_node& tbl) {
  std::vector<std::vector<std::string>> rows;
  for (pugi::xml_node tr : tbl.children()) {
    if (!xml_is(tr, "tr")) continue;
    std::vector<std::string> row;
    // Merged-away cells (hMerge/vMerge) are still written; they stay as (empty) placeholders.
    for (pugi::xml_node tc : tr.children())
      if (xml_is(tc, "tc")) row.push_back(pptx_body_text(xml_child(tc, "txBody")));
    rows.push_back(std::move(row));
  }
  document_add_table(slide.body, std::move(rows));
}

void pptx_walk_shapes(pptx_slide& slide, const pugi::xml_node& tree, int depth) {
  if (depth > ooxml_max_depth) return;
  for (pugi::xml_node c : tree.children()) {
    if (xml_is(c, "sp"))
      pptx_text_shape(slide, c);
    else if (xml_is(c, "grpSp"))
      pptx_walk_shapes(slide, c, depth + 1);
    else if (xml_is(c, "graphicFrame")) {
      pugi::xml_node data = xml_child(xml_child(c, "graphic"), "graphicData");
      if (pugi::xml_node tbl = xml_child(data, "tbl")) pptx_table(slide, tbl);
    } else if (xml_is(c, "AlternateContent")) {
      pugi::xml_node branch = xml_child(c, "Choice");
      pptx_walk_shapes(slide, branch ? branch : xml_child(c, "Fallback"), depth + 1);
    }
  }
}

pugi::xml_node pptx_shape_tree(const pugi::xml_document& xml) {
  return xml_child(xml_child(xml.document_element(), "cSld"), "spTree");
}

// Speaker notes: the text of the notes slide's body placeholder(s).
std::string pptx_notes_text(const pugi::xml_document& xml) {
  std::string out;
  for (pugi::xml_node sp : pptx_shape_tree(xml).children()) {
    if (!xml_is(sp, "sp") || pptx_placeholder_type(sp) != "body") continue;
    std::string text = pptx_body_text(xml_child(sp, "txBody"));
    if (text.empty()) continue;
    if (!out.empty()) out += '\n';
    out += text;
  }
  return out;
}

}  // namespace

result<document> extract_pptx(std::string_view bytes, const std::string& name) {
  auto zip = ooxml_open(bytes, name, "PPTX");
  if (!zip.ok()) return zip.err();
  auto main = ooxml_main_part(*zip, name, "PPTX", "ppt/presentation.xml");
  if (!main.ok()) return main.err();
  auto rels = ooxml_read_relationships(*zip, name, *main);
  if (!rels.ok()) return rels.err();
  auto presentation = ooxml_read_xml(*zip, name, *main);
  if (!presentation.ok()) return presentation.err();

  document doc;
  pugi::xml_node list = xml_child((*presentation)->document_element(), "sldIdLst");
  int number = 0;
  for (pugi::xml_node id : list.children()) {
    if (!xml_is(id, "sldId")) continue;
    ++number;
    const ooxml_relationship* rel = ooxml_find_id(*rels, xml_prefixed_attr(id, "id"));
    if (!rel || rel->external) {
      doc.warnings.push_back(fmt::format("slide {}: no slide part for relationship '{}'; skipped", number,
                                         xml_prefixed_attr(id, "id")));
      continue;
    }
    auto slide_xml = ooxml_read_xml(*zip, name, rel->target);
    if (!slide_xml.ok()) {
      doc.warnings.push_back(
          fmt::format("slide {}: {}; skipped", number, ooxml_warning(slide_xml.err(), name)));
      continue;
    }
    pptx_slide slide;
    pptx_walk_shapes(slide, pptx_shape_tree(**slide_xml), 0);

    document_add_anchor(doc, anchor_kind::slide, number, slide.title);
    document_add_heading(doc, 2, slide.title);
    document_append(doc, slide.body);

    auto slide_rels = ooxml_read_relationships(*zip, name, rel->target);
    if (!slide_rels.ok()) {
      doc.warnings.push_back(ooxml_warning(slide_rels.err(), name));
      continue;
    }
    if (const ooxml_relationship* notes = ooxml_find_type(*slide_rels, "notesSlide")) {
      auto notes_xml = ooxml_read_xml(*zip, name, notes->target);
      if (!notes_xml.ok()) {
        doc.warnings.push_back(
            fmt::format("slide {}: {}; notes skipped", number, ooxml_warning(notes_xml.err(), name)));
        continue;
      }
      std::string text = pptx_notes_text(**notes_xml);
      if (!text.empty()) {
        document_add_anchor(doc, anchor_kind::notes, number);
        document_add_paragraph(doc, "Notes: " + text);
      }
    }
  }
  if (number == 0) doc.warnings.push_back("presentation has no slides");
  return doc;
}

}  // namespace smelt
