// PDF -> document through poppler-cpp: opens the file (refusing encrypted and damaged ones with
// a message that says what to do), reads each page's positioned words and hands them to
// pdf_layout for reading order, headings, paragraphs and header/footer removal, and warns where
// poppler dropped text (fonts it cannot use, missing poppler-data; see pdf_problems.h). No OCR.
#include <fmt/format.h>

#include <poppler/cpp/poppler-document.h>
#include <poppler/cpp/poppler-global.h>
#include <poppler/cpp/poppler-page.h>
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <limits>
#include <memory>
#include <system_error>
#include <thread>

#include "core/text.h"
#include "extract/formats.h"
#include "extract/pdf_layout.h"
#include "extract/pdf_problems.h"

namespace smelt {

namespace {

// The page this thread is reading, where poppler's messages about it are collected; null while
// no page is being read (messages about the file's structure are dropped: smelt reports those).
thread_local pdf_page_problems* pdf_current_page = nullptr;

// poppler calls this on the thread that hit the problem, instead of printing to stderr.
void pdf_poppler_message(const std::string& message, void*) {
  if (pdf_current_page) pdf_problems_note(*pdf_current_page, message);
}

// Routes poppler's messages to pdf_poppler_message and applies SMELT_POPPLER_DATA_DIR, once, before
// the first document exists (poppler reads its data dir when its first document is made).
// SMELT_POPPLER_DATA_DIR points poppler at poppler-data (CMaps, CJK language packs) installed
// somewhere other than poppler's built-in path (/usr/share/poppler on Debian), e.g. without root.
// Returns the override in effect, or "".
const std::string& pdf_setup_poppler() {
  static const std::string data_dir = [] {
    poppler::set_debug_error_function(pdf_poppler_message, nullptr);
    const char* dir = std::getenv("SMELT_POPPLER_DATA_DIR");
    if (!dir || !*dir || !poppler::set_data_dir(dir)) return std::string();
    return std::string(dir);
  }();
  return data_dir;
}

// Below this many pages per thread, starting another thread (and parsing the PDF again for it)
// costs more than it saves.
constexpr int pages_per_worker = 16;

// A complete PDF ends with %%EOF (possibly followed by a little whitespace or junk); a file cut
// short by a failed download or copy does not.
bool pdf_has_eof_marker(std::string_view bytes) {
  std::string_view tail = bytes.substr(bytes.size() > 2048 ? bytes.size() - 2048 : 0);
  return tail.find("%%EOF") != std::string_view::npos;
}

// poppler's own ustring::to_utf8 opens an iconv converter per call, which costs more than the
// rest of a word's processing; UTF-16 is simple enough to decode here. Lone surrogates -> U+FFFD.
std::string pdf_utf16_to_utf8(const poppler::ustring& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char32_t cp = s[i];
    if (cp >= 0xD800 && cp <= 0xDBFF && i + 1 < s.size() && s[i + 1] >= 0xDC00 && s[i + 1] <= 0xDFFF) {
      cp = 0x10000 + ((cp - 0xD800) << 10) + (s[i + 1] - 0xDC00);
      ++i;
    } else if (cp >= 0xD800 && cp <= 0xDFFF) {
      cp = 0xFFFD;
    }
    utf8_append(out, cp);
  }
  return out;
}

std::vector<pdf_word> pdf_page_words(const poppler::page& page) {
  std::vector<pdf_word> words;
  std::vector<poppler::text_box> boxes = page.text_list(poppler::page::text_list_include_font);
  words.reserve(boxes.size());
  for (const poppler::text_box& box : boxes) {
    std::string text = pdf_utf16_to_utf8(box.text());
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

void pdf_read_page(const poppler::document& pdf, int index, pdf_page_lines& out,
                   pdf_page_problems& problems) {
  pdf_current_page = &problems;
  struct reset {
    ~reset() { pdf_current_page = nullptr; }
  } reset_current;
  std::unique_ptr<poppler::page> page(pdf.create_page(index));
  if (!page) return;
  poppler::rectf box = page->page_rect(poppler::crop_box);
  bool turned =
      page->orientation() == poppler::page::landscape || page->orientation() == poppler::page::seascape;
  out.width = turned ? box.height() : box.width();
  out.height = turned ? box.width() : box.height();
  out.lines = pdf_layout_lines(pdf_page_words(*page), out.width);
}

// Pages are independent until header/footer removal, so long PDFs are read by several threads,
// each with its own poppler document over the same bytes (a poppler document is not to be
// shared between threads; separate ones are safe). Threads take the next unread page.
void pdf_read_pages(const poppler::document& first, std::string_view bytes,
                    std::vector<pdf_page_lines>& pages, std::vector<pdf_page_problems>& problems) {
  int count = static_cast<int>(pages.size());
  unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  int workers = static_cast<int>(
      std::min<unsigned>({hw, 8u, static_cast<unsigned>((count + pages_per_worker - 1) / pages_per_worker)}));
  std::atomic<int> next{0};
  auto work = [&](const poppler::document& pdf) {
    for (int i; (i = next.fetch_add(1)) < count;) pdf_read_page(pdf, i, pages[i], problems[i]);
  };
  std::vector<std::thread> threads;
  std::vector<std::unique_ptr<poppler::document>> copies;
  for (int t = 1; t < workers; ++t) {
    std::unique_ptr<poppler::document> copy(
        poppler::document::load_from_raw_data(bytes.data(), static_cast<int>(bytes.size())));
    if (!copy || copy->is_locked()) break;
    copies.push_back(std::move(copy));
    try {
      threads.emplace_back(work, std::cref(*copies.back()));
    } catch (const std::system_error&) {
      break;  // no more threads to be had: the ones running (and this one) finish the work
    }
  }
  work(first);
  for (auto& t : threads) t.join();
}

}  // namespace

result<document> extract_pdf(std::string_view bytes, const std::string& name) {
  const std::string& data_dir = pdf_setup_poppler();
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

  int count = std::max(pdf->pages(), 0);
  std::vector<pdf_page_lines> pages(count);
  std::vector<pdf_page_problems> problems(count);
  pdf_read_pages(*pdf, bytes, pages, problems);
  bool any_text =
      std::any_of(pages.begin(), pages.end(), [](const pdf_page_lines& p) { return !p.lines.empty(); });

  document doc;
  doc.warnings = pdf_problems_warnings(problems, data_dir);
  if (!any_text) {
    for (int i = 0; i < count; ++i) document_add_anchor(doc, anchor_kind::page, i + 1);
    // Text that poppler dropped is a text layer all the same; its warning says what to do.
    if (doc.warnings.empty()) doc.warnings.push_back("no text layer — scanned? OCR is not enabled");
    return doc;
  }
  pdf_remove_running_lines(pages);
  pdf_build_document(doc, pages);
  return doc;
}

}  // namespace smelt
