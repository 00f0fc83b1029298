// Text encoding detection and conversion to UTF-8 for the text-family extractors (TXT, CSV,
// Markdown, HTML, EML): BOMs, UTF-8, UTF-16, GB18030 and any charset a document declares (via
// glibc iconv). Knows nothing about markup; finding a declared charset is the caller's job.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace smelt {

struct decoded_text {
  std::string utf8;      // well-formed UTF-8, BOM removed
  std::string encoding;  // what was used: "UTF-8", "UTF-16LE", "GB18030", a declared name, ...
};

// Decodes bytes to UTF-8. Order: BOM (UTF-8/UTF-16LE/UTF-16BE) > valid UTF-8 with non-ASCII bytes >
// declared charset (when the bytes convert cleanly) > valid UTF-8 > GB18030. Binary data (NUL bytes, many
// control characters) or bytes nothing decodes give "NAME: binary data, not text (...)".
result<decoded_text> encoding_decode(std::string_view bytes, const std::string& name,
                                     std::string_view declared_charset = "");

// Converts bytes in charset (any iconv name, case-insensitive) to UTF-8. Strict: an invalid or
// truncated sequence is an error naming NAME and the byte offset.
result<std::string> encoding_convert(std::string_view bytes, std::string_view charset,
                                     const std::string& name);

// Best-effort header/label decoding: valid UTF-8 stays, else tries charset, else GB18030, else
// replaces bad bytes with U+FFFD. Never fails.
std::string encoding_to_utf8_lenient(std::string_view bytes, std::string_view charset = "");

}  // namespace smelt
