// Profile table and the validation rules. Rules shared by every profile: UTF-8 without BOM, one
// JSON object per line, top-level "messages", roles system|user|assistant, system only first,
// user/assistant alternating from user to assistant, non-empty string content. Profiles differ
// in allowed keys, minimum example count and how strictly blank lines/unknown keys are taken.
#include "dataset/validate.h"

#include <fmt/format.h>

#include <algorithm>

#include "dataset/jsonl_reader.h"

namespace smelt {

namespace {

using json = nlohmann::json;

// A function-local static: option tables in other files read it during static initialization.
const std::vector<validate_profile>& validate_profile_table() {
  static const std::vector<validate_profile> profiles = {
      // SiliconFlow's fine-tuning guide (docs.siliconflow.cn, "fine-tune") lists the rules above and no
      // extra keys; it documents no minimum count, so smelt asks for one example.
      {"siliconflow",
       "SiliconFlow fine-tuning: role and content only, blank lines and extra keys are errors",
       1,
       {},
       {},
       problem_severity::error,
       problem_severity::error},
      // OpenAI chat fine-tuning: at least 10 examples; messages may carry "name", and assistant
      // messages "weight" (0 or 1). Tool/function calling is not supported by smelt's trainer.
      {"openai",
       "OpenAI fine-tuning: at least 10 examples; name, and weight 0|1 on assistant messages",
       10,
       {},
       {"name", "weight"},
       problem_severity::error,
       problem_severity::error},
      // LLaMA-Factory "sharegpt"-style data with OpenAI tags may carry "system" and "tools" columns;
      // other columns are ignored by it, so they are warnings.
      {"llamafactory",
       "LLaMA-Factory (messages with role/content tags): extra top-level system/tools allowed",
       1,
       {"system", "tools"},
       {},
       problem_severity::warning,
       problem_severity::warning},
      {"generic",
       "any chat trainer: the shared rules; extra keys and blank lines are warnings",
       1,
       {},
       {},
       problem_severity::warning,
       problem_severity::warning},
  };
  return profiles;
}

const char* validate_type_name(const json& j) {
  switch (j.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::object:
      return "an object";
    case json::value_t::array:
      return "an array";
    case json::value_t::string:
      return "a string";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return "a number";
    default:
      return "a binary value";
  }
}

std::string validate_quote(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string validate_allowed(const std::vector<std::string>& base, const std::vector<std::string>& extra) {
  std::vector<std::string> all = base;
  all.insert(all.end(), extra.begin(), extra.end());
  std::string out;
  for (size_t i = 0; i < all.size(); ++i) out += (i ? ", " : "") + all[i];
  return out;
}

bool validate_contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

bool validate_blank(const std::string& s) {
  return jsonl_line_is_blank(s);
}

}  // namespace

std::string problem_format(const problem& p, std::string_view file_label) {
  std::string where = p.line ? fmt::format("{}:{}", file_label, p.line) : std::string(file_label);
  return fmt::format("{}: {}: {}{}", where, p.field,
                     p.severity == problem_severity::warning ? "warning: " : "", p.message);
}

nlohmann::ordered_json problem_to_json(const problem& p) {
  nlohmann::ordered_json j;
  j["line"] = p.line;
  j["field"] = p.field;
  j["severity"] = p.severity == problem_severity::warning ? "warning" : "error";
  j["message"] = p.message;
  return j;
}

const std::vector<validate_profile>& validate_profiles() {
  return validate_profile_table();
}

const validate_profile* validate_profile_find(std::string_view name) {
  for (const auto& p : validate_profile_table())
    if (p.name == name) return &p;
  return nullptr;
}

std::string validate_profile_choices() {
  std::string out;
  for (const auto& p : validate_profile_table()) out += (out.empty() ? "" : "|") + p.name;
  return out;
}

std::optional<chat_example> validate_example(const json& value, size_t line, const validate_profile& profile,
                                             std::vector<problem>& problems) {
  auto report = [&](std::string field, std::string message, problem_severity s = problem_severity::error) {
    problems.push_back({line, std::move(field), std::move(message), s});
  };
  if (!value.is_object()) {
    report("json", fmt::format("expected an object per line, got {}", validate_type_name(value)));
    return std::nullopt;
  }
  for (const auto& [key, v] : value.items()) {
    if (key == "messages" || validate_contains(profile.top_keys, key)) continue;
    report(key,
           fmt::format("unexpected key (profile {} allows {})", profile.name,
                       validate_allowed({"messages"}, profile.top_keys)),
           profile.unknown_key);
  }
  auto it = value.find("messages");
  if (it == value.end()) {
    report("messages", "missing");
    return std::nullopt;
  }
  const json& messages = *it;
  if (!messages.is_array()) {
    report("messages", fmt::format("expected an array, got {}", validate_type_name(messages)));
    return std::nullopt;
  }
  if (messages.empty()) {
    report("messages", "empty array");
    return std::nullopt;
  }

  chat_example example;
  bool readable = true;     // every message has string role and content
  bool roles_valid = true;  // every role is system|user|assistant
  for (size_t i = 0; i < messages.size(); ++i) {
    const json& m = messages[i];
    std::string at = fmt::format("messages[{}]", i);
    if (!m.is_object()) {
      report(at, fmt::format("expected an object, got {}", validate_type_name(m)));
      readable = roles_valid = false;
      continue;
    }
    const json* role = nullptr;
    const json* content = nullptr;
    for (const auto& [key, v] : m.items()) {
      if (key == "role")
        role = &v;
      else if (key == "content")
        content = &v;
      else if (!validate_contains(profile.message_keys, key))
        report(at + "." + key,
               fmt::format("unexpected key (profile {} allows {})", profile.name,
                           validate_allowed({"role", "content"}, profile.message_keys)),
               profile.unknown_key);
    }
    if (!role) {
      report(at + ".role", "missing");
      readable = roles_valid = false;
    } else if (!role->is_string()) {
      report(at + ".role", fmt::format("expected a string, got {}", validate_type_name(*role)));
      readable = roles_valid = false;
    } else if (*role != "system" && *role != "user" && *role != "assistant") {
      report(at + ".role", fmt::format("expected system|user|assistant, got {}", validate_quote(*role)));
      roles_valid = false;
    }
    if (!content) {
      report(at + ".content", "missing");
      readable = false;
    } else if (!content->is_string()) {
      report(at + ".content", fmt::format("expected a string, got {}", validate_type_name(*content)));
      readable = false;
    } else if (validate_blank(content->get_ref<const std::string&>())) {
      report(at + ".content", "empty");
    }
    if (validate_contains(profile.message_keys, "weight") && m.contains("weight")) {
      const json& w = m["weight"];
      if (role && role->is_string() && *role != "assistant")
        report(at + ".weight", "only allowed on assistant messages");
      else if (!w.is_number() || (w != 0 && w != 1))
        report(at + ".weight", fmt::format("expected 0 or 1, got {}", validate_quote(w)));
    }
    if (validate_contains(profile.message_keys, "name") && m.contains("name") && !m["name"].is_string())
      report(at + ".name", fmt::format("expected a string, got {}", validate_type_name(m["name"])));
    if (readable) example.messages.push_back({role->get<std::string>(), content->get<std::string>()});
  }

  if (roles_valid) {
    std::string expected = "user";
    size_t last_turn = messages.size();
    for (size_t i = 0; i < messages.size(); ++i) {
      const std::string& role = messages[i]["role"].get_ref<const std::string&>();
      std::string at = fmt::format("messages[{}].role", i);
      if (role == "system") {
        if (i > 0) report(at, "system message only allowed first");
        continue;
      }
      if (role != expected) {
        if (last_turn == messages.size())
          report(at,
                 fmt::format("expected user as the first turn (after an optional system message), got \"{}\"",
                             role));
        else
          report(at, fmt::format("expected {} after {} (turns alternate), got \"{}\"", expected,
                                 expected == "user" ? "assistant" : "user", role));
      }
      expected = role == "user" ? "assistant" : "user";
      last_turn = i;
    }
    if (last_turn == messages.size()) {
      report("messages", "no user or assistant turn");
    } else if (messages[last_turn]["role"] != "assistant") {
      report(fmt::format("messages[{}].role", last_turn),
             "conversation must end with an assistant turn, got \"user\"");
    }
  }
  if (!readable) return std::nullopt;
  return example;
}

result<validate_report> validate_file(const std::filesystem::path& path, const validate_profile& profile,
                                      const validate_options& options) {
  auto reader = jsonl_reader::open(path);
  if (!reader.ok()) return reader.err();
  validate_report report;
  dedup_index dedup(options.dedup);
  struct turn_ref {
    size_t line, message;
  };
  std::vector<turn_ref> turns;
  jsonl_line line;
  while (reader->next(line)) {
    report.lines = line.number;
    if (line.had_bom)
      report.problems.push_back(
          {1, "encoding", "UTF-8 byte order mark (BOM) at start of file (smelt data fix removes it)"});
    if (!line.utf8_valid) {
      report.problems.push_back(
          {line.number, "encoding", fmt::format("invalid UTF-8 at byte {}", line.utf8_bad_offset)});
      ++report.stats.skipped_lines;
      continue;
    }
    if (jsonl_line_is_blank(line.text)) {
      report.problems.push_back({line.number, "line", "blank line", profile.blank_line});
      continue;
    }
    auto parsed = jsonl_parse(line.text);
    if (!parsed.ok()) {
      std::string message = parsed.message();
      if (!line.ends_with_newline) message += " (last line has no newline at the end: truncated file?)";
      report.problems.push_back({line.number, "json", std::move(message)});
      ++report.stats.skipped_lines;
      continue;
    }
    auto example = validate_example(*parsed, line.number, profile, report.problems);
    if (!example) {
      ++report.stats.skipped_lines;
      continue;
    }
    stats_add(report.stats, *example);
    if (!options.duplicates) continue;
    // Message indexes refer to the original array; readable examples keep every message.
    for (size_t i = 0; i < example->messages.size(); ++i) {
      if (example->messages[i].role != "user" || validate_blank(example->messages[i].content)) continue;
      auto match = dedup.add(example->messages[i].content, turns.size());
      turns.push_back({line.number, i});
      if (!match) continue;
      const turn_ref& other = turns[match->other_id];
      std::string where = other.line == line.number
                              ? fmt::format("messages[{}] on the same line", other.message)
                              : fmt::format("line {}", other.line);
      std::string message = match->exact ? fmt::format("user turn duplicates {}", where)
                                         : fmt::format("user turn nearly duplicates {} (similarity {:.2f})",
                                                       where, match->similarity);
      report.problems.push_back({line.number, fmt::format("messages[{}].content", i), std::move(message),
                                 problem_severity::warning});
    }
  }
  if (report.stats.examples < profile.min_examples)
    report.problems.push_back(
        {0, "examples",
         fmt::format("expected at least {} example{} for profile {}, got {}", profile.min_examples,
                     profile.min_examples == 1 ? "" : "s", profile.name, report.stats.examples)});
  for (const auto& p : report.problems)
    (p.severity == problem_severity::error ? report.errors : report.warnings)++;
  return report;
}

}  // namespace smelt
