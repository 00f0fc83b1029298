// Format conversion. Alpaca's "input" is appended to the instruction after a blank line; its
// "history" is a list of [user, assistant] pairs placed before the final turn. ShareGPT roles:
// human|user -> user, gpt|assistant|chatgpt|bing -> assistant, system -> system.
#include "dataset/convert.h"

#include <fmt/format.h>

#include "core/files.h"
#include "core/text.h"
#include "dataset/jsonl_reader.h"

namespace smelt {

namespace {

using json = nlohmann::json;

// A string field; missing or null gives an empty string when optional.
result<std::string> convert_string(const json& record, const char* key, bool required) {
  auto it = record.find(key);
  if (it == record.end() || it->is_null()) {
    if (required) return make_error(fmt::format("{}: missing", key));
    return std::string();
  }
  if (!it->is_string()) return make_error(fmt::format("{}: expected a string", key));
  return it->get<std::string>();
}

result<chat_example> convert_alpaca(const json& record) {
  auto instruction = convert_string(record, "instruction", true);
  if (!instruction.ok()) return instruction.err();
  auto input = convert_string(record, "input", false);
  if (!input.ok()) return input.err();
  auto output = convert_string(record, "output", true);
  if (!output.ok()) return output.err();
  auto system = convert_string(record, "system", false);
  if (!system.ok()) return system.err();
  chat_example ex;
  if (!text_trim(*system).empty()) ex.messages.push_back({"system", *system});
  if (auto h = record.find("history"); h != record.end() && !h->is_null()) {
    if (!h->is_array()) return make_error("history: expected an array of [user, assistant] pairs");
    for (size_t i = 0; i < h->size(); ++i) {
      const json& pair = (*h)[i];
      if (!pair.is_array() || pair.size() != 2 || !pair[0].is_string() || !pair[1].is_string())
        return make_error(fmt::format("history[{}]: expected [user, assistant] strings", i));
      ex.messages.push_back({"user", pair[0].get<std::string>()});
      ex.messages.push_back({"assistant", pair[1].get<std::string>()});
    }
  }
  std::string user = *instruction;
  if (!text_trim(*input).empty()) user += "\n\n" + *input;
  ex.messages.push_back({"user", user});
  ex.messages.push_back({"assistant", *output});
  return ex;
}

result<chat_example> convert_sharegpt(const json& record) {
  auto it = record.find("conversations");
  if (it == record.end()) return make_error("conversations: missing");
  if (!it->is_array()) return make_error("conversations: expected an array");
  chat_example ex;
  auto system = convert_string(record, "system", false);
  if (!system.ok()) return system.err();
  if (!text_trim(*system).empty()) ex.messages.push_back({"system", *system});
  for (size_t i = 0; i < it->size(); ++i) {
    const json& turn = (*it)[i];
    std::string at = fmt::format("conversations[{}]", i);
    if (!turn.is_object()) return make_error(at + ": expected an object");
    if (!turn.contains("from") || !turn["from"].is_string())
      return make_error(at + ".from: missing or not a string");
    if (!turn.contains("value") || !turn["value"].is_string())
      return make_error(at + ".value: missing or not a string");
    std::string from = text_to_lower_ascii(turn["from"].get<std::string>());
    std::string role;
    if (from == "human" || from == "user")
      role = "user";
    else if (from == "gpt" || from == "assistant" || from == "chatgpt" || from == "bing")
      role = "assistant";
    else if (from == "system")
      role = "system";
    else
      return make_error(fmt::format("{}.from: expected human|gpt|system, got {}", at, turn["from"].dump()));
    ex.messages.push_back({role, turn["value"].get<std::string>()});
  }
  return ex;
}

result<chat_example> convert_messages(const json& record) {
  auto it = record.find("messages");
  if (it == record.end()) return make_error("messages: missing");
  if (!it->is_array()) return make_error("messages: expected an array");
  chat_example ex;
  for (size_t i = 0; i < it->size(); ++i) {
    const json& m = (*it)[i];
    std::string at = fmt::format("messages[{}]", i);
    if (!m.is_object()) return make_error(at + ": expected an object");
    if (!m.contains("role") || !m["role"].is_string())
      return make_error(at + ".role: missing or not a string");
    if (!m.contains("content") || !m["content"].is_string())
      return make_error(at + ".content: missing or not a string");
    ex.messages.push_back({m["role"].get<std::string>(), m["content"].get<std::string>()});
  }
  return ex;
}

}  // namespace

std::optional<convert_format> convert_format_parse(std::string_view name) {
  if (name == "alpaca") return convert_format::alpaca;
  if (name == "sharegpt") return convert_format::sharegpt;
  if (name == "openai" || name == "messages") return convert_format::messages;
  return std::nullopt;
}

result<chat_example> convert_record(const json& record, const convert_options& options) {
  if (!record.is_object()) return make_error("expected a JSON object");
  result<chat_example> ex = options.from == convert_format::alpaca     ? convert_alpaca(record)
                            : options.from == convert_format::sharegpt ? convert_sharegpt(record)
                                                                       : convert_messages(record);
  if (!ex.ok()) return ex;
  if (ex->messages.empty()) return make_error("no messages");
  if (!options.system.empty() && ex->messages.front().role != "system")
    ex->messages.insert(ex->messages.begin(), chat_message{"system", options.system});
  return ex;
}

result<convert_report> convert_file(const std::filesystem::path& input, const std::filesystem::path& output,
                                    const convert_options& options) {
  auto records = json_records_read(input);
  if (!records.ok()) return records.err();
  convert_report report;
  report.from_array = records->from_array;
  std::string out;
  for (const auto& r : records->records) {
    ++report.records;
    if (!r.error.empty()) {
      report.problems.push_back({r.number, "json: " + r.error});
      continue;
    }
    auto ex = convert_record(r.value, options);
    if (!ex.ok()) {
      report.problems.push_back({r.number, ex.message()});
      continue;
    }
    out += chat_example_to_line(*ex) + "\n";
    ++report.written;
  }
  if (auto s = file_write_atomic(output, out); !s.ok()) return s.err();
  return report;
}

}  // namespace smelt
