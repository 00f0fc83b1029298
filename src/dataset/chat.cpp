// Serialization of chat examples to the seed's JSONL line format (UTF-8 kept as is, not \u-escaped).
#include "dataset/chat.h"

namespace smelt {

nlohmann::ordered_json chat_example_to_json(const chat_example& example) {
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  for (const auto& m : example.messages) {
    nlohmann::ordered_json j;
    j["role"] = m.role;
    j["content"] = m.content;
    messages.push_back(std::move(j));
  }
  nlohmann::ordered_json out;
  out["messages"] = std::move(messages);
  return out;
}

std::string chat_example_to_line(const chat_example& example) {
  return chat_example_to_json(example).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace smelt
