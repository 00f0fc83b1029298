// XLSX (SpreadsheetML) -> document: one sheet anchor, a level-2 heading (the sheet name) and one
// table per worksheet, in workbook order. Cell values as stored: shared/inline strings, numbers
// (integers without ".0"), TRUE/FALSE, error codes, cached formula results. Number formats (dates,
// percentages), merged cells, charts and comments are left out.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "core/text.h"
#include "extract/formats.h"
#include "extract/ooxml.h"

namespace smelt {

namespace {

// Biggest table we build from one sheet (rows x columns after trimming); beyond it rows are cut.
constexpr size_t xlsx_max_cells = 1u << 20;
constexpr long xlsx_max_columns = 1024;
// Worksheet XML spends ~50-100 bytes per cell, so this admits sheets near the cell cap above.
constexpr size_t xlsx_max_sheet_bytes = 160u << 20;

struct xlsx_cell {
  long row = 0;  // 0-based
  long col = 0;
  std::string text;
};

// Text of a shared-string item or inline string: plain t, or rich-text runs r/t; phonetic
// guides (rPh) are not part of the value.
std::string xlsx_string_item(const pugi::xml_node& si) {
  std::string out;
  for (pugi::xml_node c : si.children()) {
    if (xml_is(c, "t"))
      out += c.child_value();
    else if (xml_is(c, "r"))
      out += xml_child(c, "t").child_value();
  }
  return out;
}

// "B3" -> row 2, col 1 (0-based). False if the reference is malformed or outside Excel's grid.
bool xlsx_parse_ref(std::string_view ref, long& row, long& col) {
  size_t i = 0;
  long c = 0;
  while (i < ref.size() && i < 3 && ref[i] >= 'A' && ref[i] <= 'Z') c = c * 26 + (ref[i++] - 'A' + 1);
  if (i == 0 || i == ref.size()) return false;
  long r = 0;
  auto [end, ec] = std::from_chars(ref.data() + i, ref.data() + ref.size(), r);
  if (ec != std::errc() || end != ref.data() + ref.size() || r < 1 || r > 1048576 || c > 16384) return false;
  row = r - 1;
  col = c - 1;
  return true;
}

// Numbers as stored, except that integral values lose a trailing ".0"/exponent ("1.0E+3" -> "1000").
std::string xlsx_number_text(std::string_view stored) {
  stored = text_trim(stored);
  double v = 0;
  auto [end, ec] = std::from_chars(stored.data(), stored.data() + stored.size(), v);
  if (ec != std::errc() || end != stored.data() + stored.size() || !std::isfinite(v))
    return std::string(stored);
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{}", static_cast<long long>(v));
  return std::string(stored);
}

std::string xlsx_cell_value(const pugi::xml_node& c, const std::vector<std::string>& shared) {
  std::string_view type = xml_attr(c, "t");
  std::string_view v = xml_child(c, "v").child_value();
  if (type == "inlineStr") return xlsx_string_item(xml_child(c, "is"));
  if (type == "s") {
    size_t index = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), index);
    return ec == std::errc() && index < shared.size() ? shared[index] : std::string();
  }
  if (type == "b") return v.empty() ? "" : (v == "0" ? "FALSE" : "TRUE");
  if (type == "str" || type == "e" || type == "d") return std::string(v);
  return xlsx_number_text(v);
}

// Rows of one worksheet, trimmed to the cells that hold something.
std::vector<std::vector<std::string>> xlsx_sheet_rows(const pugi::xml_document& xml,
                                                      const std::vector<std::string>& shared,
                                                      std::vector<std::string>& warnings,
                                                      const std::string& where) {
  std::vector<xlsx_cell> cells;
  long next_row = 0;
  for (pugi::xml_node row : xml_child(xml.document_element(), "sheetData").children()) {
    if (!xml_is(row, "row")) continue;
    long row_index = next_row;
    std::string_view row_ref = xml_attr(row, "r");
    long r = 0;
    auto [end, ec] = std::from_chars(row_ref.data(), row_ref.data() + row_ref.size(), r);
    if (ec == std::errc() && end == row_ref.data() + row_ref.size() && r >= 1 && r <= 1048576)
      row_index = r - 1;
    next_row = row_index + 1;
    long next_col = 0;
    for (pugi::xml_node c : row.children()) {
      if (!xml_is(c, "c")) continue;
      long r = row_index, col = next_col;  // cells without a reference follow the previous one
      xlsx_parse_ref(xml_attr(c, "r"), r, col);
      next_col = col + 1;
      std::string text = xlsx_cell_value(c, shared);
      if (!text_trim(text).empty()) cells.push_back({r, col, std::move(text)});
    }
  }
  if (cells.empty()) return {};
  long first_col = std::numeric_limits<long>::max();
  for (const auto& c : cells) first_col = std::min(first_col, c.col);
  // Stray cells far to the right would make every row enormous: keep a bounded width.
  size_t before = cells.size();
  std::erase_if(cells, [&](const xlsx_cell& c) { return c.col - first_col >= xlsx_max_columns; });
  if (cells.size() != before)
    warnings.push_back(
        fmt::format("{}: cells beyond {} columns from the first used one dropped", where, xlsx_max_columns));
  long last_col = -1;
  for (const auto& c : cells) last_col = std::max(last_col, c.col);
  size_t columns = static_cast<size_t>(last_col - first_col + 1);
  // Rows with no value are left out (the document model drops empty table rows anyway).
  std::stable_sort(cells.begin(), cells.end(),
                   [](const xlsx_cell& x, const xlsx_cell& y) { return x.row < y.row; });
  size_t max_rows = std::max<size_t>(1, xlsx_max_cells / columns);
  std::vector<std::vector<std::string>> rows;
  long current = -1;
  for (auto& c : cells) {
    if (c.row != current) {
      if (rows.size() == max_rows) {
        warnings.push_back(fmt::format("{}: sheet too large; kept its first {} rows", where, max_rows));
        break;
      }
      rows.emplace_back(columns);
      current = c.row;
    }
    rows.back()[static_cast<size_t>(c.col - first_col)] = std::move(c.text);
  }
  return rows;
}

}  // namespace

result<document> extract_xlsx(std::string_view bytes, const std::string& name) {
  auto zip = ooxml_open(bytes, name, "XLSX");
  if (!zip.ok()) return zip.err();
  auto main = ooxml_main_part(*zip, name, "XLSX", "xl/workbook.xml");
  if (!main.ok()) return main.err();
  auto rels = ooxml_read_relationships(*zip, name, *main);
  if (!rels.ok()) return rels.err();
  auto workbook = ooxml_read_xml(*zip, name, *main);
  if (!workbook.ok()) return workbook.err();

  std::vector<std::string> shared;
  const ooxml_relationship* sst_rel = ooxml_find_type(*rels, "sharedStrings");
  std::string sst_part = sst_rel ? sst_rel->target : "xl/sharedStrings.xml";
  if (zip->contains(sst_part)) {
    auto sst = ooxml_read_xml(*zip, name, sst_part);
    if (!sst.ok()) return sst.err();  // every string cell would be wrong: fail rather than mislead
    for (pugi::xml_node si : (*sst)->document_element().children())
      if (xml_is(si, "si")) shared.push_back(xlsx_string_item(si));
  }

  document doc;
  int number = 0;
  for (pugi::xml_node sheet : xml_child((*workbook)->document_element(), "sheets").children()) {
    if (!xml_is(sheet, "sheet")) continue;
    ++number;
    std::string sheet_name(xml_attr(sheet, "name"));
    if (sheet_name.empty()) sheet_name = fmt::format("Sheet {}", number);
    const ooxml_relationship* rel = ooxml_find_id(*rels, xml_prefixed_attr(sheet, "id"));
    if (!rel || rel->external) {
      doc.warnings.push_back(fmt::format("sheet '{}': no worksheet part; skipped", sheet_name));
      continue;
    }
    auto sheet_xml = ooxml_read_xml(*zip, name, rel->target, xlsx_max_sheet_bytes);
    if (!sheet_xml.ok()) {
      doc.warnings.push_back(
          fmt::format("sheet '{}': {}; skipped", sheet_name, ooxml_warning(sheet_xml.err(), name)));
      continue;
    }
    document_add_anchor(doc, anchor_kind::sheet, number, sheet_name);
    document_add_heading(doc, 2, sheet_name);
    document_add_table(
        doc, xlsx_sheet_rows(**sheet_xml, shared, doc.warnings, fmt::format("sheet '{}'", sheet_name)));
  }
  if (number == 0) doc.warnings.push_back("workbook has no sheets");
  return doc;
}

}  // namespace smelt
