// Problems poppler reports while reading a PDF's pages, turned into warnings a user can act on:
// text dropped because a non-embedded CJK font's CMap or language pack (poppler-data) is missing,
// or because a font poppler cannot use at all. Routing poppler's messages to the page being read
// is extract_pdf.cpp's job; this file only classifies messages and words the warnings.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace smelt {

struct pdf_page_problems {
  std::set<std::string> missing_packs;  // character collections poppler has no data for ("Adobe-GB1")
  int dropped_shows = 0;                // text-showing operators skipped for want of a usable font
};

// Records one message from poppler's error callback ("error (2397): No font in show",
// "error: Missing language pack for 'Adobe-GB1' mapping") against a page; others are ignored.
void pdf_problems_note(pdf_page_problems& page, std::string_view message);

// Warnings for a document's pages (index = page number - 1), each starting "page N: " or
// "pages A-B, C: ". data_dir: the SMELT_POPPLER_DATA_DIR in effect, empty for poppler's own.
std::vector<std::string> pdf_problems_warnings(const std::vector<pdf_page_problems>& pages,
                                               const std::string& data_dir);

// 1-based page numbers (ascending) -> "page 3", "pages 1-3, 7".
std::string pdf_page_list(const std::vector<int>& pages);

}  // namespace smelt
