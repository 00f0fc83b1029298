// Training data for the trainer: a chat JSONL file checked like `smelt data check`, every
// conversation rendered by the model's own chat template and tokenized with its loss mask
// (assistant content + end-of-turn token, model/chat_tokens.h). Samples without a trained token,
// or longer than the limit, are reported by line, never dropped silently. Batching is the trainer's.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/result.h"
#include "model/chat_template.h"
#include "model/tokenizer.h"

namespace smelt {

struct train_sample {
  std::vector<int32_t> ids;
  std::vector<uint8_t> trained;  // per token: 1 when the token is a target
  size_t line = 0;               // 1-based line of the JSONL file
  int64_t target_count() const;
};

enum overlength_policy { overlength_truncate, overlength_skip };

struct train_data {
  std::vector<train_sample> samples;
  std::vector<std::string> notes;  // "train.jsonl:12: skipped: no assistant token to train on", ...
  size_t skipped = 0, truncated = 0;
  int64_t tokens = 0, target_tokens = 0;
};

// Reads PATH. A file that fails validation is an error listing its first problems (as
// `smelt data check` prints them). Samples longer than MAX_TOKENS are cut to it or skipped.
result<train_data> train_data_load(const std::filesystem::path& path, const chat_template& tmpl,
                                   const tokenizer& tok, int64_t max_tokens, overlength_policy policy);

// Moves every K-th sample (a deterministic, seeded choice of round(fraction · n) samples) into a
// validation set; the rest stay in DATA.
std::vector<train_sample> train_data_split(std::vector<train_sample>& data, double fraction, uint64_t seed);

}  // namespace smelt
