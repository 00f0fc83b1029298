// The built-in prompt sources for the corpus builder: smelt's own default prompt (chunk-wise, JSON
// fields with a supporting quote) and the `dify-seed` preset that reproduces the seed Dify workflow.
// Also the builder-facing helper that renders the {{avoid}} paragraph of top-up requests. Rendering
// is prompt_render() (prompt_spec.h, defined in prompts.cpp); Dify exports are dify_workflow.h's job.
#pragma once

#include <string>
#include <vector>

#include "corpus/prompt_spec.h"

namespace smelt {

// smelt's default: one request per structure-aware chunk, asking for {{count}} colloquial questions in
// {{language}} with faithful answers and a verbatim quote each, as a JSON array of
// {"question","answer","quote"} objects. temperature 0.3, frequency_penalty 0.5, max_tokens 4096,
// at most 10 pairs per request; model left to --model.
prompt_spec corpus_prompt_default();

// The seed Dify workflow ("Fine-tune 语料构造器"): Qwen/Qwen2.5-72B-Instruct-128K, temperature 0.3,
// frequency_penalty 0.5, max_tokens 4096, 10 questions per call, every document joined with "\n" and cut
// at 80,000 characters, answers as {"messages":[system=trigger,user,assistant]} JSONL lines.
prompt_spec corpus_prompt_dify_seed();

// The {{avoid}} paragraph for a top-up request: "" when questions is empty, else one instruction line
// followed by the questions, one per line ("- ..."), each flattened to a single line.
std::string corpus_avoid_block(const std::vector<std::string>& questions);

}  // namespace smelt
