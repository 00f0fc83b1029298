// Conversion of common instruction-tuning formats to chat examples: Alpaca
// (instruction/input/output[/system][/history]), ShareGPT (conversations of from/value) and
// records already in chat form (messages of role/content). Validation is validate.h's job.
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

namespace smelt {

enum class convert_format { alpaca, sharegpt, messages };

// "alpaca", "sharegpt", "openai" and "messages" (the last two are the same chat form).
std::optional<convert_format> convert_format_parse(std::string_view name);

struct convert_options {
  convert_format from = convert_format::messages;
  std::string system;  // added as the first message when a record has no system message of its own
};

// Converts one record. The error message names the field: "conversations[2].from: expected
// human|gpt|system, got \"tool\"".
result<chat_example> convert_record(const nlohmann::json& record, const convert_options& options);

struct convert_problem {
  size_t number = 0;  // line number, or item index for a JSON array file
  std::string message;
};

struct convert_report {
  bool from_array = false;
  size_t records = 0;
  size_t written = 0;
  std::vector<convert_problem> problems;  // records skipped
};

// Reads input (JSONL or one JSON array), writes chat JSONL to output atomically. Records that
// fail are skipped and listed; only unreadable input or unwritable output is an error result.
result<convert_report> convert_file(const std::filesystem::path& input, const std::filesystem::path& output,
                                    const convert_options& options);

}  // namespace smelt
