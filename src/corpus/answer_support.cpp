// Answer support: both texts are width- and case-folded (NFKD, marks stripped) and cut into tokens (Latin
// words, digit runs, CJK runs); the chunk's words, CJK characters and CJK bigrams go into sets, and each
// distinct content unit of the answer is looked up there.
#include "corpus/answer_support.h"

#include <utf8proc.h>

#include <string>
#include <unordered_set>
#include <vector>

#include "core/text.h"

namespace smelt {

namespace {

// Words that carry no fact of their own: articles, pronouns, auxiliaries, prepositions, and the
// modal and filler words answers add around the chunk's facts ("you should", "it needs to").
// Negations stay content: "not" in an answer and not in the chunk is a reason to doubt it.
const std::unordered_set<std::string> english_stop_words = {
    "a",     "an",    "the",  "and",  "or",    "but",  "if",    "then",   "than",  "so",     "as",
    "of",    "to",    "in",   "on",   "at",    "by",   "for",   "with",   "from",  "into",   "about",
    "up",    "out",   "is",   "are",  "was",   "were", "be",    "been",   "being", "am",     "do",
    "does",  "did",   "has",  "have", "had",   "can",  "could", "should", "would", "will",   "shall",
    "may",   "might", "must", "need", "needs", "it",   "its",   "this",   "that",  "these",  "those",
    "there", "here",  "you",  "your", "i",     "we",   "our",   "they",   "their", "them",   "he",
    "she",   "his",   "her",  "what", "which", "who",  "when",  "where",  "how",   "why",    "also",
    "just",  "very",  "yes",  "such", "some",  "any",  "each",  "every",  "all",   "because"};

// Function characters (particles, pronouns, copula, measure word 个). An answer's CJK run is split
// at them, so "按钮的测试" gives 按钮 and 测试, not bigrams like 钮的 that depend on the wording.
// 地 得 着 过 are left out: they are also content (地面, 获得, 着火, 通过).
const std::u32string chinese_function_chars =
    U"的了是在和与及或吗呢吧啊呀哦嘛也都就还而并很您你我他她它们这那个些之其";

enum class char_kind { other, word_letter, word_digit, cjk };

struct token {
  char_kind kind;
  std::u32string text;
};

// Compatibility decomposition (full-width to ASCII), case fold, marks stripped; then split into tokens: runs
// of letters, runs of digits (so "30cm" is "30" and "cm"), and runs of CJK characters. Spaces, punctuation
// and symbols separate.
std::vector<token> support_tokenize(std::string_view s) {
  std::vector<token> out;
  char_kind current = char_kind::other;
  size_t i = 0;
  while (i < s.size()) {
    char32_t cp = utf8_next(s, i);
    utf8proc_int32_t folded[8];
    utf8proc_ssize_t n =
        utf8proc_decompose_char(static_cast<utf8proc_int32_t>(cp), folded, 8,
                                static_cast<utf8proc_option_t>(UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT |
                                                               UTF8PROC_CASEFOLD | UTF8PROC_STRIPMARK),
                                nullptr);
    if (n < 0) n = 0;
    for (utf8proc_ssize_t k = 0; k < n && k < 8; ++k) {
      char32_t c = static_cast<char32_t>(folded[k]);
      utf8proc_category_t category = utf8proc_category(folded[k]);
      bool letter = category >= UTF8PROC_CATEGORY_LU && category <= UTF8PROC_CATEGORY_LO;
      bool digit = category >= UTF8PROC_CATEGORY_ND && category <= UTF8PROC_CATEGORY_NO;
      char_kind kind = letter && codepoint_is_cjk(c) ? char_kind::cjk
                       : letter                      ? char_kind::word_letter
                       : digit                       ? char_kind::word_digit
                                                     : char_kind::other;
      if (kind == char_kind::other) {
        current = kind;
        continue;
      }
      if (kind != current) out.push_back({kind, {}});
      out.back().text += c;
      current = kind;
    }
  }
  return out;
}

std::string to_utf8(const std::u32string& s) {
  std::string out;
  for (char32_t c : s) utf8_append(out, c);
  return out;
}

bool ends_with(const std::string& s, const char* suffix) {
  return text_ends_with(s, suffix);
}

// A light suffix stripper applied the same way to both sides, so "tested"/"tests"/"testing" and
// "monthly"/"month" meet; it need not give linguistic stems, only consistent ones.
std::string word_stem(std::string w) {
  if (w.size() > 4 && ends_with(w, "ies"))
    w.replace(w.size() - 3, 3, "y");
  else if (w.size() > 3 && ends_with(w, "s") && !ends_with(w, "ss"))
    w.pop_back();
  if (w.size() > 5 && ends_with(w, "ing"))
    w.resize(w.size() - 3);
  else if (w.size() > 4 && (ends_with(w, "ed") || ends_with(w, "ly")))
    w.resize(w.size() - 2);
  if (w.size() > 4 && ends_with(w, "e")) w.pop_back();
  return w;
}

// Byte length of the first character of s (a CJK pair's split point).
size_t utf8_char_end(const std::string& s) {
  size_t i = 0;
  if (!s.empty()) utf8_next(s, i);
  return i;
}

bool is_function_char(char32_t c) {
  return chinese_function_chars.find(c) != std::u32string::npos;
}

struct chunk_index {
  std::unordered_set<std::string> words;  // stemmed words and digit runs
  std::unordered_set<std::string> cjk;    // single CJK characters and adjacent pairs
};

chunk_index chunk_index_build(std::string_view chunk) {
  chunk_index index;
  for (const token& t : support_tokenize(chunk)) {
    if (t.kind == char_kind::word_letter) index.words.insert(word_stem(to_utf8(t.text)));
    if (t.kind == char_kind::word_digit) index.words.insert(to_utf8(t.text));
    if (t.kind != char_kind::cjk) continue;
    for (size_t k = 0; k < t.text.size(); ++k) {
      index.cjk.insert(to_utf8(t.text.substr(k, 1)));
      if (k + 1 < t.text.size()) index.cjk.insert(to_utf8(t.text.substr(k, 2)));
    }
  }
  return index;
}

}  // namespace

answer_support answer_support_measure(std::string_view answer, std::string_view chunk, double threshold) {
  answer_support result;
  // Units as "w:" + word or "c:" + CJK unit, so the two kinds never collide in one set.
  std::unordered_set<std::string> units;
  for (const token& t : support_tokenize(answer)) {
    if (t.kind == char_kind::word_digit) {
      units.insert("w:" + to_utf8(t.text));
    } else if (t.kind == char_kind::word_letter) {
      std::string word = to_utf8(t.text);
      if (t.text.size() < 2 || english_stop_words.count(word)) continue;
      units.insert("w:" + word_stem(word));
    } else if (t.kind == char_kind::cjk) {
      size_t k = 0;
      while (k < t.text.size()) {
        if (is_function_char(t.text[k])) {
          ++k;
          continue;
        }
        size_t end = k;
        while (end < t.text.size() && !is_function_char(t.text[end])) ++end;
        if (end - k == 1) units.insert("c:" + to_utf8(t.text.substr(k, 1)));
        for (size_t p = k; p + 1 < end; ++p) units.insert("c:" + to_utf8(t.text.substr(p, 2)));
        k = end;
      }
    }
  }
  result.units = units.size();
  if (units.empty()) return result;
  chunk_index index = chunk_index_build(chunk);
  for (const std::string& u : units) {
    std::string body = u.substr(2);
    if (u[0] == 'w') {
      if (index.words.count(body)) ++result.supported;
    } else if (index.cjk.count(body)) {
      ++result.supported;
    } else if (size_t half = utf8_char_end(body); half < body.size() &&
                                                  index.cjk.count(body.substr(0, half)) &&
                                                  index.cjk.count(body.substr(half))) {
      ++result.partial;
    }
  }
  // Half credit for a reworded CJK pair (both characters in the chunk, not side by side); one unit
  // of doubt in the denominator, so an answer of two or three content words proves little.
  result.score = (static_cast<double>(result.supported) + 0.5 * static_cast<double>(result.partial)) /
                 (static_cast<double>(result.units) + 1.0);
  result.found = result.score > threshold;
  return result;
}

}  // namespace smelt
