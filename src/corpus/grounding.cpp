// Fuzzy quote location: normalization to code points with a map back to byte offsets, then
// approximate substring matching with O(quote * chunk) time and O(quote) memory.
#include "corpus/grounding.h"

#include <utf8proc.h>

#include <algorithm>
#include <vector>

#include "core/text.h"

namespace smelt {

namespace {

struct normalized_text {
  std::vector<char32_t> chars;
  std::vector<size_t> byte_begin;  // byte offset in the original of each kept character
  std::vector<size_t> byte_end;
};

// Keeps letters, digits and CJK ideographs, case-folded and width-folded (NFKC); drops spaces,
// punctuation and symbols, which quotes reproduce unreliably.
normalized_text grounding_normalize(std::string_view s) {
  normalized_text out;
  size_t i = 0;
  while (i < s.size()) {
    size_t start = i;
    char32_t cp = utf8_next(s, i);
    utf8proc_int32_t folded[8];
    utf8proc_ssize_t n = utf8proc_decompose_char(
        static_cast<utf8proc_int32_t>(cp), folded, 8,
        static_cast<utf8proc_option_t>(UTF8PROC_COMPAT | UTF8PROC_CASEFOLD | UTF8PROC_STRIPMARK), nullptr);
    if (n < 0) continue;
    for (utf8proc_ssize_t k = 0; k < n && k < 8; ++k) {
      utf8proc_category_t category = utf8proc_category(folded[k]);
      bool keep = (category >= UTF8PROC_CATEGORY_LU && category <= UTF8PROC_CATEGORY_LO) ||
                  (category >= UTF8PROC_CATEGORY_ND && category <= UTF8PROC_CATEGORY_NO);
      if (!keep) continue;
      out.chars.push_back(static_cast<char32_t>(folded[k]));
      out.byte_begin.push_back(start);
      out.byte_end.push_back(i);
    }
  }
  return out;
}

}  // namespace

grounding_match grounding_find(std::string_view quote, std::string_view chunk, double threshold) {
  grounding_match best;
  normalized_text q = grounding_normalize(quote);
  normalized_text c = grounding_normalize(chunk);
  size_t m = q.chars.size();
  if (m == 0 || c.chars.empty()) return best;
  // Most quotes are verbatim: an exact normalized match needs no alignment.
  auto exact = std::search(c.chars.begin(), c.chars.end(), q.chars.begin(), q.chars.end());
  if (exact != c.chars.end()) {
    size_t first = static_cast<size_t>(exact - c.chars.begin());
    best.score = 1.0;
    best.begin = c.byte_begin[first];
    best.end = c.byte_end[first + m - 1];
    best.found = true;
    return best;
  }
  // column[i] = edit distance between q[0..i) and the best substring of c ending at the current
  // position; start[i] = where that substring starts. Row 0 is free (match may start anywhere).
  std::vector<size_t> column(m + 1), start(m + 1);
  for (size_t i = 0; i <= m; ++i) column[i] = i, start[i] = 0;
  size_t best_distance = m, best_end = 0, best_start = 0;
  for (size_t j = 1; j <= c.chars.size(); ++j) {
    size_t diagonal = column[0], diagonal_start = start[0];
    column[0] = 0;
    start[0] = j;
    for (size_t i = 1; i <= m; ++i) {
      size_t up = column[i], up_start = start[i];
      size_t substitute = diagonal + (q.chars[i - 1] == c.chars[j - 1] ? 0 : 1);
      size_t from_left = column[i - 1] + 1;  // a quote character with no chunk counterpart
      size_t from_up = up + 1;               // a chunk character missing from the quote
      size_t value = substitute;
      size_t value_start = diagonal_start;
      if (from_up < value) value = from_up, value_start = up_start;
      if (from_left < value) value = from_left, value_start = start[i - 1];
      diagonal = up;
      diagonal_start = up_start;
      column[i] = value;
      start[i] = value_start;
    }
    if (column[m] < best_distance) {
      best_distance = column[m];
      best_end = j;
      best_start = start[m];
    }
  }
  best.score = 1.0 - static_cast<double>(best_distance) / static_cast<double>(m);
  if (best_end > best_start) {
    best.begin = c.byte_begin[best_start];
    best.end = c.byte_end[best_end - 1];
  }
  best.found = best.score >= threshold;
  return best;
}

}  // namespace smelt
