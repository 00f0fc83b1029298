// A Hugging Face model's config.json (Llama, Mistral, Qwen2, Qwen3 causal LMs) and
// generation_config.json, read into plain structs and checked for sanity. Weights, tokenizer and
// chat template live elsewhere (safetensors.h, model_dir.h, the tokenizer and template files).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace smelt {

enum model_arch { model_arch_llama, model_arch_mistral, model_arch_qwen2, model_arch_qwen3 };

// "LlamaForCausalLM", ... (the config's "architectures"[0]).
const char* model_arch_class_name(model_arch arch);
// "llama", "mistral", "qwen2", "qwen3" (the config's "model_type").
const char* model_arch_type_name(model_arch arch);

// Llama 3.1's "llama3" frequency scaling; type none means plain RoPE.
enum rope_scaling_type { rope_scaling_none, rope_scaling_llama3 };
struct rope_scaling_config {
  rope_scaling_type type = rope_scaling_none;
  double factor = 1.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 1.0;
  int64_t original_max_position_embeddings = 0;
};

struct model_config {
  model_arch arch = model_arch_llama;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;
  int64_t head_dim = 0;  // explicit, or hidden_size / num_attention_heads
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  rope_scaling_config rope_scaling;
  bool tie_word_embeddings = false;
  bool attention_bias = false;  // q,k,v projections carry a bias (always for Qwen2)
  bool qk_norm = false;         // per-head RMSNorm of q and k before RoPE (Qwen3)
  int64_t max_position_embeddings = 0;
  int64_t sliding_window = 0;  // 0: full attention (Mistral v0.1 sets 4096)
  int64_t vocab_size = 0;
  std::optional<int64_t> bos_token_id;
  std::vector<int64_t> eos_token_ids;    // config.json's eos_token_id, int or list
  std::string torch_dtype = "bfloat16";  // bfloat16 | float16 | float32
  std::string hidden_act = "silu";
};

// Parses config.json text; SOURCE names the file in errors ("DIR/config.json: num_key_value_heads: ...").
result<model_config> model_config_parse(std::string_view json_text, const std::string& source);
result<model_config> model_config_read(const std::filesystem::path& path);
// The sanity rules model_config_parse applies, for configs built in code (presets).
status model_config_check(const model_config& config, const std::string& source);
// config.json text as Hugging Face transformers writes it for this architecture.
std::string model_config_to_json(const model_config& config);

// generation_config.json: stop ids and default sampling; fields absent keep these defaults
// (transformers' own defaults).
struct generation_config {
  std::optional<int64_t> bos_token_id;
  std::vector<int64_t> eos_token_ids;
  std::optional<int64_t> pad_token_id;
  bool do_sample = false;
  double temperature = 1.0;
  int64_t top_k = 50;
  double top_p = 1.0;
  double min_p = 0.0;
  double repetition_penalty = 1.0;
  std::optional<int64_t> max_new_tokens;
};

result<generation_config> generation_config_parse(std::string_view json_text, const std::string& source);
result<generation_config> generation_config_read(const std::filesystem::path& path);
std::string generation_config_to_json(const generation_config& config);

}  // namespace smelt
