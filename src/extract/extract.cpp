// Format detection and dispatch. Detection trusts content over the extension where the two
// disagree in a way that matters (a ZIP container named .txt is not text).
#include "extract/extract.h"

#include <fmt/format.h>

#include "core/files.h"
#include "core/text.h"
#include "extract/formats.h"

namespace smelt {

namespace fs = std::filesystem;

const std::vector<std::string>& extract_supported_formats() {
  static const std::vector<std::string> formats = {"pdf",  "docx", "pptx",     "xlsx", "csv",
                                                   "epub", "html", "markdown", "txt",  "eml"};
  return formats;
}

std::string extract_detect_format(const fs::path& path, std::string_view head) {
  std::string ext = text_to_lower_ascii(path.extension().string());
  if (ext == ".pdf") return "pdf";
  if (ext == ".docx") return "docx";
  if (ext == ".pptx") return "pptx";
  if (ext == ".xlsx") return "xlsx";
  if (ext == ".csv" || ext == ".tsv") return "csv";
  if (ext == ".epub") return "epub";
  if (ext == ".html" || ext == ".htm" || ext == ".xhtml") return "html";
  if (ext == ".md" || ext == ".markdown") return "markdown";
  if (ext == ".txt" || ext == ".text") return "txt";
  if (ext == ".eml") return "eml";
  if (text_starts_with(head, "%PDF-")) return "pdf";
  return "";
}

result<document> extract_bytes(std::string_view bytes, const std::string& name, const std::string& format) {
  if (bytes.empty()) return make_error(fmt::format("{}: empty file (0 bytes)", name));
  result<document> doc = make_error(fmt::format("{}: unsupported format '{}'", name, format));
  if (format == "pdf")
    doc = extract_pdf(bytes, name);
  else if (format == "docx")
    doc = extract_docx(bytes, name);
  else if (format == "pptx")
    doc = extract_pptx(bytes, name);
  else if (format == "xlsx")
    doc = extract_xlsx(bytes, name);
  else if (format == "csv")
    doc = extract_csv(bytes, name);
  else if (format == "epub")
    doc = extract_epub(bytes, name);
  else if (format == "html")
    doc = extract_html(bytes, name);
  else if (format == "markdown")
    doc = extract_markdown(bytes, name);
  else if (format == "txt")
    doc = extract_txt(bytes, name);
  else if (format == "eml")
    doc = extract_eml(bytes, name);
  if (!doc.ok()) return doc;
  document_make_valid_utf8(*doc);
  doc->source = name;
  doc->format = format;
  return doc;
}

result<document> extract_file(const fs::path& path) {
  std::string format = extract_detect_format(path, {});
  if (format.empty()) {
    // Unknown extension: look at the first bytes before giving up.
    auto bytes = file_read(path);
    if (!bytes.ok()) return bytes.err();
    format = extract_detect_format(path, std::string_view(*bytes).substr(0, 8));
    if (format.empty())
      return make_error(
          fmt::format("{}: unsupported file type '{}' (supported: pdf, docx, pptx, xlsx, csv, "
                      "epub, html, md, txt, eml)",
                      path.string(), path.extension().string()));
    return extract_bytes(*bytes, path.string(), format);
  }
  auto bytes = file_read(path);
  if (!bytes.ok()) return bytes.err();
  return extract_bytes(*bytes, path.string(), format);
}

}  // namespace smelt
