// How the corpus builder asks an LLM for pairs: prompt templates, sampling parameters and the
// request shape. Three sources fill it: smelt's default (prompts.cpp), the `dify-seed` preset that
// reproduces the seed Dify workflow, and a Dify app export (dify_workflow.h). The builder
// (builder.h) only reads it.
//
// Templates use {{name}} placeholders, rendered by prompt_render():
//   {{trigger}}   the system message every training line will carry (e.g. 你是消防系统专家)
//   {{text}}      the source text (a chunk, or the whole capped document in whole_document mode)
//   {{count}}     how many pairs to ask for in this request
//   {{heading}}   the chunk's heading breadcrumb ("A > B"), empty in whole_document mode
//   {{avoid}}     questions already accepted for this chunk (top-up requests), one per line
//   {{language}}  "Chinese" | "English" (from --language or detected from the text)
#pragma once

#include <map>
#include <optional>
#include <string>

namespace smelt {

enum class prompt_answer_format {
  json_fields,    // {"question","answer","quote"} objects; the builder wraps them in {"messages":...}
  seed_messages,  // the seed's own {"messages":[system,user,assistant]} JSONL lines
};

struct prompt_spec {
  std::string name;             // "default", "dify-seed", or the Dify app's name
  std::string system_template;  // may be empty (no system message in the request)
  std::string user_template;
  prompt_answer_format format = prompt_answer_format::json_fields;
  std::string model;  // empty = take --model
  std::optional<double> temperature;
  std::optional<double> top_p;
  std::optional<double> frequency_penalty;
  std::optional<int> max_tokens;
  int pairs_per_request = 10;   // the most pairs asked for in one request
  bool whole_document = false;  // seed mode: one text per document, cut at char_cap characters
  size_t char_cap = 0;          // 0 = no cap; the seed cuts at 80,000 characters
  bool require_quote = true;    // json_fields answers carry a supporting quote
};

// Replaces {{name}} with values[name]; unknown placeholders are left as they are.
std::string prompt_render(const std::string& text, const std::map<std::string, std::string>& values);

}  // namespace smelt
