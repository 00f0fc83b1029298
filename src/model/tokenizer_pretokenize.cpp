// Text -> words, the part of encoding before BPE: PCRE2 regexes (UTF + UCP, JIT), normalizers
// (NFC/NFD/NFKC/NFKD via utf8proc, Prepend, Replace), splitting on added tokens (leftmost-longest,
// lstrip/rstrip/single_word) and the Split / ByteLevel / Metaspace pre-tokenizers, following the
// semantics of HF tokenizers. When offsets are asked for, every step keeps each piece's per-byte
// alignment to the input (tok_align) in step. The byte->char mapping of ByteLevel is left to BPE.
#include <utf8proc.h>

#include <algorithm>
#include <cstdlib>

#include "core/text.h"
#include "model/tokenizer_internal.h"

namespace smelt {

namespace {

bool is_white_space(char32_t c) {  // Unicode White_Space, as Rust's char::is_whitespace
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

// Regex \w as Rust's regex crate has it (HF checks single_word tokens with ^\w / \w$): letters,
// marks, decimal digits, connector punctuation, ZWNJ/ZWJ.
bool is_word_char(char32_t c) {
  if (c < 0x80) return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  if (c == 0x200C || c == 0x200D) return true;
  switch (utf8proc_category(utf8proc_int32_t(c))) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_PC:
      return true;
    default:
      return false;
  }
}

// Start of the character that ends just before byte i (i > 0).
size_t utf8_prev_start(std::string_view s, size_t i) {
  size_t j = i - 1;
  while (j > 0 && (static_cast<unsigned char>(s[j]) & 0xC0) == 0x80 && i - j < 4) --j;
  return j;
}

char32_t char_before(std::string_view s, size_t i) {
  size_t j = utf8_prev_start(s, i);
  return utf8_next(s, j);
}

std::string utf8proc_normalize(const std::string& s, int options) {
  utf8proc_uint8_t* out = nullptr;
  utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()),
                                    utf8proc_ssize_t(s.size()), &out, utf8proc_option_t(options));
  if (n < 0) return s;  // invalid input cannot reach here (text is sanitized first)
  std::string r(reinterpret_cast<char*>(out), size_t(n));
  std::free(out);
  return r;
}

// Unicode normalization keeping the alignment: the text is cut into segments that normalize
// independently (a cut before a starter that does not combine with what precedes it), and every
// output byte of a segment maps to the hull of the segment's input.
void normalize_unicode(std::string& s, std::vector<tok_align>* align, int options) {
  std::string whole = utf8proc_normalize(s, options);
  if (whole == s) return;
  if (!align || align->size() != s.size()) {
    s = std::move(whole);
    if (align) align->clear();
    return;
  }
  std::string out;
  std::vector<tok_align> out_align;
  auto flush = [&](size_t b, size_t e) {
    std::string part = utf8proc_normalize(s.substr(b, e - b), options);
    out += part;
    out_align.insert(out_align.end(), part.size(), tok_align_hull(*align, b, e));
  };
  size_t seg = 0, i = 0;
  while (i < s.size()) {
    size_t j = i;
    char32_t c = utf8_next(s, j);
    if (i > seg && utf8proc_get_property(utf8proc_int32_t(c))->combining_class == 0) {
      std::string left = utf8proc_normalize(s.substr(seg, i - seg), options);
      std::string right = utf8proc_normalize(s.substr(i, j - i), options);
      if (utf8proc_normalize(s.substr(seg, j - seg), options) == left + right) {
        flush(seg, i);
        seg = i;
      }
    }
    i = j;
  }
  flush(seg, s.size());
  if (out != whole) {  // cannot happen for NFC/NFD/NFKC/NFKD; one hull keeps offsets sound anyway
    out = std::move(whole);
    out_align.assign(out.size(), tok_align_hull(*align, 0, s.size()));
  }
  s = std::move(out);
  *align = std::move(out_align);
}

// Replaces s[b, e) pairs (sorted, disjoint) by `content`; the new bytes map to the hull of what
// they replaced.
void replace_ranges(std::string& s, std::vector<tok_align>* align,
                    const std::vector<std::pair<size_t, size_t>>& found, std::string_view content) {
  bool track = align && align->size() == s.size();
  std::string r;
  std::vector<tok_align> a;
  size_t at = 0;
  for (auto [b, e] : found) {
    r.append(s, at, b - at).append(content);
    if (track) {
      a.insert(a.end(), align->begin() + long(at), align->begin() + long(b));
      a.insert(a.end(), content.size(), tok_align_hull(*align, b, e));
    }
    at = e;
  }
  r.append(s, at);
  if (track) a.insert(a.end(), align->begin() + long(at), align->end());
  s = std::move(r);
  if (track) *align = std::move(a);
}

// Inserts `content` before s; the new bytes belong to the first character (as HF's prepend).
void prepend_aligned(std::string& s, std::vector<tok_align>& align, std::string_view content) {
  if (align.size() == s.size() && !align.empty()) align.insert(align.begin(), content.size(), align.front());
  s.insert(0, content);
}

// A new piece holding p.text[b, e) and its alignment.
tok_piece piece_slice(const tok_piece& p, size_t b, size_t e) {
  tok_piece q;
  q.text = p.text.substr(b, e - b);
  if (!p.align.empty()) q.align.assign(p.align.begin() + long(b), p.align.begin() + long(e));
  return q;
}

struct span {
  size_t begin, end;
  bool is_match;
};

// HF's SplitDelimiterBehavior applied to a full cover of the text by gaps and matches.
std::vector<span> apply_behavior(std::vector<span> spans, split_behavior behavior) {
  std::vector<span> acc;
  bool previous_match = false;
  switch (behavior) {
    case split_behavior_isolated:
      return spans;
    case split_behavior_removed:
      for (auto& s : spans)
        if (!s.is_match) acc.push_back(s);
      return acc;
    case split_behavior_merged_with_previous:
      for (auto& s : spans) {
        if (s.is_match && !previous_match && !acc.empty())
          acc.back().end = s.end;
        else
          acc.push_back(s);
        previous_match = s.is_match;
      }
      return acc;
    case split_behavior_merged_with_next:
      for (size_t k = spans.size(); k-- > 0;) {
        const span& s = spans[k];
        if (s.is_match && !previous_match && !acc.empty())
          acc.back().begin = s.begin;
        else
          acc.push_back(s);
        previous_match = s.is_match;
      }
      return {acc.rbegin(), acc.rend()};
    case split_behavior_contiguous:
      for (auto& s : spans) {
        if (s.is_match == previous_match && !acc.empty())
          acc.back().end = s.end;
        else
          acc.push_back(s);
        previous_match = s.is_match;
      }
      return acc;
  }
  return spans;
}

// Splits every non-added piece; `matches` gives the delimiter spans of a piece's text.
template <class find_fn>
void split_pieces(std::vector<tok_piece>& pieces, split_behavior behavior, bool invert, find_fn find) {
  std::vector<tok_piece> out;
  out.reserve(pieces.size() * 2);
  std::vector<std::pair<size_t, size_t>> found;
  for (auto& p : pieces) {
    if (p.added_id >= 0) {
      out.push_back(std::move(p));
      continue;
    }
    found.clear();
    find(p.text, found);
    std::vector<span> spans;
    size_t at = 0;
    for (auto [b, e] : found) {
      if (b > at) spans.push_back({at, b, invert});
      spans.push_back({b, e, !invert});
      at = e;
    }
    if (at < p.text.size() || spans.empty()) spans.push_back({at, p.text.size(), invert});
    for (const span& s : apply_behavior(std::move(spans), behavior)) {
      if (s.end <= s.begin) continue;
      tok_piece q = piece_slice(p, s.begin, s.end);
      q.at_start = p.at_start && s.begin == 0;
      out.push_back(std::move(q));
    }
  }
  pieces = std::move(out);
}

const tok_regex& gpt2_regex() {
  static const tok_regex re =
      tok_regex_compile(R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)",
                        false, "ByteLevel")
          .value();
  return re;
}

}  // namespace

result<tok_regex> tok_regex_compile(const std::string& pattern, bool literal, const std::string& where) {
  int code = 0;
  PCRE2_SIZE offset = 0;
  // PCRE2_LITERAL refuses PCRE2_UCP (it only changes what \w, \d, [:alpha:] mean, which a
  // literal does not use).
  uint32_t options = PCRE2_UTF | (literal ? PCRE2_LITERAL : PCRE2_UCP);
  pcre2_code* c = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), options, &code,
                                &offset, nullptr);
  if (!c) {
    PCRE2_UCHAR buffer[256];
    pcre2_get_error_message(code, buffer, sizeof buffer);
    return make_error(where + ": bad regex at offset " + std::to_string(offset) + ": " +
                      reinterpret_cast<char*>(buffer));
  }
  pcre2_jit_compile(c, PCRE2_JIT_COMPLETE);  // falls back to the interpreter if JIT is unavailable
  tok_regex re;
  re.code.reset(c);
  return re;
}

void tok_regex_find_all(const tok_regex& re, std::string_view text,
                        std::vector<std::pair<size_t, size_t>>& out) {
  if (text.empty() || !utf8_is_valid(text)) return;
  struct data_free {
    void operator()(pcre2_match_data* d) const { pcre2_match_data_free(d); }
  };
  std::unique_ptr<pcre2_match_data, data_free> md(
      pcre2_match_data_create_from_pattern(re.code.get(), nullptr));
  auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t at = 0;
  while (at < text.size()) {
    // The subject was checked once above; checking it again on every call would be quadratic.
    int rc = pcre2_match(re.code.get(), subject, text.size(), at, PCRE2_NO_UTF_CHECK, md.get(), nullptr);
    if (rc < 0) break;
    PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md.get());
    size_t b = ov[0], e = ov[1];
    if (e <= b) {  // empty match: step over one character
      size_t next = b;
      if (next >= text.size()) break;
      utf8_next(text, next);
      at = next;
      continue;
    }
    out.emplace_back(b, e);
    at = e;
  }
}

tok_align tok_align_hull(const std::vector<tok_align>& align, size_t b, size_t e) {
  if (b >= e || e > align.size()) return {};
  tok_align h = align[b];
  for (size_t k = b + 1; k < e; ++k) {
    h.begin = std::min(h.begin, align[k].begin);
    h.end = std::max(h.end, align[k].end);
  }
  return h;
}

void normalize_apply(const std::vector<normalizer_step>& steps, std::string& s,
                     std::vector<tok_align>* align) {
  for (const auto& st : steps) {
    switch (st.kind) {
      case normalizer_nfc:
        normalize_unicode(s, align, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
        break;
      case normalizer_nfd:
        normalize_unicode(s, align, UTF8PROC_STABLE | UTF8PROC_DECOMPOSE);
        break;
      case normalizer_nfkc:
        normalize_unicode(s, align, UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT);
        break;
      case normalizer_nfkd:
        normalize_unicode(s, align, UTF8PROC_STABLE | UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT);
        break;
      case normalizer_prepend:
        if (!s.empty()) {
          if (align)
            prepend_aligned(s, *align, st.content);
          else
            s = st.content + s;
        }
        break;
      case normalizer_replace: {
        std::vector<std::pair<size_t, size_t>> found;
        if (st.regex) {
          tok_regex_find_all(*st.regex, s, found);
        } else if (!st.literal.empty()) {
          for (size_t at = s.find(st.literal); at != std::string::npos;
               at = s.find(st.literal, at + st.literal.size()))
            found.emplace_back(at, at + st.literal.size());
        }
        if (found.empty()) break;
        replace_ranges(s, align, found, st.content);
        break;
      }
    }
  }
}

void added_split(const tokenizer_impl& t, std::vector<tok_piece>& pieces, bool normalized) {
  const auto& index = normalized ? t.added_normalized_index : t.added_raw_index;
  std::vector<tok_piece> out;
  for (auto& p : pieces) {
    if (p.added_id >= 0) {
      out.push_back(std::move(p));
      continue;
    }
    const std::string& s = p.text;
    size_t emitted = 0;  // s[emitted..] not yet output
    size_t i = 0;
    bool first = p.at_start;
    auto emit_text = [&](size_t b, size_t e) {
      if (e > b) {
        tok_piece q = piece_slice(p, b, e);
        q.at_start = first && b == 0;
        out.push_back(std::move(q));
      }
    };
    while (i < s.size()) {
      const added_token* hit = nullptr;
      for (size_t k : index[static_cast<unsigned char>(s[i])]) {
        const added_token& a = t.added[k];
        if (s.compare(i, a.match.size(), a.match) != 0) continue;
        if (a.single_word) {
          size_t e = i + a.match.size();
          if (i > 0 && is_word_char(char_before(s, i))) continue;
          size_t j = e;
          if (e < s.size() && is_word_char(utf8_next(s, j))) continue;
        }
        hit = &a;
        break;
      }
      if (!hit) {
        ++i;
        continue;
      }
      size_t b = i, e = i + hit->match.size();
      if (hit->lstrip)
        while (b > emitted && is_white_space(char_before(s, b))) b = utf8_prev_start(s, b);
      if (hit->rstrip)
        while (e < s.size()) {
          size_t j = e;
          if (!is_white_space(utf8_next(s, j))) break;
          e = j;
        }
      emit_text(emitted, b);
      tok_piece q = piece_slice(p, b, e);
      q.added_id = hit->id;
      out.push_back(std::move(q));
      emitted = i = e;
    }
    emit_text(emitted, s.size());
  }
  pieces = std::move(out);
}

void pretokenize_apply(const std::vector<pretok_step>& steps, std::vector<tok_piece>& pieces) {
  for (const auto& st : steps) {
    switch (st.kind) {
      case pretok_split:
        split_pieces(pieces, st.behavior, st.invert, [&](const std::string& text, auto& found) {
          tok_regex_find_all(*st.regex, text, found);
        });
        break;
      case pretok_byte_level:
        if (st.add_prefix_space)
          for (auto& p : pieces)
            if (p.added_id < 0 && !p.text.starts_with(' ')) prepend_aligned(p.text, p.align, " ");
        if (st.use_regex)
          split_pieces(pieces, split_behavior_isolated, false, [&](const std::string& text, auto& found) {
            tok_regex_find_all(gpt2_regex(), text, found);
          });
        break;
      case pretok_metaspace: {
        for (auto& p : pieces) {
          if (p.added_id >= 0) continue;
          if (p.align.empty()) {
            p.text = text_replace_all(std::move(p.text), " ", st.replacement);
          } else {
            std::vector<std::pair<size_t, size_t>> spaces;
            for (size_t k = 0; k < p.text.size(); ++k)
              if (p.text[k] == ' ') spaces.emplace_back(k, k + 1);
            if (!spaces.empty()) replace_ranges(p.text, &p.align, spaces, st.replacement);
          }
          bool prepend =
              st.scheme == prepend_scheme_always || (st.scheme == prepend_scheme_first && p.at_start);
          if (prepend && !p.text.starts_with(st.replacement))
            prepend_aligned(p.text, p.align, st.replacement);
        }
        if (st.split)
          split_pieces(pieces, split_behavior_merged_with_next, false,
                       [&](const std::string& text, auto& found) {
                         for (size_t at = text.find(st.replacement); at != std::string::npos;
                              at = text.find(st.replacement, at + st.replacement.size()))
                           found.emplace_back(at, at + st.replacement.size());
                       });
        break;
      }
    }
  }
}

}  // namespace smelt
