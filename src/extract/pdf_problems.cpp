// Classifies poppler's messages about fonts it cannot use and words the resulting warnings (see
// pdf_problems.h). The message texts are poppler's (GfxFont.cc, CMap.cc, Gfx.cc, 22.x and later).
#include "extract/pdf_problems.h"

#include <fmt/format.h>

namespace smelt {

namespace {

// The text between the last pair of single quotes in MESSAGE, or "".
std::string_view pdf_last_quoted(std::string_view message) {
  size_t close = message.rfind('\'');
  if (close == std::string_view::npos || close == 0) return {};
  size_t open = message.rfind('\'', close - 1);
  if (open == std::string_view::npos) return {};
  return message.substr(open + 1, close - open - 1);
}

// What a user reading a warning knows the collection as.
const char* pdf_collection_language(std::string_view collection) {
  if (collection == "Adobe-GB1") return "simplified Chinese";
  if (collection == "Adobe-CNS1") return "traditional Chinese";
  if (collection == "Adobe-Japan1" || collection == "Adobe-Japan2") return "Japanese";
  if (collection == "Adobe-Korea1") return "Korean";
  return nullptr;
}

}  // namespace

void pdf_problems_note(pdf_page_problems& page, std::string_view message) {
  // poppler-cpp prefixes "error: " or "error (BYTE OFFSET): ".
  if (size_t colon = message.find(": "); colon != std::string_view::npos) message.remove_prefix(colon + 2);
  bool no_pack = message.starts_with("Missing language pack for '");
  bool no_cmap = message.starts_with("Couldn't find '") && message.find("' CMap file for '") != message.npos;
  if (no_pack || no_cmap) {
    std::string_view collection = pdf_last_quoted(message);
    if (!collection.empty()) page.missing_packs.emplace(collection);
  } else if (message.starts_with("No font in ")) {  // show, show/space, move/show, move/set/show
    ++page.dropped_shows;
  }
}

std::vector<std::string> pdf_problems_warnings(const std::vector<pdf_page_problems>& pages,
                                               const std::string& data_dir) {
  std::vector<int> dropped;
  std::set<std::string> packs;
  for (size_t i = 0; i < pages.size(); ++i) {
    if (pages[i].dropped_shows > 0) dropped.push_back(static_cast<int>(i) + 1);
    packs.insert(pages[i].missing_packs.begin(), pages[i].missing_packs.end());
  }
  // A font that is named but never shown loses nothing, so only pages with dropped text count.
  if (dropped.empty()) return {};
  if (packs.empty())
    return {fmt::format("{}: text in a font poppler cannot load was dropped (a damaged or unsupported font)",
                        pdf_page_list(dropped))};
  std::string names;
  size_t n = 0;
  for (const std::string& pack : packs) {
    names += n == 0 ? "" : n + 1 == packs.size() ? " and " : ", ";
    ++n;
    const char* language = pdf_collection_language(pack);
    names += language ? fmt::format("{} ({})", pack, language) : pack;
  }
  std::string where = data_dir.empty() ? "" : fmt::format(" from SMELT_POPPLER_DATA_DIR ({})", data_dir);
  std::string fix = data_dir.empty()
                        ? "install poppler-data (e.g. apt install poppler-data)"
                        : "install poppler-data and point SMELT_POPPLER_DATA_DIR at its folder, or unset it";
  return {fmt::format("{}: text in {} fonts was dropped: poppler's language {} missing{}; {}",
                      pdf_page_list(dropped), names, packs.size() == 1 ? "pack is" : "packs are", where,
                      fix)};
}

std::string pdf_page_list(const std::vector<int>& pages) {
  std::string out = pages.size() == 1 ? "page " : "pages ";
  for (size_t i = 0; i < pages.size();) {
    size_t j = i;
    while (j + 1 < pages.size() && pages[j + 1] == pages[j] + 1) ++j;
    if (i > 0) out += ", ";
    out += j == i ? fmt::format("{}", pages[i]) : fmt::format("{}-{}", pages[i], pages[j]);
    i = j + 1;
  }
  return out;
}

}  // namespace smelt
