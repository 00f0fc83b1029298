// Line repair: parse with key order kept, apply the repairs, then re-validate the result against
// the profile so a written line always passes `smelt data check` (apart from duplicates).
#include "dataset/fix.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/files.h"
#include "core/text.h"
#include "dataset/jsonl_reader.h"

namespace smelt {

namespace {

using ojson = nlohmann::ordered_json;

fix_line_result fix_reject(std::string reason) {
  fix_line_result r;
  r.rejected = true;
  r.reason = std::move(reason);
  return r;
}

bool fix_allowed(const std::vector<std::string>& keys, const std::string& key) {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

}  // namespace

fix_line_result fix_line(std::string_view text, const validate_profile& profile, fix_counts& counts,
                         bool is_last_without_newline) {
  size_t bad = 0;
  if (!utf8_is_valid(text, &bad)) return fix_reject(fmt::format("encoding: invalid UTF-8 at byte {}", bad));
  if (jsonl_line_is_blank(text)) return fix_reject("line: blank line");
  ojson value;
  try {
    value = ojson::parse(text.begin(), text.end());
  } catch (const ojson::parse_error&) {
    auto parsed = jsonl_parse(text);  // same parser, for the shared wording of the reason
    std::string reason = "json: " + (parsed.ok() ? std::string("invalid JSON") : parsed.message());
    if (is_last_without_newline) reason += " (last line has no newline at the end: truncated file?)";
    return fix_reject(std::move(reason));
  }
  if (!value.is_object()) return fix_reject("json: expected an object per line");
  fix_counts local;
  for (auto it = value.begin(); it != value.end();) {
    if (it.key() != "messages" && !fix_allowed(profile.top_keys, it.key())) {
      it = value.erase(it);
      ++local.removed_keys;
    } else {
      ++it;
    }
  }
  if (!value.contains("messages")) return fix_reject("messages: missing");
  ojson& messages = value["messages"];
  if (!messages.is_array()) return fix_reject("messages: expected an array");

  ojson kept = ojson::array();
  for (size_t i = 0; i < messages.size(); ++i) {
    ojson& m = messages[i];
    std::string at = fmt::format("messages[{}]", i);
    if (!m.is_object()) return fix_reject(at + ": expected an object");
    if (!m.contains("role") || !m["role"].is_string())
      return fix_reject(at + ".role: missing or not a string");
    if (!m.contains("content") || !m["content"].is_string())
      return fix_reject(at + ".content: missing or not a string");
    std::string original_role = m["role"];
    std::string role = text_to_lower_ascii(text_trim(original_role));
    if (role != "system" && role != "user" && role != "assistant")
      return fix_reject(fmt::format("{}.role: expected system|user|assistant, got {}", at, m["role"].dump()));
    if (role != original_role) m["role"] = role, ++local.role_case;
    std::string content = m["content"];
    std::string trimmed(text_trim(content));
    if (trimmed != content) m["content"] = trimmed, ++local.trimmed;
    for (auto it = m.begin(); it != m.end();) {
      const std::string& key = it.key();
      bool ok = key == "role" || key == "content" || fix_allowed(profile.message_keys, key);
      if (ok && key == "weight" && role != "assistant") ok = false;
      if (ok && key == "name" && !it->is_string()) ok = false;
      if (ok && key == "weight" && (!it->is_number() || (*it != 0 && *it != 1)))
        return fix_reject(fmt::format("{}.weight: expected 0 or 1, got {}", at, it->dump()));
      if (!ok) {
        it = m.erase(it);
        ++local.removed_keys;
      } else {
        ++it;
      }
    }
    if (trimmed.empty()) {
      if (role == "system") {
        ++local.dropped_system;
        continue;
      }
      return fix_reject(at + ".content: empty");
    }
    if (!kept.empty() && kept.back()["role"] == role) {
      kept.back()["content"] = kept.back()["content"].get<std::string>() + "\n\n" + trimmed;
      ++local.merged;
      continue;
    }
    kept.push_back(std::move(m));
  }
  if (kept.empty()) return fix_reject("messages: no message with content");
  for (size_t i = 1; i < kept.size(); ++i)
    if (kept[i]["role"] == "system")
      return fix_reject(fmt::format("messages: a system message after turn {} (only allowed first)", i));
  size_t first_turn = kept[0]["role"] == "system" ? 1 : 0;
  if (first_turn >= kept.size()) return fix_reject("messages: no user or assistant turn");
  if (kept[first_turn]["role"] != "user") return fix_reject("messages: the first turn is not from the user");
  if (kept.back()["role"] != "assistant")
    return fix_reject("messages: the conversation ends with a user turn");
  messages = std::move(kept);

  fix_line_result r;
  bool changed =
      local.removed_keys || local.role_case || local.trimmed || local.merged || local.dropped_system;
  r.line = changed ? value.dump(-1, ' ', false, ojson::error_handler_t::strict) : std::string(text);
  r.changed = changed;
  std::vector<problem> problems;
  auto check = jsonl_parse(r.line);
  if (check.ok()) validate_example(*check, 0, profile, problems);
  for (const auto& p : problems)
    if (p.severity == problem_severity::error) return fix_reject(p.field + ": " + p.message);
  counts.trimmed += local.trimmed;
  counts.role_case += local.role_case;
  counts.merged += local.merged;
  counts.dropped_system += local.dropped_system;
  counts.removed_keys += local.removed_keys;
  return r;
}

result<fix_report> fix_file(const std::filesystem::path& input, const std::filesystem::path& output,
                            const std::filesystem::path& rejects, const validate_profile& profile) {
  auto reader = jsonl_reader::open(input);
  if (!reader.ok()) return reader.err();
  fix_report report;
  std::string out, rej;
  jsonl_line line;
  while (reader->next(line)) {
    ++report.lines;
    auto fixed = fix_line(line.text, profile, report.counts, !line.ends_with_newline);
    if (fixed.rejected) {
      nlohmann::ordered_json j;
      j["line"] = line.number;
      j["reason"] = fixed.reason;
      j["original"] = line.text;
      rej += j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
      ++report.rejected;
      continue;
    }
    if (line.had_bom) ++report.counts.bom;
    if (fixed.changed || line.had_bom) ++report.repaired;
    out += fixed.line + "\n";
    ++report.written;
  }
  if (auto s = file_write_atomic(output, out); !s.ok()) return s.err();
  if (auto s = file_write_atomic(rejects, rej); !s.ok()) return s.err();
  return report;
}

}  // namespace smelt
