// Salvage parser: find every top-level JSON object in the text with a string-aware brace scanner,
// parse each on its own, flatten wrappers ({"pairs":[...]}), and map keys to qa_item fields.
#include "corpus/salvage.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/text.h"

namespace smelt {

namespace {

struct fragment {
  std::string_view text;
  bool complete = false;
};

// Splits text into top-level {...} spans, skipping anything outside them (prose, fences, commas,
// array brackets). Braces inside JSON strings are ignored. An object still open at the end of the
// text is returned with complete = false.
std::vector<fragment> scan_objects(std::string_view text) {
  std::vector<fragment> out;
  size_t depth = 0, start = 0;
  bool in_string = false, escaped = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (depth == 0) {
      if (c == '{') depth = 1, start = i, in_string = false, escaped = false;
      continue;
    }
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"')
      in_string = true;
    else if (c == '{')
      ++depth;
    else if (c == '}' && --depth == 0)
      out.push_back({text.substr(start, i - start + 1), true});
  }
  if (depth > 0) out.push_back({text.substr(start), false});
  return out;
}

std::string key_fold(const std::string& key) {
  return text_to_lower_ascii(text_trim(key));
}

const nlohmann::json* field_find(const nlohmann::json& object, std::initializer_list<const char*> names) {
  for (auto it = object.begin(); it != object.end(); ++it) {
    std::string key = key_fold(it.key());
    for (const char* n : names)
      if (key == n) return &it.value();
  }
  return nullptr;
}

std::string field_text(const nlohmann::json* value) {
  if (!value) return "";
  if (value->is_string()) return std::string(text_trim(value->get<std::string>()));
  if (value->is_number()) return value->dump();
  return "";
}

// Wrapper objects hold the list under some key: {"pairs":[...]}, {"questions":[...]}, {"data":[...]}.
const nlohmann::json* wrapped_list(const nlohmann::json& object) {
  for (auto it = object.begin(); it != object.end(); ++it)
    if (it.value().is_array() && !it.value().empty() && it.value()[0].is_object() &&
        key_fold(it.key()) != "messages")
      return &it.value();
  return nullptr;
}

// One parsed object -> item, or a reason it is not one.
bool item_from_object(const nlohmann::json& object, qa_item& item, std::string& reason) {
  if (const nlohmann::json* messages = field_find(object, {"messages"}); messages && messages->is_array()) {
    for (const auto& m : *messages) {
      if (!m.is_object()) continue;
      std::string role = field_text(field_find(m, {"role"}));
      std::string content = field_text(field_find(m, {"content"}));
      if (role == "user" && item.question.empty())
        item.question = content;
      else if (role == "assistant" && !item.question.empty() && item.answer.empty())
        item.answer = content;
    }
    item.quote =
        field_text(field_find(object, {"quote", "evidence", "source_quote", "support", "依据", "原文"}));
  } else {
    item.question = field_text(field_find(object, {"question", "q", "问题", "instruction", "query"}));
    item.answer = field_text(field_find(object, {"answer", "a", "答案", "output", "response"}));
    item.quote =
        field_text(field_find(object, {"quote", "evidence", "source_quote", "support", "依据", "原文"}));
  }
  if (item.question.empty())
    reason = "no question field";
  else if (item.answer.empty())
    reason = "no answer field";
  return reason.empty();
}

}  // namespace

namespace {

// Handles one top-level fragment. A wrapper that is cut off or malformed as a whole (one bad item
// spoils the JSON of the whole array) is opened up and its inner objects are salvaged one by one.
void salvage_fragment(const fragment& f, int depth, size_t& number, salvage_result& out) {
  nlohmann::json object;
  if (f.complete) object = nlohmann::json::parse(f.text, nullptr, false);
  bool parsed = f.complete && !object.is_discarded() && object.is_object();
  if (!parsed) {
    std::vector<fragment> inner = depth < 2 ? scan_objects(f.text.substr(1)) : std::vector<fragment>{};
    bool nested = !inner.empty() && inner.front().complete;
    if (nested) {
      for (const fragment& g : inner) salvage_fragment(g, depth + 1, number, out);
      return;
    }
    ++number;
    if (!f.complete) {
      out.dropped_cut_off_tail = true;
      out.problems.push_back(fmt::format("item {}: cut off before its end, dropped", number));
    } else {
      ++out.fragments_rejected;
      out.problems.push_back(fmt::format("item {}: malformed JSON", number));
    }
    return;
  }
  std::vector<nlohmann::json> candidates;
  if (const nlohmann::json* list = wrapped_list(object))
    candidates.assign(list->begin(), list->end());
  else
    candidates.push_back(std::move(object));
  for (const auto& candidate : candidates) {
    ++number;
    qa_item item;
    std::string reason;
    if (candidate.is_object() && item_from_object(candidate, item, reason)) {
      out.items.push_back(std::move(item));
    } else {
      ++out.fragments_rejected;
      out.problems.push_back(fmt::format("item {}: {}", number, reason.empty() ? "not an object" : reason));
    }
  }
}

}  // namespace

salvage_result salvage_parse(std::string_view text) {
  salvage_result out;
  std::vector<fragment> fragments = scan_objects(text);
  size_t number = 0;
  for (const fragment& f : fragments) salvage_fragment(f, 0, number, out);
  out.fragments_seen = number;
  return out;
}

}  // namespace smelt
