// A chat example as fine-tuning services take it: {"messages":[{"role","content"},...]}.
// Parsing with line-level validation lives in jsonl.h/validate.h; this is the plain data.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "core/chat_message.h"

namespace smelt {

struct chat_example {
  std::vector<chat_message> messages;
};

// {"messages":[{"role":...,"content":...},...]} with keys in that order.
nlohmann::ordered_json chat_example_to_json(const chat_example& example);
std::string chat_example_to_line(const chat_example& example);  // one JSONL line, no newline

}  // namespace smelt
