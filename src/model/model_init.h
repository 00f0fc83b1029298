// `smelt model init`: a valid Hugging Face model directory with random weights of a named shape
// (tiny for tests, real model shapes for demos and benchmarks), using a given tokenizer.
// Training and generation never call this; it only writes files.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "model/model_config.h"
#include "model/safetensors.h"

namespace smelt {

struct model_init_options {
  std::string arch;                     // llama | qwen2 | qwen3 | "" (the preset's own)
  std::string preset;                   // tiny | qwen2.5-0.5b | qwen2.5-1.5b | qwen2.5-7b | llama-3.1-8b
  std::filesystem::path tokenizer_dir;  // holds tokenizer.json (+ tokenizer_config.json)
  std::filesystem::path out;            // created; must not already hold a model
  uint64_t seed = 0;
  tensor_dtype dtype = tensor_dtype_bf16;  // bf16 or f32 (f32 holds the same bf16-exact values)
  float norm_noise = 0;                    // RMSNorm weights 1 + norm_noise * normal(0, 1); 0: ones
  float embedding_std = 0.02f;             // std of embed_tokens and lm_head (other weights: 0.02)
};

const std::vector<std::string>& model_init_presets();

// The config of PRESET for ARCH; VOCAB_SIZE is used by tiny (real presets keep their own).
result<model_config> model_init_config(const std::string& arch, const std::string& preset,
                                       int64_t vocab_size);

// What the tokenizer files say: how many ids (1 + the largest id of the vocabulary and added
// tokens) and the bos/eos ids named by tokenizer_config.json.
struct tokenizer_ids {
  int64_t id_count = 0;
  std::optional<int64_t> bos_token_id;
  std::optional<int64_t> eos_token_id;
};
result<tokenizer_ids> model_init_tokenizer_ids(const std::filesystem::path& tokenizer_dir);

// Writes config.json, generation_config.json, model.safetensors (normal(0, 0.02); embeddings
// normal(0, embedding_std); norms one unless norm_noise; deterministic from the seed; streamed) and
// copies the tokenizer files into options.out.
status model_init(const model_init_options& options);

}  // namespace smelt
