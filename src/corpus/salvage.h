// Salvage parsing of LLM answers into question/answer items. Models answer in many shapes
// (a JSON array, JSONL, fenced blocks, an object wrapping a list, the seed's {"messages":...} lines,
// prose around any of these) and sometimes break mid-way; this keeps every valid item and says what
// it dropped. Grounding, dedup and quotas are the corpus builder's job, not this file's.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace smelt {

struct qa_item {
  std::string question;
  std::string answer;
  std::string quote;  // supporting quote from the source; empty when the model gave none
};

struct salvage_result {
  std::vector<qa_item> items;
  size_t fragments_seen = 0;          // candidate items (complete or not) found in the text
  size_t fragments_rejected = 0;      // complete objects that were not a usable item
  bool dropped_cut_off_tail = false;  // an unterminated last object was discarded
  std::vector<std::string> problems;  // one line per rejected fragment ("item 3: no answer field")
};

// Parses text into items. Accepted item keys (case-insensitive): question|q|问题|instruction,
// answer|a|答案|output|response, quote|evidence|source_quote|support|依据|原文; or a
// {"messages":[...]} object whose first user turn is the question and next assistant turn the answer.
salvage_result salvage_parse(std::string_view text);

}  // namespace smelt
