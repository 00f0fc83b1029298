// PDF -> document through poppler-cpp: opens the file (refusing encrypted and damaged ones with
// a message that says what to do), reads each page's positioned words and hands them to
// pdf_layout for reading order, headings, paragraphs and header/footer removal. No OCR.
#include <fmt/format.h>

#include <poppler/cpp/poppler-document.h>
#include <poppler/cpp/poppler-global.h>
#include <poppler/cpp/poppler-page.h>
#include <limits>
#include <memory>

#include "core/text.h"
#include "extract/formats.h"
#include "extract/pdf_layout.h"

namespace smelt {

namespace {

// poppler prints syntax warnings to stderr by default; smelt reports problems itself.
void pdf_quiet_poppler() {
  static const bool silenced = [] {
    poppler::set_debug_error_function([](const std::string&, void*) {}, nullptr);
    return true;
  }();
  (void)silenced;
}

// A complete PDF ends with %%EOF (possibly followed by a little whitespace or junk); a file cut
// short by a failed download or copy does not.
bool pdf_has_eof_marker(std::string_view bytes) {
  std::string_view tail = bytes.substr(bytes.size() > 2048 ? bytes.size() - 2048 : 0);
  return tail.find("%%EOF") != std::string_view::npos;
}

std::vector<pdf_word> pdf_page_words(const poppler::page& page) {
  std::vector<pdf_word> words;
  std::vector<poppler::text_box> boxes = page.text_list(poppler::page::text_list_include_font);
  words.reserve(boxes.size());
  for (const poppler::text_box& box : boxes) {
    poppler::byte_array utf8 = box.text().to_utf8();
    std::string text = utf8_sanitize(std::string_view(utf8.data(), utf8.size()));
    if (text_trim(text).empty()) continue;
    poppler::rectf r = box.bbox();
    pdf_word w;
    w.text = std::move(text);
    w.x0 = r.left();
    w.y0 = r.top();
    w.x1 = r.right();
    w.y1 = r.bottom();
    double size = box.has_font_info() ? box.get_font_size() : 0;
    w.size = size > 0 ? size : r.height();
    w.space_after = box.has_space_after();
    words.push_back(std::move(w));
  }
  return words;
}

}  // namespace

result<document> extract_pdf(std::string_view bytes, const std::string& name) {
  pdf_quiet_poppler();
  if (bytes.substr(0, 1024).find("%PDF-") == std::string_view::npos)
    return make_error(fmt::format("{}: not a PDF file (no %PDF- header)", name));
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max()))
    return make_error(fmt::format("{}: PDF too large ({} bytes; at most 2 GiB)", name, bytes.size()));
  if (!pdf_has_eof_marker(bytes))
    return make_error(fmt::format("{}: truncated or damaged PDF (no %%EOF marker at the end of {} bytes)",
                                  name, bytes.size()));

  // poppler reads the bytes in place; they outlive the document object.
  std::unique_ptr<poppler::document> pdf(
      poppler::document::load_from_raw_data(bytes.data(), static_cast<int>(bytes.size())));
  if (!pdf) return make_error(fmt::format("{}: damaged PDF (poppler cannot read its structure)", name));
  if (pdf->is_locked())
    return make_error(
        fmt::format("{}: encrypted PDF (password required); decrypt it first, e.g. qpdf --decrypt "
                    "--password=PASSWORD in.pdf out.pdf",
                    name));

  int count = pdf->pages();
  std::vector<pdf_page_lines> pages(count > 0 ? count : 0);
  bool any_text = false;
  for (int i = 0; i < count; ++i) {
    std::unique_ptr<poppler::page> page(pdf->create_page(i));
    if (!page) continue;
    poppler::rectf box = page->page_rect(poppler::crop_box);
    bool turned =
        page->orientation() == poppler::page::landscape || page->orientation() == poppler::page::seascape;
    pages[i].width = turned ? box.height() : box.width();
    pages[i].height = turned ? box.width() : box.height();
    pages[i].lines = pdf_layout_lines(pdf_page_words(*page), pages[i].width);
    any_text = any_text || !pages[i].lines.empty();
  }

  document doc;
  if (!any_text) {
    for (int i = 0; i < count; ++i) document_add_anchor(doc, anchor_kind::page, i + 1);
    doc.warnings.push_back("no text layer — scanned? OCR is not enabled");
    return doc;
  }
  pdf_remove_running_lines(pages);
  pdf_build_document(doc, pages);
  return doc;
}

}  // namespace smelt
