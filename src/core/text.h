// UTF-8 and plain-string helpers shared by every module. Encoding detection and conversion of
// legacy encodings live in extract/ (they need iconv); this file only speaks UTF-8.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace smelt {

// Returns true if s is well-formed UTF-8 (no overlongs, no surrogates); else the byte offset
// of the first bad sequence goes to *bad_offset.
bool utf8_is_valid(std::string_view s, size_t* bad_offset = nullptr);
// Decodes one code point at s[i], advancing i; malformed bytes give U+FFFD and advance by one.
char32_t utf8_next(std::string_view s, size_t& i);
void utf8_append(std::string& out, char32_t cp);
size_t utf8_length(std::string_view s);  // code points
// Replaces malformed sequences with U+FFFD.
std::string utf8_sanitize(std::string_view s);
// Cuts s to at most max_bytes without splitting a character.
std::string_view utf8_truncate(std::string_view s, size_t max_bytes);
bool codepoint_is_cjk(char32_t cp);

std::string_view text_trim(std::string_view s);
std::vector<std::string_view> text_split_lines(std::string_view s);  // on \n, drops \r
// Collapses runs of ASCII/Unicode whitespace to one space and trims.
std::string text_collapse_spaces(std::string_view s);
std::string text_to_lower_ascii(std::string_view s);
bool text_starts_with(std::string_view s, std::string_view prefix);
bool text_ends_with(std::string_view s, std::string_view suffix);
std::string text_replace_all(std::string s, std::string_view from, std::string_view to);
// Splits prose into sentences after . ! ? and their CJK forms (。！？；) and at newlines; each
// sentence keeps its final punctuation and is trimmed. "e.g. 3.5" style dots inside a word do not split.
std::vector<std::string_view> text_sentences(std::string_view s);
// Share of letters/ideographs that are CJK, 0..1 (0 for text without letters).
double text_cjk_ratio(std::string_view s);

}  // namespace smelt
