// E-mail messages (RFC 5322 headers, RFC 2045-2047 MIME): Subject -> level-1 heading, From/To/Cc/
// Date -> one paragraph of lines, the body (text/plain preferred over text/html in alternatives),
// then each attachment of a supported type through extract_bytes() after an attachment anchor.
// Mailbox formats (mbox) and S/MIME are not handled; unsupported attachments become warnings.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>

#include "core/text.h"
#include "extract/encoding.h"
#include "extract/extract.h"
#include "extract/formats.h"
#include "extract/html_blocks.h"

namespace smelt {

namespace {

struct mime_part {
  std::vector<std::pair<std::string, std::string>> headers;  // lowercase name, unfolded raw value
  std::string_view body;

  std::string header(std::string_view name) const {
    for (const auto& [k, v] : headers)
      if (k == name) return v;
    return "";
  }
};

// Headers end at the first empty line; continuation lines start with space or tab.
mime_part mime_parse(std::string_view raw) {
  mime_part part;
  size_t i = 0;
  while (i < raw.size()) {
    size_t nl = raw.find('\n', i);
    size_t end = nl == std::string_view::npos ? raw.size() : nl;
    std::string_view line = raw.substr(i, end - i);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    i = nl == std::string_view::npos ? raw.size() : nl + 1;
    if (line.empty()) break;
    if ((line[0] == ' ' || line[0] == '\t') && !part.headers.empty()) {
      part.headers.back().second += " ";
      part.headers.back().second += text_trim(line);
      continue;
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    part.headers.emplace_back(text_to_lower_ascii(text_trim(line.substr(0, colon))),
                              std::string(text_trim(line.substr(colon + 1))));
  }
  part.body = raw.substr(std::min(i, raw.size()));
  return part;
}

std::string base64_decode(std::string_view s) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  std::string out;
  out.reserve(s.size() * 3 / 4);
  unsigned buffer = 0;
  int bits = 0;
  for (char c : s) {
    if (c == '=') break;
    int v = value(c);
    if (v < 0) continue;
    buffer = (buffer << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xFF);
    }
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Quoted-printable; in_header also maps '_' to space (RFC 2047 "Q" encoding).
std::string qp_decode(std::string_view s, bool in_header) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '=' && i + 1 < s.size() && (s[i + 1] == '\n' || s[i + 1] == '\r')) {
      i += s[i + 1] == '\r' && i + 2 < s.size() && s[i + 2] == '\n' ? 2 : 1;  // soft line break
    } else if (c == '=' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else if (c == '_' && in_header) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

// RFC 2047 encoded words. Adjacent words in one charset are joined as bytes before conversion
// (mailers split long words in the middle of a multi-byte character).
std::string header_decode(std::string_view s) {
  std::string out, pending, pending_charset;
  auto flush = [&] {
    if (!pending.empty()) out += encoding_to_utf8_lenient(pending, pending_charset);
    pending.clear();
  };
  size_t i = 0;
  size_t after_word = std::string_view::npos;  // position just after the last encoded word
  while (i < s.size()) {
    size_t start = s.find("=?", i);
    if (start == std::string_view::npos) break;
    size_t q1 = s.find('?', start + 2);
    size_t q2 = q1 == std::string_view::npos ? q1 : s.find('?', q1 + 1);
    size_t end = q2 == std::string_view::npos ? q2 : s.find("?=", q2 + 1);
    if (end == std::string_view::npos || q2 != q1 + 2) {
      flush();
      out += encoding_to_utf8_lenient(s.substr(i, start + 2 - i));
      i = start + 2;
      after_word = std::string_view::npos;
      continue;
    }
    std::string_view between = s.substr(i, start - i);
    bool adjacent = after_word == i && text_trim(between).empty();
    std::string charset(s.substr(start + 2, q1 - start - 2));
    charset = charset.substr(0, charset.find('*'));
    char enc = static_cast<char>(std::toupper(static_cast<unsigned char>(s[q1 + 1])));
    std::string_view payload = s.substr(q2 + 1, end - q2 - 1);
    if (!adjacent || text_to_lower_ascii(charset) != text_to_lower_ascii(pending_charset)) {
      flush();
      if (!adjacent) out += encoding_to_utf8_lenient(between);
    }
    pending_charset = charset;
    pending += enc == 'B' ? base64_decode(payload) : qp_decode(payload, true);
    i = end + 2;
    after_word = i;
  }
  flush();
  if (i < s.size()) out += encoding_to_utf8_lenient(s.substr(i));
  return out;
}

struct header_value {
  std::string value;                          // "text/plain", "attachment"; lowercase
  std::map<std::string, std::string> params;  // lowercase names, decoded values
};

// "type/sub; a=1; b=\"x y\"; name*=utf-8''%E4%B8%AD; n*0=..; n*1=.." (RFC 2045 + RFC 2231).
header_value header_parse_params(std::string_view s) {
  header_value h;
  std::vector<std::string> pieces;
  std::string cur;
  bool quoted = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '"')
      quoted = !quoted;
    else if (c == '\\' && quoted && i + 1 < s.size())
      cur += s[++i];
    else if (c == ';' && !quoted)
      pieces.push_back(cur), cur.clear();
    else
      cur += c;
  }
  pieces.push_back(cur);
  h.value = text_to_lower_ascii(text_trim(pieces[0]));
  std::map<std::string, std::map<int, std::pair<std::string, bool>>>
      extended;  // name -> index -> (text, encoded)
  for (size_t k = 1; k < pieces.size(); ++k) {
    std::string_view p = text_trim(pieces[k]);
    size_t eq = p.find('=');
    if (eq == std::string_view::npos) continue;
    std::string key = text_to_lower_ascii(text_trim(p.substr(0, eq)));
    std::string value(text_trim(p.substr(eq + 1)));
    size_t star = key.find('*');
    if (star == std::string::npos) {
      h.params[key] = header_decode(value);
      continue;
    }
    bool encoded = key.back() == '*';
    std::string index = key.substr(star + 1, key.size() - star - 1 - (encoded ? 1 : 0));
    extended[key.substr(0, star)][index.empty() ? 0 : std::atoi(index.c_str())] = {value, encoded};
  }
  for (const auto& [key, segments] : extended) {
    std::string bytes, charset;
    for (const auto& [index, seg] : segments) {
      std::string_view text = seg.first;
      if (seg.second) {
        if (index == 0) {
          size_t a = text.find('\''), b = a == std::string_view::npos ? a : text.find('\'', a + 1);
          if (b != std::string_view::npos)
            charset = std::string(text.substr(0, a)), text = text.substr(b + 1);
        }
        for (size_t i = 0; i < text.size(); ++i) {
          if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
              hex_value(text[i + 2]) >= 0) {
            bytes += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
            i += 2;
          } else {
            bytes += text[i];
          }
        }
      } else {
        bytes += text;
      }
    }
    h.params[key] = encoding_to_utf8_lenient(bytes, charset);
  }
  return h;
}

std::vector<std::string_view> multipart_split(std::string_view body, const std::string& boundary) {
  std::vector<std::string_view> parts;
  std::string delimiter = "--" + boundary;
  size_t part_start = std::string_view::npos;
  size_t i = 0;
  while (i < body.size()) {
    size_t nl = body.find('\n', i);
    size_t end = nl == std::string_view::npos ? body.size() : nl;
    std::string_view line = body.substr(i, end - i);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (text_starts_with(line, delimiter)) {
      std::string_view rest = text_trim(line.substr(delimiter.size()));
      if (rest.empty() || rest == "--") {
        if (part_start != std::string_view::npos) {
          size_t stop = i;  // drop the line break before the delimiter (it belongs to it)
          if (stop > part_start && body[stop - 1] == '\n') --stop;
          if (stop > part_start && body[stop - 1] == '\r') --stop;
          parts.push_back(body.substr(part_start, stop - part_start));
        }
        if (rest == "--") return parts;
        part_start = nl == std::string_view::npos ? body.size() : nl + 1;
      }
    }
    i = nl == std::string_view::npos ? body.size() : nl + 1;
  }
  if (part_start != std::string_view::npos && part_start < body.size())
    parts.push_back(body.substr(part_start));
  return parts;
}

struct attachment {
  std::string filename;
  std::string content_type;
  std::string bytes;
};

class eml_reader {
 public:
  eml_reader(const std::string& name, document& doc) : name_(name), doc_(doc) {}

  void part(const mime_part& p, int depth) {
    header_value ct = header_parse_params(p.header("content-type"));
    if (ct.value.empty()) ct.value = "text/plain";
    header_value disposition = header_parse_params(p.header("content-disposition"));
    std::string filename =
        disposition.params.count("filename") ? disposition.params["filename"] : ct.params["name"];
    if (text_starts_with(ct.value, "multipart/") && depth < 32) {
      std::string boundary = ct.params["boundary"];
      if (boundary.empty()) {
        doc_.warnings.push_back(fmt::format("{} part without a boundary skipped", ct.value));
        return;
      }
      std::vector<mime_part> children;
      for (std::string_view raw : multipart_split(p.body, boundary)) children.push_back(mime_parse(raw));
      if (ct.value == "multipart/alternative" && !children.empty()) {
        part(children[alternative_choice(children)], depth + 1);
      } else {
        for (const mime_part& c : children) part(c, depth + 1);
      }
      return;
    }
    std::string bytes = body_decode(p);
    bool is_text = ct.value == "text/plain" || ct.value == "text/html";
    if (disposition.value == "attachment" || (!filename.empty() && !is_text) ||
        ct.value == "message/rfc822") {
      if (filename.empty()) filename = ct.value == "message/rfc822" ? "message.eml" : "attachment";
      attachments_.push_back({filename, ct.value, std::move(bytes)});
      return;
    }
    if (!is_text) {
      doc_.warnings.push_back(fmt::format("MIME part of type {} skipped", ct.value));
      return;
    }
    auto text = encoding_decode(bytes, name_, ct.params["charset"]);
    if (!text.ok()) {
      doc_.warnings.push_back(text.message());
      return;
    }
    if (ct.value == "text/html")
      html_to_document(text->utf8, doc_);
    else
      plain_text(text->utf8);
  }

  void finish() {
    int number = 0;
    for (const attachment& a : attachments_) {
      std::string format = extract_detect_format(a.filename, std::string_view(a.bytes).substr(0, 8));
      if (a.content_type == "message/rfc822") format = "eml";
      if (format.empty()) {
        doc_.warnings.push_back(
            fmt::format("attachment '{}' ({}) skipped: unsupported type", a.filename, a.content_type));
        continue;
      }
      auto extracted = extract_bytes(a.bytes, name_ + ": " + a.filename, format);
      if (!extracted.ok()) {
        doc_.warnings.push_back(fmt::format("attachment '{}' skipped: {}", a.filename, extracted.message()));
        continue;
      }
      document_add_anchor(doc_, anchor_kind::attachment, ++number, a.filename);
      document_add_heading(doc_, 2, "Attachment: " + a.filename);
      document_append(doc_, *extracted);
    }
  }

 private:
  // text/plain first, then text/html, then the last (richest) alternative.
  static size_t alternative_choice(const std::vector<mime_part>& children) {
    for (std::string_view want : {"text/plain", "text/html"}) {
      for (size_t k = 0; k < children.size(); ++k) {
        header_value ct = header_parse_params(children[k].header("content-type"));
        if (ct.value.empty()) ct.value = "text/plain";
        if (ct.value == want) return k;
      }
    }
    return children.size() - 1;
  }

  static std::string body_decode(const mime_part& p) {
    std::string cte = text_to_lower_ascii(text_trim(p.header("content-transfer-encoding")));
    if (cte == "base64") return base64_decode(p.body);
    if (cte == "quoted-printable") return qp_decode(p.body, false);
    return std::string(p.body);
  }

  void plain_text(std::string_view text) {
    std::string paragraph;
    for (std::string_view line : text_split_lines(text)) {
      while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
      if (text_trim(line).empty()) {
        document_add_paragraph(doc_, std::move(paragraph));
        paragraph.clear();
        continue;
      }
      if (!paragraph.empty()) paragraph += '\n';
      paragraph += line;
    }
    document_add_paragraph(doc_, std::move(paragraph));
  }

  const std::string& name_;
  document& doc_;
  std::vector<attachment> attachments_;
};

}  // namespace

result<document> extract_eml(std::string_view bytes, const std::string& name) {
  if (bytes.find('\0') != std::string_view::npos)
    return make_error(fmt::format("{}: binary data, not an e-mail message (contains NUL bytes)", name));
  mime_part message = mime_parse(bytes);
  bool has_mail_header = false;
  for (const auto& [k, v] : message.headers)
    has_mail_header |= k == "from" || k == "subject" || k == "date" || k == "to" || k == "message-id";
  if (!has_mail_header)
    return make_error(fmt::format("{}: not an e-mail message (no From/To/Subject/Date header)", name));
  document doc;
  document_add_heading(doc, 1, header_decode(message.header("subject")));
  std::string lines;
  for (const char* field : {"From", "To", "Cc", "Date"}) {
    std::string value = text_collapse_spaces(header_decode(message.header(text_to_lower_ascii(field))));
    if (value.empty()) continue;
    if (!lines.empty()) lines += '\n';
    lines += fmt::format("{}: {}", field, value);
  }
  document_add_paragraph(doc, lines);
  eml_reader reader(name, doc);
  reader.part(message, 0);
  reader.finish();
  return doc;
}

}  // namespace smelt
