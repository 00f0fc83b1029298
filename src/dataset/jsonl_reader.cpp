// JSONL line reader and JSON record reader (JSONL or one JSON array per file).
#include "dataset/jsonl_reader.h"

#include <fmt/format.h>

#include "core/files.h"
#include "core/text.h"

namespace smelt {

result<jsonl_reader> jsonl_reader::open(const std::filesystem::path& path) {
  jsonl_reader reader;
  reader.path_ = path;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    return make_error(fmt::format("{}: is a directory", path.string()));
  reader.in_.open(path, std::ios::binary);
  if (!reader.in_) return make_error(fmt::format("{}: cannot open for reading", path.string()));
  return reader;
}

bool jsonl_reader::next(jsonl_line& line) {
  line = jsonl_line{};
  if (!in_ || in_.peek() == std::char_traits<char>::eof()) return false;
  std::getline(in_, line.text);
  line.ends_with_newline = !in_.eof();
  line.number = ++number_;
  if (!line.text.empty() && line.text.back() == '\r') line.text.pop_back();
  if (line.number == 1 && text_starts_with(line.text, "\xEF\xBB\xBF")) {
    line.had_bom = true;
    line.text.erase(0, 3);
  }
  line.utf8_valid = utf8_is_valid(line.text, &line.utf8_bad_offset);
  return true;
}

bool jsonl_line_is_blank(std::string_view text) {
  for (char c : text)
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != '\f' && c != '\v') return false;
  return true;
}

namespace {

// nlohmann says "[json.exception.parse_error.101] parse error at line 1, column 7: syntax error
// while parsing value - invalid literal; last read: 'x'"; keep the part after the column.
std::string jsonl_parse_reason(const nlohmann::json::parse_error& e) {
  std::string what = e.what();
  size_t column = what.find("column ");
  if (column != std::string::npos) {
    size_t colon = what.find(": ", column);
    if (colon != std::string::npos)
      return "invalid JSON at " + what.substr(column, colon - column) + ": " + what.substr(colon + 2);
  }
  size_t bracket = what.find("] ");
  return "invalid JSON: " + (bracket == std::string::npos ? what : what.substr(bracket + 2));
}

}  // namespace

result<nlohmann::json> jsonl_parse(std::string_view text) {
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::parse_error& e) {
    return make_error(jsonl_parse_reason(e));
  }
}

result<json_records> json_records_read(const std::filesystem::path& path) {
  auto data = file_read(path);
  if (!data.ok()) return data.err();
  std::string_view all = *data;
  if (text_starts_with(all, "\xEF\xBB\xBF")) all.remove_prefix(3);
  json_records out;
  size_t first = all.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && all[first] == '[') {
    size_t bad = 0;
    if (!utf8_is_valid(all, &bad))
      return make_error(fmt::format("{}: invalid UTF-8 at byte {}", path.string(), bad));
    auto parsed = jsonl_parse(all);
    if (!parsed.ok()) return make_error(fmt::format("{}: {}", path.string(), parsed.message()));
    out.from_array = true;
    size_t index = 0;
    for (auto& item : *parsed) out.records.push_back({++index, std::move(item), ""});
    return out;
  }
  size_t number = 0;
  for (std::string_view line : text_split_lines(all)) {
    ++number;
    if (jsonl_line_is_blank(line)) continue;
    json_record record;
    record.number = number;
    size_t bad = 0;
    if (!utf8_is_valid(line, &bad)) {
      record.error = fmt::format("invalid UTF-8 at byte {}", bad);
    } else if (auto parsed = jsonl_parse(line); parsed.ok()) {
      record.value = std::move(*parsed);
    } else {
      record.error = parsed.message();
    }
    out.records.push_back(std::move(record));
  }
  return out;
}

}  // namespace smelt
