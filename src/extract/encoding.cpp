// Encoding detection and iconv-based conversion. The binary test runs on the decoded text, so
// UTF-16 (full of NUL bytes) passes once its BOM has been seen.
#include "extract/encoding.h"

#include <fmt/format.h>
#include <iconv.h>

#include <algorithm>
#include <cerrno>

#include "core/text.h"

namespace smelt {

namespace {

struct iconv_owner {
  iconv_t cd = reinterpret_cast<iconv_t>(-1);
  ~iconv_owner() {
    if (ok()) iconv_close(cd);
  }
  bool ok() const { return cd != reinterpret_cast<iconv_t>(-1); }
};

std::string charset_normalize(std::string_view charset) {
  std::string s = text_to_lower_ascii(text_trim(charset));
  if (s.size() >= 2 && (s.front() == '"' || s.front() == '\'')) s = s.substr(1, s.size() - 2);
  // Names browsers and mailers use that glibc spells differently, or that are mislabelled supersets.
  if (s == "gb2312" || s == "gbk" || s == "x-gbk" || s == "cp936" || s == "euc-cn") return "GB18030";
  if (s == "iso-8859-1" || s == "latin1" || s == "us-ascii" || s == "ascii") return "WINDOWS-1252";
  if (s == "utf8") return "UTF-8";
  if (s == "x-sjis" || s == "shift-jis") return "SHIFT_JIS";
  return s;
}

bool charset_is_utf8(std::string_view charset) {
  return charset_normalize(charset) == "utf-8";
}

// Binary if any NUL, or more than 1 in 50 characters are C0 controls other than \t \n \r \f \v
// and ESC (ESC appears in ISO-2022 text).
bool looks_binary(std::string_view utf8) {
  size_t controls = 0;
  for (char ch : utf8) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c == 0) return true;
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v' && c != 0x1B) || c == 0x7F)
      ++controls;
  }
  return controls * 50 > utf8.size();
}

result<decoded_text> finish(std::string utf8, std::string encoding, const std::string& name) {
  if (looks_binary(utf8))
    return make_error(fmt::format("{}: binary data, not text (control characters)", name));
  return decoded_text{std::move(utf8), std::move(encoding)};
}

}  // namespace

result<std::string> encoding_convert(std::string_view bytes, std::string_view charset,
                                     const std::string& name) {
  std::string from = charset_normalize(charset);
  iconv_owner conv;
  conv.cd = iconv_open("UTF-8", from.c_str());
  if (!conv.ok()) return make_error(fmt::format("{}: unknown character set '{}'", name, charset));
  std::string out;
  out.resize(bytes.size() * 2 + 16);
  char* in_ptr = const_cast<char*>(bytes.data());
  size_t in_left = bytes.size();
  size_t used = 0;
  while (in_left > 0) {
    char* out_ptr = out.data() + used;
    size_t out_left = out.size() - used;
    size_t rc = iconv(conv.cd, &in_ptr, &in_left, &out_ptr, &out_left);
    used = out.size() - out_left;
    if (rc != static_cast<size_t>(-1)) break;
    if (errno == E2BIG) {
      out.resize(out.size() * 2);
      continue;
    }
    size_t offset = bytes.size() - in_left;
    if (errno == EINVAL)
      return make_error(fmt::format("{}: truncated {} sequence at byte {}", name, charset, offset));
    return make_error(fmt::format("{}: invalid {} sequence at byte {}", name, charset, offset));
  }
  out.resize(used);
  return out;
}

result<decoded_text> encoding_decode(std::string_view bytes, const std::string& name,
                                     std::string_view declared_charset) {
  auto starts = [&](std::string_view magic) { return text_starts_with(bytes, magic); };
  if (starts("\xEF\xBB\xBF")) {
    std::string_view rest = bytes.substr(3);
    size_t bad = 0;
    if (!utf8_is_valid(rest, &bad))
      return make_error(
          fmt::format("{}: has a UTF-8 byte order mark but invalid UTF-8 at byte {}", name, bad + 3));
    return finish(std::string(rest), "UTF-8", name);
  }
  if (starts("\xFF\xFE") || starts("\xFE\xFF")) {
    std::string enc = starts("\xFF\xFE") ? "UTF-16LE" : "UTF-16BE";
    auto text = encoding_convert(bytes.substr(2), enc, name);
    if (!text.ok()) return text.err();
    return finish(std::move(*text), enc, name);
  }
  // Valid UTF-8 with non-ASCII bytes is UTF-8 whatever the declaration says (mislabelled pages are
  // common, and legacy text is almost never valid UTF-8 by chance). Pure ASCII bytes still honour
  // the declaration, which matters for 7-bit encodings such as ISO-2022-JP.
  bool ascii = std::all_of(bytes.begin(), bytes.end(), [](char c) { return (c & 0x80) == 0; });
  bool utf8 = !ascii && utf8_is_valid(bytes);
  if (!declared_charset.empty() && !charset_is_utf8(declared_charset) && !utf8) {
    auto text = encoding_convert(bytes, declared_charset, name);
    if (text.ok()) return finish(std::move(*text), charset_normalize(declared_charset), name);
    // A wrong declaration is common; fall through to detection.
  }
  if (bytes.find('\0') != std::string_view::npos)
    return make_error(fmt::format("{}: binary data, not text (contains NUL bytes)", name));
  if (utf8_is_valid(bytes)) return finish(std::string(bytes), "UTF-8", name);
  auto gb = encoding_convert(bytes, "GB18030", name);
  if (gb.ok()) return finish(std::move(*gb), "GB18030", name);
  size_t bad = 0;
  utf8_is_valid(bytes, &bad);
  return make_error(
      fmt::format("{}: binary data, not text (invalid UTF-8 at byte {} and not GB18030 either)", name, bad));
}

std::string encoding_to_utf8_lenient(std::string_view bytes, std::string_view charset) {
  if (utf8_is_valid(bytes)) return std::string(bytes);
  if (!charset.empty()) {
    auto text = encoding_convert(bytes, charset, "");
    if (text.ok()) return std::move(*text);
  }
  auto gb = encoding_convert(bytes, "GB18030", "");
  if (gb.ok()) return std::move(*gb);
  return utf8_sanitize(bytes);
}

}  // namespace smelt
