// HTML files: charset (BOM, <meta charset>, detection) then html_blocks.h does the structure.
// The <title> becomes a level-1 heading only when the page itself has no heading at all.
#include <fmt/format.h>

#include "extract/encoding.h"
#include "extract/formats.h"
#include "extract/html_blocks.h"

namespace smelt {

result<document> extract_html(std::string_view bytes, const std::string& name) {
  auto text = encoding_decode(bytes, name, html_declared_charset(bytes));
  if (!text.ok()) return text.err();
  document doc;
  html_to_document(text->utf8, doc);
  bool has_heading = false;
  for (const block& b : doc.blocks) has_heading |= b.kind == block_kind::heading;
  if (!has_heading) {
    std::string title = html_title(text->utf8);
    if (!title.empty()) {
      document titled;
      document_add_heading(titled, 1, title);
      document_append(titled, doc);
      doc = std::move(titled);
    }
  }
  if (doc.blocks.empty()) doc.warnings.push_back("no text found in the HTML body");
  return doc;
}

}  // namespace smelt
