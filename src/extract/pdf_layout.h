// Layout analysis for PDF text: positioned words -> lines in reading order -> headings and
// paragraphs, with running headers/footers dropped. Pure geometry and text; reading the PDF
// (poppler) is extract_pdf.cpp's job. Coordinates are PDF points, origin top-left, y downwards.
#pragma once

#include <string>
#include <vector>

#include "extract/document.h"

namespace smelt {

struct pdf_word {
  std::string text;  // UTF-8
  double x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  double size = 0;           // font size in points
  bool space_after = false;  // the producer put a space after this word
};

struct pdf_line {
  std::string text;  // words joined; no trailing space
  double x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  double size = 0;   // font size carrying most characters
  size_t chars = 0;  // code points, for size statistics
};

struct pdf_page_lines {
  double width = 0, height = 0;
  std::vector<pdf_line> lines;  // reading order
};

// Groups a page's words into lines (top to bottom, words left to right) and, where the page has
// two clear columns, orders the left column before the right one between full-width lines.
std::vector<pdf_line> pdf_layout_lines(std::vector<pdf_word> words, double page_width);

// Removes lines in the top/bottom band whose text, ignoring digits, case and spacing, recurs on
// at least half the pages (and on 2 or more): running headers, "Page N of M", bare page numbers.
void pdf_remove_running_lines(std::vector<pdf_page_lines>& pages);

// Joins the text of two consecutive lines of one paragraph: a word hyphenated at the break is
// rejoined, CJK meets CJK without a space, everything else gets one space.
void pdf_join_line(std::string& paragraph, std::string_view next);

// Appends one page anchor per page, then that page's headings (font size clearly above the
// body size, level by size rank) and paragraphs (rebuilt from line spacing).
void pdf_build_document(document& doc, const std::vector<pdf_page_lines>& pages);

}  // namespace smelt
