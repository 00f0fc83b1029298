// Repairs chat JSONL lines that are fixable without guessing (BOM, stray whitespace, role case,
// consecutive same-role turns, empty system messages, keys the profile does not allow) and sets
// aside the rest as rejects with a reason. Format conversion is convert.h's, not this file's.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/result.h"
#include "dataset/validate.h"

namespace smelt {

// What was done to the lines written; one line may count under several repairs.
struct fix_counts {
  size_t bom = 0;             // byte order mark removed (line 1)
  size_t trimmed = 0;         // content with leading/trailing whitespace
  size_t role_case = 0;       // "User" -> "user", " assistant" -> "assistant"
  size_t merged = 0;          // consecutive same-role turns joined with a blank line
  size_t dropped_system = 0;  // empty system messages removed
  size_t removed_keys = 0;    // keys the profile does not allow, removed
};

struct fix_line_result {
  bool rejected = false;
  std::string line;    // the repaired JSONL line (no newline) when not rejected
  std::string reason;  // why it was rejected: "messages[1].role: expected system|user|assistant, got \"bot\""
  bool changed = false;
};

// Repairs one line (without its newline). is_last_without_newline only improves the message for
// a truncated last line. A line needing no repair comes back byte-for-byte unchanged.
fix_line_result fix_line(std::string_view text, const validate_profile& profile, fix_counts& counts,
                         bool is_last_without_newline = false);

struct fix_report {
  size_t lines = 0;     // input lines
  size_t written = 0;   // lines in the output
  size_t repaired = 0;  // written lines that differ from their input
  size_t rejected = 0;  // lines in the rejects file
  fix_counts counts;
};

// Reads input, writes every line either to output (repaired) or to rejects as
// {"line":N,"reason":"...","original":"..."} (invalid UTF-8 in "original" becomes U+FFFD).
// Both files are written atomically, the rejects file even when empty.
result<fix_report> fix_file(const std::filesystem::path& input, const std::filesystem::path& output,
                            const std::filesystem::path& rejects, const validate_profile& profile);

}  // namespace smelt
