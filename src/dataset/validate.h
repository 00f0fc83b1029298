// Validation of chat JSONL against a target profile (what SiliconFlow, OpenAI, LLaMA-Factory or a
// generic trainer accepts): one problem list per file with line, field, message and severity.
// Reading lines is jsonl_reader.h's job, duplicate search dedup.h's; repairing is fix.h's.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "dataset/chat.h"
#include "dataset/dedup.h"
#include "dataset/stats.h"

namespace smelt {

enum class problem_severity { error, warning };

struct problem {
  size_t line = 0;    // 1-based; 0 for the file as a whole
  std::string field;  // "messages[2].role", "json", "encoding", "line", "examples"
  std::string message;
  problem_severity severity = problem_severity::error;
};

// "train.jsonl:42: messages[2].role: expected ..." ; warnings read "...: field: warning: ...";
// line 0 gives "train.jsonl: field: message".
std::string problem_format(const problem& p, std::string_view file_label);
nlohmann::ordered_json problem_to_json(const problem& p);

struct validate_profile {
  std::string name;
  std::string description;                // one line for --help
  size_t min_examples = 1;                // fewer is an error
  std::vector<std::string> top_keys;      // allowed at top level besides "messages"
  std::vector<std::string> message_keys;  // allowed in a message besides "role" and "content"
  problem_severity unknown_key = problem_severity::error;
  problem_severity blank_line = problem_severity::error;
};

// nullptr if there is no profile of that name.
const validate_profile* validate_profile_find(std::string_view name);
const std::vector<validate_profile>& validate_profiles();
// "siliconflow|openai|llamafactory|generic", for option tables.
std::string validate_profile_choices();

// Checks one parsed line. Problems are appended with the given line number. Returns the
// example's role/content pairs whenever they could be read (even if ordering rules failed),
// so statistics and duplicate search can still use it.
std::optional<chat_example> validate_example(const nlohmann::json& value, size_t line,
                                             const validate_profile& profile, std::vector<problem>& problems);

struct validate_options {
  bool duplicates = true;  // report exact and near-duplicate user turns as warnings
  dedup_options dedup;
};

struct validate_report {
  std::vector<problem> problems;  // in line order; file-level problems (line 0) last
  dataset_stats stats;            // over lines that were readable chat examples
  size_t lines = 0;
  size_t errors = 0;
  size_t warnings = 0;
  bool ok() const { return errors == 0; }
};

// Validates a whole file. Only an unreadable file is an error result; everything wrong inside
// the file is a problem in the report.
result<validate_report> validate_file(const std::filesystem::path& path, const validate_profile& profile,
                                      const validate_options& options = {});

}  // namespace smelt
