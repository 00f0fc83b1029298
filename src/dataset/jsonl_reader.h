// Line-by-line reading of JSON Lines files with 1-based line numbers, and JSON record reading
// that also accepts a whole-file JSON array. Encoding problems are reported per line, never
// repaired silently; what a problem means for a dataset is validate.h's business.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/result.h"

namespace smelt {

struct jsonl_line {
  size_t number = 0;               // 1-based physical line number
  std::string text;                // without "\n" / "\r\n" and without a leading UTF-8 BOM
  bool had_bom = false;            // line 1 started with EF BB BF (removed from text)
  bool ends_with_newline = false;  // false only for a last line without a final newline
  bool utf8_valid = true;
  size_t utf8_bad_offset = 0;  // byte offset into text of the first malformed sequence
};

// Streams a file one line at a time; huge lines are fine (memory is one line).
class jsonl_reader {
 public:
  static result<jsonl_reader> open(const std::filesystem::path& path);
  // Fills line and returns true, or returns false at end of file. A file ending in "\n" has
  // no extra empty line after it.
  bool next(jsonl_line& line);
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::ifstream in_;
  size_t number_ = 0;
};

// True if text is empty or only ASCII whitespace.
bool jsonl_line_is_blank(std::string_view text);

// Parses one line as JSON. The error message is the reason only ("invalid JSON at column 12:
// ..."), without file or line; callers add those.
result<nlohmann::json> jsonl_parse(std::string_view text);

// One JSON value from a JSONL file or a JSON array file.
struct json_record {
  size_t number = 0;  // line number (JSONL) or 1-based array index (JSON array)
  nlohmann::json value;
  std::string error;  // non-empty: this record could not be read (value is null)
};

struct json_records {
  bool from_array = false;  // the file was one JSON array; numbers are item indexes
  std::vector<json_record> records;
};

// Reads every record. A file whose first non-space character is '[' is parsed as one JSON
// array; anything else as JSONL (blank lines skipped). Whole-file failures (unreadable,
// malformed array) come back as an error naming the path.
result<json_records> json_records_read(const std::filesystem::path& path);

}  // namespace smelt
