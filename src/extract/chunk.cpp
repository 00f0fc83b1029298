// Chunking in four passes over the rendered document: cut blocks into pieces (only giant
// paragraphs and list items are cut, at sentence, then word, then character boundaries), pack
// pieces greedily per section, merge runts into a neighbour in the same parent section, then
// prefix each continuation chunk with the tail of the previous one (overlap).
// Rendering and the document model are document.cpp's; tokenizers belong to the caller.
#include "extract/chunk.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/text.h"

namespace smelt {

const char* chunk_unit_name(chunk_unit unit) {
  return unit == chunk_unit::tokens ? "tokens" : "chars";
}

size_t chunk_estimate_tokens(std::string_view text) {
  size_t cjk = 0, other = 0;
  for (size_t i = 0; i < text.size();) {
    if (codepoint_is_cjk(utf8_next(text, i)))
      ++cjk;
    else
      ++other;
  }
  return cjk + (other + 3) / 4;
}

size_t chunk_measure(std::string_view text, const chunk_options& options) {
  if (options.unit == chunk_unit::chars) return utf8_length(text);
  return options.count_tokens ? options.count_tokens(text) : chunk_estimate_tokens(text);
}

namespace {

// A place where text may be cut: the left part ends at left_end, the right part starts at
// right_begin (the whitespace between them belongs to neither).
struct text_cut {
  size_t left_end = 0;
  size_t right_begin = 0;
};

bool codepoint_is_space(char32_t cp) {
  return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == '\f' || cp == '\v' || cp == 0xA0 ||
         cp == 0x3000;
}
bool codepoint_ends_sentence(char32_t cp) {
  return cp == '.' || cp == '!' || cp == '?' || cp == 0x3002 /*。*/ || cp == 0xFF01 /*！*/ ||
         cp == 0xFF1F /*？*/ || cp == 0xFF1B /*；*/ || cp == 0x2026 /*…*/;
}
bool codepoint_is_cjk_stop(char32_t cp) {
  return cp == 0x3002 || cp == 0xFF01 || cp == 0xFF1F || cp == 0xFF1B;
}
// Closing quotes and brackets that stay with the sentence they end.
bool codepoint_is_closer(char32_t cp) {
  return cp == '"' || cp == '\'' || cp == ')' || cp == ']' || cp == 0x201D || cp == 0x2019 || cp == 0x300D ||
         cp == 0x300F || cp == 0x3011 || cp == 0xFF09;
}

// Cuts in s in increasing order. Sentence level: after . ! ? followed by whitespace, right after
// 。！？；, and at line breaks. Word level adds every other whitespace run.
std::vector<text_cut> text_cuts(std::string_view s, bool sentences_only) {
  std::vector<text_cut> cuts;
  bool after_stop = false;  // the last non-space character ended a sentence
  size_t i = 0;
  while (i < s.size()) {
    size_t start = i;
    char32_t cp = utf8_next(s, i);
    if (codepoint_is_space(cp)) {
      bool newline = cp == '\n';
      size_t j = i;
      while (j < s.size()) {
        size_t k = j;
        char32_t next = utf8_next(s, k);
        if (!codepoint_is_space(next)) break;
        newline |= next == '\n';
        j = k;
      }
      if (start > 0 && j < s.size() && (newline || after_stop || !sentences_only)) cuts.push_back({start, j});
      after_stop = false;
      i = j;
      continue;
    }
    if (!codepoint_ends_sentence(cp)) {
      after_stop = false;
      continue;
    }
    bool cjk = codepoint_is_cjk_stop(cp);
    size_t j = i;  // swallow runs like "?!" and closing quotes
    while (j < s.size()) {
      size_t k = j;
      char32_t next = utf8_next(s, k);
      if (!codepoint_is_closer(next) && !codepoint_ends_sentence(next)) break;
      cjk |= codepoint_is_cjk_stop(next);
      j = k;
    }
    i = j;
    after_stop = true;
    if (cjk && j < s.size()) {
      size_t k = j;
      if (!codepoint_is_space(utf8_next(s, k))) {
        cuts.push_back({j, j});
        after_stop = false;
      }
    }
  }
  return cuts;
}

size_t utf8_floor(std::string_view s, size_t i) {
  while (i > 0 && i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
  return i;
}
size_t utf8_ceil(std::string_view s, size_t i) {
  while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) ++i;
  return i;
}

using measure_fn = std::function<size_t(std::string_view)>;

// Largest cut with pos < left_end <= limit whose left part s[pos, left_end) measures <= room.
const text_cut* cut_largest_fitting(const std::vector<text_cut>& cuts, std::string_view s, size_t pos,
                                    size_t limit, size_t room, const measure_fn& measure) {
  auto by_end = [](size_t p, const text_cut& c) { return p < c.left_end; };
  auto first = std::upper_bound(cuts.begin(), cuts.end(), pos, by_end);
  auto lo = first, hi = std::upper_bound(first, cuts.end(), limit, by_end);  // first cut that does not fit
  while (lo < hi) {
    auto mid = lo + (hi - lo) / 2;
    if (measure(s.substr(pos, mid->left_end - pos)) <= room)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo == first ? nullptr : &*(lo - 1);
}

size_t skip_spaces(std::string_view s, size_t pos) {
  while (pos < s.size()) {
    size_t k = pos;
    if (!codepoint_is_space(utf8_next(s, k))) break;
    pos = k;
  }
  return pos;
}

// Splits s (no leading/trailing whitespace) into byte ranges: the first measures <= room_first,
// the others <= room; only a single character larger than the room can break that.
std::vector<std::pair<size_t, size_t>> text_split(std::string_view s, size_t room_first, size_t room,
                                                  const measure_fn& measure) {
  std::vector<std::pair<size_t, size_t>> parts;
  std::vector<text_cut> sentences = text_cuts(s, true), words = text_cuts(s, false);
  size_t pos = 0, current_room = room_first;
  while (pos < s.size()) {
    // Search a window of the text, not all the rest, so a giant paragraph costs O(n log n):
    // 64 bytes per unit covers any UTF-8 text in chars and any plausible tokenizer.
    size_t limit = s.size();
    if ((s.size() - pos) / 64 > current_room) {
      limit = utf8_floor(s, pos + current_room * 64);
      if (measure(s.substr(pos, limit - pos)) <= current_room) limit = s.size();  // denser than that
    }
    if (limit == s.size() && measure(s.substr(pos)) <= current_room) {
      parts.emplace_back(pos, s.size());
      break;
    }
    const text_cut* cut = cut_largest_fitting(sentences, s, pos, limit, current_room, measure);
    if (!cut) cut = cut_largest_fitting(words, s, pos, limit, current_room, measure);
    text_cut hard;
    if (!cut) {  // no whitespace fits: cut between characters, at least one character per part
      size_t one = pos;
      utf8_next(s, one);
      // lo: the end of the part (one character at least); hi: known not to fit.
      size_t lo = one, hi = limit;
      while (true) {
        size_t mid = utf8_floor(s, lo + (hi - lo) / 2);
        if (mid <= lo) mid = utf8_ceil(s, lo + 1);
        if (mid >= hi) break;
        if (measure(s.substr(pos, mid - pos)) <= current_room)
          lo = mid;
        else
          hi = mid;
      }
      hard = {lo, lo};
      cut = &hard;
    }
    parts.emplace_back(pos, cut->left_end);
    pos = skip_spaces(s, cut->right_begin);
    current_room = room;
  }
  return parts;
}

// Start of the shortest suffix of s made of whole sentences (else words, else characters) that
// measures <= room; s.size() when nothing fits.
size_t text_tail_start(std::string_view s, size_t room, const measure_fn& measure) {
  if (measure(s) <= room) return 0;
  for (bool sentences : {true, false}) {
    std::vector<text_cut> cuts = text_cuts(s, sentences);
    // measure(s[right_begin, end)) decreases along cuts: find the first that fits.
    auto it = std::partition_point(
        cuts.begin(), cuts.end(), [&](const text_cut& c) { return measure(s.substr(c.right_begin)) > room; });
    if (it != cuts.end()) return it->right_begin;
  }
  size_t lo = 0, hi = s.size();  // first character boundary whose suffix fits: lo does not, hi does
  while (true) {
    size_t mid = utf8_ceil(s, lo + (hi - lo) / 2);
    if (mid <= lo) mid = utf8_ceil(s, lo + 1);
    if (mid >= hi) break;
    if (measure(s.substr(mid)) <= room)
      hi = mid;
    else
      lo = mid;
  }
  return skip_spaces(s, hi);
}

struct piece {
  size_t begin = 0, end = 0;  // bytes in the rendered text
  size_t block = 0;
  size_t section = 0;
  bool heading = false;
  bool atomic = false;  // table or code
};

struct draft {
  size_t first = 0, last = 0;  // pieces, inclusive
  bool continuation = false;   // starts inside a section begun by an earlier chunk
};

class chunker {
 public:
  chunker(const document& doc, const chunk_options& options) : doc_(doc), options_(options) {
    rendered_ = document_render(doc, options.format);
    budget_ = std::max<size_t>(options.budget, 1);
    overlap_ = std::min(options.overlap, budget_ / 2);
    min_size_ = std::min(options.min_size.value_or(budget_ / 4), budget_);
    measure_ = [this](std::string_view s) { return chunk_measure(s, options_); };
    reserve_ = overlap_ ? overlap_ + measure_("\n\n") : 0;
    index_blocks();
  }

  std::vector<chunk> run() {
    pack();
    merge_runts();
    return finish();
  }

 private:
  const document& doc_;
  const chunk_options& options_;
  rendered_document rendered_;
  size_t budget_ = 0, overlap_ = 0, min_size_ = 0, reserve_ = 0;
  measure_fn measure_;

  std::vector<std::vector<std::string>> paths_;  // distinct heading paths
  std::vector<size_t> path_of_;                  // per block
  std::vector<int> page_of_;                     // per block, 0 = none
  std::vector<int> anchor_of_;                   // per block: index into doc_.anchors, -1 = none
  std::vector<bool> anchor_starts_;              // per block: a non-page anchor begins here

  std::vector<piece> pieces_;
  std::vector<draft> drafts_;
  bool open_ = false;
  size_t open_first_ = 0;

  void index_blocks() {
    size_t n = doc_.blocks.size();
    path_of_.assign(n, 0);
    page_of_.assign(n, 0);
    anchor_of_.assign(n, -1);
    anchor_starts_.assign(n, false);
    std::vector<size_t> order(doc_.anchors.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return doc_.anchors[a].block < doc_.anchors[b].block; });
    size_t next = 0;
    int page = 0, other = -1;
    std::vector<std::string> titles;
    std::vector<int> levels;
    paths_.push_back({});
    for (size_t i = 0; i < n; ++i) {
      for (; next < order.size() && doc_.anchors[order[next]].block <= i; ++next) {
        const anchor& a = doc_.anchors[order[next]];
        if (a.kind == anchor_kind::page) {
          page = a.number;
        } else {
          other = static_cast<int>(order[next]);
          if (a.block == i) anchor_starts_[i] = true;
        }
      }
      page_of_[i] = page;
      anchor_of_[i] = other;
      const block& b = doc_.blocks[i];
      if (b.kind == block_kind::heading) {
        while (!levels.empty() && levels.back() >= b.level) levels.pop_back(), titles.pop_back();
        levels.push_back(b.level);
        titles.push_back(b.text);
        paths_.push_back(titles);
      }
      path_of_[i] = paths_.size() - 1;
    }
  }

  size_t measure_range(size_t begin, size_t end) const {
    return measure_(std::string_view(rendered_.text).substr(begin, end - begin));
  }
  size_t capacity(bool continuation) const {
    return continuation && budget_ > reserve_ ? budget_ - reserve_ : budget_;
  }
  bool open_is_headings_only() const {
    for (size_t i = open_first_; i < pieces_.size(); ++i)
      if (!pieces_[i].heading) return false;
    return true;
  }
  bool starts_continuation(const piece& p) const {
    return !p.heading && !pieces_.empty() && pieces_.back().section == p.section;
  }
  bool open_continuation() const { return drafts_continuation(open_first_); }
  bool drafts_continuation(size_t first) const {
    return first > 0 && !pieces_[first].heading && pieces_[first - 1].section == pieces_[first].section;
  }

  void add(const piece& p) {
    if (!open_) open_first_ = pieces_.size(), open_ = true;
    pieces_.push_back(p);
  }
  void flush() {
    if (!open_) return;
    drafts_.push_back({open_first_, pieces_.size() - 1, drafts_continuation(open_first_)});
    open_ = false;
  }

  // Adds p cut into parts: the first measuring <= room_first joins the open chunk (or starts one),
  // each further part starts a continuation chunk.
  void add_split(const piece& p, size_t room_first) {
    std::string_view s = std::string_view(rendered_.text).substr(p.begin, p.end - p.begin);
    auto parts = text_split(s, std::max<size_t>(room_first, 1), capacity(true), measure_);
    for (size_t k = 0; k < parts.size(); ++k) {
      if (k) flush();
      piece part = p;
      part.begin = p.begin + parts[k].first;
      part.end = p.begin + parts[k].second;
      add(part);
    }
  }

  void add_to_new_chunk(const piece& p) {
    size_t cap = capacity(starts_continuation(p));
    if (p.atomic || measure_range(p.begin, p.end) <= cap)
      add(p);
    else
      add_split(p, cap);
  }

  void pack() {
    size_t section = 0;
    for (size_t i = 0; i < doc_.blocks.size(); ++i) {
      const block& b = doc_.blocks[i];
      bool heading = b.kind == block_kind::heading;
      if (i > 0 && (heading || anchor_starts_[i])) {
        ++section;
        // A heading with nothing under it yet travels on with the next section's heading.
        bool carry = heading && open_ && open_is_headings_only() &&
                     measure_range(pieces_[open_first_].begin, rendered_.spans[i].end) <= budget_;
        if (open_ && !carry) flush();
      }
      const block_span& span = rendered_.spans[i];
      piece p{span.begin, span.end, i,
              section,    heading,  b.kind == block_kind::table || b.kind == block_kind::code};
      if (heading) {
        add(p);
        continue;
      }
      if (!open_) {
        add_to_new_chunk(p);
        continue;
      }
      size_t cap = capacity(open_continuation());
      size_t open_begin = pieces_[open_first_].begin;
      if (measure_range(open_begin, p.end) <= cap) {
        add(p);
        continue;
      }
      bool headings_only = open_is_headings_only();
      if (p.atomic) {
        if (!headings_only) flush();
        add(p);  // kept whole even over the budget; a heading stays with it
        continue;
      }
      size_t used = measure_range(open_begin, p.begin);
      size_t room = cap > used ? cap - used : 0;
      bool giant = measure_range(p.begin, p.end) > capacity(true);
      // Headings keep their first paragraph part unless that part would be a sliver.
      if ((headings_only && room >= std::min(min_size_, measure_range(p.begin, p.end))) ||
          (giant && room >= min_size_)) {
        add_split(p, room);
        continue;
      }
      flush();
      add_to_new_chunk(p);
    }
    flush();
  }

  // Breadcrumb: the heading path shared by the chunk's content (headings count only when the
  // chunk holds nothing else).
  std::vector<std::string> breadcrumb(const draft& d) const {
    bool content = false;
    for (size_t i = d.first; i <= d.last; ++i) content |= !pieces_[i].heading;
    const std::vector<std::string>* common = nullptr;
    size_t length = 0;
    for (size_t i = d.first; i <= d.last; ++i) {
      if (content && pieces_[i].heading) continue;
      const auto& path = paths_[path_of_[pieces_[i].block]];
      if (!common) {
        common = &path;
        length = path.size();
        continue;
      }
      size_t k = 0;
      while (k < length && k < path.size() && path[k] == (*common)[k]) ++k;
      length = k;
    }
    if (!common) return {};
    return std::vector<std::string>(common->begin(), common->begin() + static_cast<std::ptrdiff_t>(length));
  }

  size_t draft_size(const draft& d) const {
    return measure_range(pieces_[d.first].begin, pieces_[d.last].end);
  }

  // A runt may join a neighbour when their shared heading path still contains the runt's parent
  // section and the joined text fits the budget of the earlier one.
  bool can_merge(const draft& earlier, const draft& later, const draft& runt) const {
    std::vector<std::string> a = breadcrumb(earlier), b = breadcrumb(later), r = breadcrumb(runt);
    size_t common = 0;
    while (common < a.size() && common < b.size() && a[common] == b[common]) ++common;
    if (common + 1 < r.size()) return false;
    return measure_range(pieces_[earlier.first].begin, pieces_[later.last].end) <=
           capacity(earlier.continuation);
  }

  void merge_runts() {
    std::vector<draft> out;
    for (size_t i = 0; i < drafts_.size(); ++i) {
      draft d = drafts_[i];
      while (draft_size(d) < min_size_ && i + 1 < drafts_.size() && can_merge(d, drafts_[i + 1], d)) {
        d.last = drafts_[i + 1].last;
        ++i;
      }
      if (draft_size(d) < min_size_ && !out.empty() && can_merge(out.back(), d, d)) {
        out.back().last = d.last;
        continue;
      }
      out.push_back(d);
    }
    drafts_ = std::move(out);
  }

  // Overlap prefix for drafts_[k]: the tail of the previous chunk's text after its last heading,
  // table or code block, in whole sentences when they fit.
  std::string overlap_prefix(size_t k) const {
    const draft& d = drafts_[k];
    if (!overlap_ || k == 0 || !d.continuation) return {};
    const draft& prev = drafts_[k - 1];
    size_t j = prev.last;
    if (pieces_[j].atomic || pieces_[j].heading) return {};
    while (j > prev.first && !pieces_[j - 1].atomic && !pieces_[j - 1].heading) --j;
    std::string_view s =
        std::string_view(rendered_.text).substr(pieces_[j].begin, pieces_[prev.last].end - pieces_[j].begin);
    // A chunk packed into less room than usual (a table or code block) takes only what still fits.
    size_t used = draft_size(d) + measure_("\n\n");
    size_t room = std::min(overlap_, budget_ > used ? budget_ - used : 0);
    if (room == 0) return {};
    std::string_view tail = s.substr(text_tail_start(s, room, measure_));
    if (tail.empty()) return {};
    std::string prefix(tail);
    if (pieces_[prev.last].block != pieces_[d.first].block) {
      prefix += "\n\n";
    } else {
      size_t i = 0;
      char32_t last = 0;
      while (i < prefix.size()) last = utf8_next(prefix, i);
      if (!codepoint_is_cjk(last)) prefix += ' ';
    }
    return prefix;
  }

  std::vector<chunk> finish() const {
    std::vector<chunk> chunks;
    chunks.reserve(drafts_.size());
    for (size_t k = 0; k < drafts_.size(); ++k) {
      const draft& d = drafts_[k];
      chunk c;
      c.index = k;
      c.id = fmt::format("c{:04d}", k);
      c.breadcrumb = breadcrumb(d);
      c.begin = pieces_[d.first].begin;
      c.end = pieces_[d.last].end;
      c.text = overlap_prefix(k);
      c.overlap = c.text.size();
      c.text.append(rendered_.text, c.begin, c.end - c.begin);
      c.size = measure_(c.text);
      c.oversize = c.size > budget_;
      size_t first_block = pieces_[d.first].block, last_block = pieces_[d.last].block;
      c.page_first = page_of_[first_block];
      c.page_last = page_of_[last_block];
      if (int a = anchor_of_[first_block]; a >= 0) {
        const anchor& first = doc_.anchors[static_cast<size_t>(a)];
        c.anchor_kind = anchor_kind_name(first.kind);
        c.anchor_first = c.anchor_last = first.number;
        c.anchor_label = first.label;
        if (int z = anchor_of_[last_block]; z >= 0 && doc_.anchors[static_cast<size_t>(z)].kind == first.kind)
          c.anchor_last = doc_.anchors[static_cast<size_t>(z)].number;
      }
      chunks.push_back(std::move(c));
    }
    return chunks;
  }
};

}  // namespace

std::vector<chunk> chunk_document(const document& doc, const chunk_options& options) {
  return chunker(doc, options).run();
}

chunk_summary chunk_summarize(const std::vector<chunk>& chunks) {
  chunk_summary s;
  s.count = chunks.size();
  if (chunks.empty()) return s;
  std::vector<size_t> sizes;
  sizes.reserve(chunks.size());
  for (const chunk& c : chunks) {
    sizes.push_back(c.size);
    s.oversize += c.oversize ? 1 : 0;
  }
  std::sort(sizes.begin(), sizes.end());
  auto rank = [&](double p) {  // nearest rank: the smallest size with at least p of the chunks at or below it
    size_t r = static_cast<size_t>(std::ceil(p * static_cast<double>(sizes.size())));
    return sizes[std::clamp<size_t>(r, 1, sizes.size()) - 1];
  };
  s.min = sizes.front();
  s.max = sizes.back();
  s.median = rank(0.5);
  s.p90 = rank(0.9);
  s.mean = static_cast<double>(std::accumulate(sizes.begin(), sizes.end(), size_t{0})) /
           static_cast<double>(sizes.size());
  return s;
}

std::string chunk_summary_format(const chunk_summary& s, const chunk_options& options) {
  const char* unit = chunk_unit_name(options.unit);
  if (s.count == 0) return fmt::format("0 chunks ({})", unit);
  std::string out = fmt::format("{} chunk{} ({}): min {}, median {}, mean {:.1f}, p90 {}, max {}", s.count,
                                s.count == 1 ? "" : "s", unit, s.min, s.median, s.mean, s.p90, s.max);
  if (s.oversize)
    out += fmt::format("; {} over the {} budget (tables, code blocks and headings are kept whole)",
                       s.oversize, options.budget);
  return out;
}

std::string chunk_header(const chunk& c, const chunk_options& options) {
  std::string out = "<!-- chunk " + c.id;
  if (!c.breadcrumb.empty()) {
    std::string crumbs;
    for (size_t i = 0; i < c.breadcrumb.size(); ++i) crumbs += (i ? " > " : "") + c.breadcrumb[i];
    out += " | " + text_replace_all(std::move(crumbs), "-->", "-- >");
  }
  if (c.page_first)
    out += c.page_first == c.page_last ? fmt::format(" | page {}", c.page_first)
                                       : fmt::format(" | pages {}-{}", c.page_first, c.page_last);
  if (!c.anchor_kind.empty()) {
    out += fmt::format(" | {} {}", c.anchor_kind, c.anchor_first);
    if (c.anchor_last != c.anchor_first) out += fmt::format("-{}", c.anchor_last);
    if (!c.anchor_label.empty() && c.anchor_last == c.anchor_first)
      out += " " + text_replace_all(c.anchor_label, "-->", "-- >");
  }
  out += fmt::format(" | {} {}", c.size, chunk_unit_name(options.unit));
  if (c.oversize) out += " (over budget)";
  return out + " -->";
}

nlohmann::json chunk_to_json(const chunk& c, const chunk_options& options) {
  return {{"id", c.id},
          {"index", c.index},
          {"breadcrumb", c.breadcrumb},
          {"text", c.text},
          {"begin", c.begin},
          {"end", c.end},
          {"overlap", c.overlap},
          {"size", c.size},
          {"unit", chunk_unit_name(options.unit)},
          {"oversize", c.oversize},
          {"page_first", c.page_first},
          {"page_last", c.page_last},
          {"anchor_kind", c.anchor_kind},
          {"anchor_first", c.anchor_first},
          {"anchor_last", c.anchor_last},
          {"anchor_label", c.anchor_label}};
}

}  // namespace smelt
