// CSV/TSV files -> one table block (first row is the header) after a sheet anchor numbered 1.
// RFC 4180 quoting (quoted newlines, doubled quotes); the delimiter (comma, semicolon, tab) is
// sniffed from the first lines. Type inference of cells is left to readers of the table.
#include <fmt/format.h>

#include <array>
#include <filesystem>

#include "core/text.h"
#include "extract/encoding.h"
#include "extract/formats.h"

namespace smelt {

namespace {

// Counts delimiter candidates outside quotes per record over the first 20 records and picks the
// one with the most consistent non-zero count (ties: comma, semicolon, tab).
char csv_sniff_delimiter(std::string_view text) {
  constexpr std::array<char, 3> candidates = {',', ';', '\t'};
  std::array<std::vector<size_t>, 3> counts;
  std::array<size_t, 3> current{};
  bool quoted = false;
  size_t records = 0;
  for (size_t i = 0; i < text.size() && records < 20; ++i) {
    char c = text[i];
    if (c == '"') quoted = !quoted;
    if (quoted) continue;
    for (size_t k = 0; k < candidates.size(); ++k)
      if (c == candidates[k]) ++current[k];
    if (c == '\n' || i + 1 == text.size()) {
      for (size_t k = 0; k < candidates.size(); ++k) counts[k].push_back(current[k]), current[k] = 0;
      ++records;
    }
  }
  char best = ',';
  double best_score = 0;
  for (size_t k = 0; k < candidates.size(); ++k) {
    if (counts[k].empty() || counts[k][0] == 0) continue;
    size_t agree = 0;
    for (size_t n : counts[k]) agree += n == counts[k][0];
    double score = static_cast<double>(agree) / counts[k].size() * 1000 + static_cast<double>(counts[k][0]);
    if (score > best_score) best_score = score, best = candidates[k];
  }
  return best;
}

}  // namespace

result<document> extract_csv(std::string_view bytes, const std::string& name) {
  auto text = encoding_decode(bytes, name);
  if (!text.ok()) return text.err();
  std::string_view s = text->utf8;
  std::string ext = text_to_lower_ascii(std::filesystem::path(name).extension().string());
  char delimiter = ext == ".tsv" ? '\t' : csv_sniff_delimiter(s);

  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string cell;
  bool quoted = false, was_quoted = false;
  size_t line = 1, quote_line = 0;
  auto end_cell = [&] {
    row.push_back(was_quoted ? cell : std::string(text_trim(cell)));
    cell.clear();
    was_quoted = false;
  };
  auto end_row = [&] {
    end_cell();
    if (!(row.size() == 1 && row[0].empty())) rows.push_back(std::move(row));
    row.clear();
  };
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < s.size() && s[i + 1] == '"')
          cell += '"', ++i;
        else
          quoted = false;
      } else {
        if (c == '\n') ++line;
        if (c != '\r') cell += c;
      }
    } else if (c == '"' && text_trim(cell).empty()) {
      cell.clear();
      quoted = was_quoted = true;
      quote_line = line;
    } else if (c == delimiter) {
      end_cell();
    } else if (c == '\n') {
      ++line;
      end_row();
    } else if (c != '\r') {
      cell += c;
    }
  }
  if (quoted) return make_error(fmt::format("{}:{}: quoted field is never closed", name, quote_line));
  if (!cell.empty() || !row.empty()) end_row();

  document doc;
  document_add_anchor(doc, anchor_kind::sheet, 1, std::filesystem::path(name).stem().string());
  size_t columns = 0;
  for (const auto& r : rows) columns = std::max(columns, r.size());
  for (auto& r : rows) r.resize(columns);
  document_add_table(doc, std::move(rows));
  if (doc.blocks.empty()) doc.warnings.push_back("no rows found");
  return doc;
}

}  // namespace smelt
