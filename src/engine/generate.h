// The generation loop: prompt ids -> sampled continuation, streamed as text pieces that never end
// inside a UTF-8 character or a possible stop string. Reuses the longest prefix the KV cache
// already holds (multi-turn chat) when it was computed with the same adapter. Chat rendering and
// HTTP shapes are the callers' business.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/lora_adapter_set.h"
#include "engine/sampling.h"
#include "engine/transformer.h"
#include "model/tokenizer.h"

namespace smelt {

struct generate_options {
  sampling_params sampling;
  int64_t max_new_tokens = 512;
  std::vector<int32_t> stop_ids;          // end of generation (EOS ids); never part of the text
  std::vector<std::string> stop_strings;  // OpenAI semantics: the text ends before the match
  bool skip_special = true;               // leave special tokens out of the text
  // LoRA adapter applied unmerged, or null for the base model. Not owned: it must outlive the call.
  // A cache computed with another adapter (or without) is cleared, never reused.
  const lora_adapter_set* adapter = nullptr;
};

struct generate_result {
  std::vector<int32_t> ids;   // generated ids, a final stop id included
  std::string text;           // what was streamed, in full
  std::string finish_reason;  // "stop" (stop id or string), "length", "cancelled"
  int64_t prompt_tokens = 0;
  int64_t cached_tokens = 0;  // prompt tokens whose keys/values were reused from the cache
  double prefill_seconds = 0, decode_seconds = 0;
};

// ON_TEXT receives each piece of text as it becomes final; returning false cancels. The cache
// must have room for prompt + max_new_tokens positions or generation ends with "length" early.
result<generate_result> generate(transformer& model, const tokenizer& tok, kv_cache& cache,
                                 std::span<const int32_t> prompt, const generate_options& options,
                                 const std::function<bool(std::string_view)>& on_text = {});

}  // namespace smelt
