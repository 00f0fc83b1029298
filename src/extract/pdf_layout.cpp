// Layout analysis for PDF text (see pdf_layout.h). Everything here is linear or n log n in the
// number of words of a page, so a long PDF costs what its pages cost; nothing looks at pixels.
// Thresholds are in units of the font size, so they hold at any scale.
#include "extract/pdf_layout.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <unordered_map>

#include "core/text.h"

namespace smelt {

namespace {

// Gap between words, in font sizes, beyond which two runs on one line are separate segments
// (columns, table cells). Justified text rarely stretches a space past one em.
constexpr double segment_gap_em = 2.5;
// Running headers/footers are looked for in this fraction of the page at the top and bottom.
constexpr double running_band = 0.1;

double round_size(double size) {
  return std::round(size * 2.0) / 2.0;
}

bool is_hyphen_end(std::string_view s, size_t& cut) {
  if (text_ends_with(s, "-"))
    cut = 1;
  else if (text_ends_with(s, "\xC2\xAD"))
    cut = 2;  // U+00AD soft hyphen
  else if (text_ends_with(s, "\xE2\x80\x90"))
    cut = 3;  // U+2010 hyphen
  else
    return false;
  return true;
}

char32_t last_codepoint(std::string_view s) {
  if (s.empty()) return 0;
  size_t i = s.size() - 1;
  while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
  return utf8_next(s, i);
}

char32_t first_codepoint(std::string_view s) {
  size_t i = 0;
  return s.empty() ? 0 : utf8_next(s, i);
}

bool is_letter(char32_t cp) {
  return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= 0xC0 && !codepoint_is_cjk(cp));
}

struct segment {
  std::vector<const pdf_word*> words;  // left to right
  double x0 = 0, x1 = 0;
  size_t line = 0;  // index of the physical line it came from
};

pdf_line segment_to_line(const segment& seg) {
  pdf_line out;
  out.x0 = seg.x0;
  out.x1 = seg.x1;
  out.y0 = seg.words.front()->y0;
  out.y1 = seg.words.front()->y1;
  std::map<double, size_t> size_chars;
  const pdf_word* previous = nullptr;
  for (const pdf_word* w : seg.words) {
    if (previous) {
      double gap = w->x0 - previous->x1;
      if (previous->space_after || gap > 0.2 * std::max(previous->size, w->size)) out.text += ' ';
    }
    out.text += w->text;
    size_t n = utf8_length(w->text);
    out.chars += n;
    size_chars[round_size(w->size)] += n;
    out.y0 = std::min(out.y0, w->y0);
    out.y1 = std::max(out.y1, w->y1);
    previous = w;
  }
  size_t best = 0;
  for (const auto& [size, n] : size_chars)
    if (n > best) best = n, out.size = size;
  return out;
}

// Looks for a vertical gutter in the middle half of the page that many lines have text on both
// sides of. Returns the gutter's x, or a negative value for a single-column page.
double find_gutter(const std::vector<segment>& segments, double page_width) {
  if (page_width <= 0 || segments.size() < 6) return -1;
  size_t width = static_cast<size_t>(std::ceil(page_width)) + 2;
  std::vector<int> delta(width + 1, 0);
  for (const auto& s : segments) {
    size_t a = static_cast<size_t>(std::clamp(std::floor(s.x0), 0.0, double(width)));
    size_t b = static_cast<size_t>(std::clamp(std::ceil(s.x1), 0.0, double(width)));
    if (a < b) ++delta[a], --delta[b];
  }
  // Coverage of each 1pt column in the middle half; the gutter is the middle of the longest run
  // at the lowest coverage.
  size_t lo = static_cast<size_t>(page_width * 0.25), hi = static_cast<size_t>(page_width * 0.75);
  std::vector<int> coverage(hi, 0);
  int running = 0, best_cov = 1 << 30;
  for (size_t x = 0; x < hi; ++x) {
    running += delta[x];
    coverage[x] = running;
    if (x >= lo) best_cov = std::min(best_cov, running);
  }
  size_t best_start = 0, best_len = 0;
  for (size_t x = lo; x < hi;) {
    if (coverage[x] != best_cov) {
      ++x;
      continue;
    }
    size_t start = x;
    while (x < hi && coverage[x] == best_cov) ++x;
    if (x - start > best_len) best_len = x - start, best_start = start;
  }
  if (best_len == 0) return -1;
  double gutter = best_start + best_len / 2.0;
  // Count physical lines with a substantial run of text on each side of the gutter.
  double min_width = page_width * 0.15;
  size_t pairs = 0;
  for (size_t i = 0; i < segments.size();) {
    size_t j = i;
    bool left = false, right = false;
    for (; j < segments.size() && segments[j].line == segments[i].line; ++j) {
      const segment& s = segments[j];
      if (s.x1 <= gutter && s.x1 - s.x0 >= min_width) left = true;
      if (s.x0 >= gutter && s.x1 - s.x0 >= min_width) right = true;
    }
    pairs += left && right;
    i = j;
  }
  if (pairs < 3 || best_cov * 2 > static_cast<int>(pairs)) return -1;
  return gutter;
}

// Length of a leading bullet glyph and its space ("• item"), 0 if the line has none.
size_t bullet_length(std::string_view text) {
  for (std::string_view b : {"\u2022 ", "\u25E6 ", "\u25AA ", "\u2023 ", "\u2043 ", "\u25CF "})
    if (text_starts_with(text, b)) return b.size();
  return 0;
}

std::string running_key(std::string_view text) {
  std::string key;
  for (char c : text) {
    if (c >= '0' && c <= '9') continue;
    key += (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c;
  }
  return text_collapse_spaces(key);
}

}  // namespace

std::vector<pdf_line> pdf_layout_lines(std::vector<pdf_word> words, double page_width) {
  std::vector<pdf_line> out;
  if (words.empty()) return out;
  auto center = [](const pdf_word& w) { return (w.y0 + w.y1) / 2; };
  std::stable_sort(words.begin(), words.end(),
                   [&](const pdf_word& a, const pdf_word& b) { return center(a) < center(b); });

  // Physical lines: a word joins one of the few most recent lines whose first word's vertical
  // centre is within 40% of the smaller height; sorting by centre keeps that window small.
  struct raw_line {
    double center = 0, height = 0;
    std::vector<const pdf_word*> words;
  };
  std::vector<raw_line> lines;
  for (const pdf_word& w : words) {
    double h = std::max(w.y1 - w.y0, 0.1);
    raw_line* target = nullptr;
    for (size_t k = lines.size(); k-- > 0 && k + 4 >= lines.size();) {
      raw_line& l = lines[k];
      if (std::abs(center(w) - l.center) <= 0.4 * std::min(h, l.height)) {
        target = &l;
        break;
      }
    }
    if (!target) {
      lines.push_back({center(w), h, {}});
      target = &lines.back();
    }
    target->words.push_back(&w);
  }
  std::stable_sort(lines.begin(), lines.end(),
                   [](const raw_line& a, const raw_line& b) { return a.center < b.center; });

  // Segments: runs of a line separated by wide gaps.
  std::vector<segment> segments;
  for (size_t li = 0; li < lines.size(); ++li) {
    auto& lw = lines[li].words;
    std::stable_sort(lw.begin(), lw.end(),
                     [](const pdf_word* a, const pdf_word* b) { return a->x0 < b->x0; });
    for (const pdf_word* w : lw) {
      bool split = segments.empty() || segments.back().line != li ||
                   w->x0 - segments.back().x1 > segment_gap_em * std::max(w->size, 1.0);
      if (split) segments.push_back({{}, w->x0, w->x1, li});
      segments.back().words.push_back(w);
      segments.back().x1 = std::max(segments.back().x1, w->x1);
    }
  }

  double gutter = find_gutter(segments, page_width);
  if (gutter < 0) {
    // Single column: one line per physical line, its segments joined left to right.
    for (size_t i = 0; i < segments.size();) {
      segment merged = segments[i];
      size_t j = i + 1;
      for (; j < segments.size() && segments[j].line == segments[i].line; ++j) {
        merged.words.insert(merged.words.end(), segments[j].words.begin(), segments[j].words.end());
        merged.x1 = std::max(merged.x1, segments[j].x1);
      }
      out.push_back(segment_to_line(merged));
      i = j;
    }
    return out;
  }
  // Two columns: between lines that cross the gutter, the left column reads before the right.
  std::vector<const segment*> left, right;
  auto flush = [&] {
    for (const segment* s : left) out.push_back(segment_to_line(*s));
    for (const segment* s : right) out.push_back(segment_to_line(*s));
    left.clear();
    right.clear();
  };
  for (const segment& s : segments) {
    if (s.x1 <= gutter)
      left.push_back(&s);
    else if (s.x0 >= gutter)
      right.push_back(&s);
    else {
      flush();
      out.push_back(segment_to_line(s));
    }
  }
  flush();
  return out;
}

void pdf_remove_running_lines(std::vector<pdf_page_lines>& pages) {
  struct running_count {
    size_t pages = 0;          // pages the key appears on, counted once per page
    bool all_numbered = true;  // every occurrence carried a digit (a page number)
  };
  // Keys are "t:" (top band) or "b:" (bottom band) followed by the text without digits.
  std::unordered_map<std::string, running_count> counts;
  auto band_key = [](const pdf_page_lines& page, const pdf_line& line) -> std::string {
    if (page.height <= 0) return {};
    if (line.y1 <= page.height * running_band) return "t:" + running_key(line.text);
    if (line.y0 >= page.height * (1 - running_band)) return "b:" + running_key(line.text);
    return {};
  };
  auto has_digit = [](std::string_view s) { return s.find_first_of("0123456789") != std::string_view::npos; };
  size_t pages_with_text = 0;
  for (const auto& page : pages) {
    if (page.lines.empty()) continue;
    ++pages_with_text;
    std::vector<std::string> seen;
    for (const auto& line : page.lines) {
      std::string key = band_key(page, line);
      if (key.empty()) continue;
      running_count& c = counts[key];
      c.all_numbered = c.all_numbered && has_digit(line.text);
      if (std::find(seen.begin(), seen.end(), key) != seen.end()) continue;
      seen.push_back(key);
      ++c.pages;
    }
  }
  // Running on most pages; or, for a numbered running head that changes with the chapter
  // ("Chapter 3: Utilities 6"), on at least 3 pages.
  size_t needed = std::max<size_t>(2, (pages_with_text + 1) / 2);
  for (auto& page : pages) {
    std::erase_if(page.lines, [&](const pdf_line& line) {
      std::string key = band_key(page, line);
      if (key.empty()) return false;
      const running_count& c = counts[key];
      return c.pages >= needed || (c.all_numbered && c.pages >= 3);
    });
  }
}

void pdf_join_line(std::string& paragraph, std::string_view next) {
  next = text_trim(next);
  if (next.empty()) return;
  if (paragraph.empty()) {
    paragraph = next;
    return;
  }
  size_t cut = 0;
  if (is_hyphen_end(paragraph, cut) && paragraph.size() > cut) {
    char32_t before = last_codepoint(std::string_view(paragraph).substr(0, paragraph.size() - cut));
    char32_t after = first_codepoint(next);
    if (is_letter(before) && after >= 'a' && after <= 'z') {
      paragraph.resize(paragraph.size() - cut);
      paragraph += next;
      return;
    }
  }
  if (codepoint_is_cjk(last_codepoint(paragraph)) && codepoint_is_cjk(first_codepoint(next))) {
    paragraph += next;
    return;
  }
  paragraph += ' ';
  paragraph += next;
}

void pdf_build_document(document& doc, const std::vector<pdf_page_lines>& pages) {
  // Body size: the size carrying the most characters. Heading sizes: clearly larger ones.
  std::map<double, size_t> size_chars;
  for (const auto& page : pages)
    for (const auto& line : page.lines) size_chars[line.size] += line.chars;
  double body = 0;
  size_t best = 0;
  for (const auto& [size, n] : size_chars)
    if (n > best) best = n, body = size;
  std::vector<double> heading_sizes;
  for (const auto& [size, n] : size_chars)
    if (size >= body * 1.15 && size >= body + 1) heading_sizes.push_back(size);
  std::sort(heading_sizes.rbegin(), heading_sizes.rend());
  auto level_of = [&](const pdf_line& line) {
    auto it = std::find(heading_sizes.begin(), heading_sizes.end(), line.size);
    return it == heading_sizes.end() ? 0 : std::min<int>(6, int(it - heading_sizes.begin()) + 1);
  };

  // Body line pitch (top to top), the median over consecutive body lines; paragraphs break
  // where the pitch grows past it.
  std::vector<double> pitches;
  for (const auto& page : pages)
    for (size_t i = 1; i < page.lines.size(); ++i) {
      const pdf_line &a = page.lines[i - 1], &b = page.lines[i];
      double pitch = b.y0 - a.y0;
      if (a.size == body && b.size == body && pitch > 0.5 * body && pitch < 3 * body)
        pitches.push_back(pitch);
    }
  double body_pitch = 1.2 * body;
  if (!pitches.empty()) {
    std::nth_element(pitches.begin(), pitches.begin() + pitches.size() / 2, pitches.end());
    body_pitch = pitches[pitches.size() / 2];
  }

  for (size_t p = 0; p < pages.size(); ++p) {
    document_add_anchor(doc, anchor_kind::page, int(p + 1));
    std::string text;
    int level = 0;
    bool bulleted = false;
    const pdf_line* last = nullptr;
    auto flush = [&] {
      if (level > 0)
        document_add_heading(doc, level, std::move(text));
      else if (bulleted)
        document_add_list_item(doc, 0, false, std::move(text));
      else
        document_add_paragraph(doc, std::move(text));
      text.clear();
    };
    for (const pdf_line& line : pages[p].lines) {
      int line_level = level_of(line);
      size_t bullet = line_level == 0 ? bullet_length(line.text) : 0;
      bool continues = false;
      if (last && !bullet && line_level == level && line.size == last->size) {
        double pitch = line.y0 - last->y0;
        double limit = level == 0 ? std::max(body_pitch * 1.25, line.size * 1.05) : line.size * 1.5;
        bool same_column = line.x0 < last->x1 && last->x0 < line.x1;
        continues = pitch > 0 && pitch <= limit && same_column;
      }
      if (!continues) {
        if (last) flush();
        bulleted = bullet > 0;
      }
      level = line_level;
      pdf_join_line(text, std::string_view(line.text).substr(bullet));
      last = &line;
    }
    if (last) flush();
  }
}

}  // namespace smelt
