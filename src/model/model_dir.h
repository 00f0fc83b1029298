// A Hugging Face model directory opened for the engine: config.json, generation_config.json,
// the safetensors weights bound to named per-layer slots with their shapes checked, and the
// paths of the tokenizer files (read by the tokenizer and chat-template code, not here).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "model/model_config.h"
#include "model/safetensors.h"

namespace smelt {

// Shapes are [out, in] as PyTorch's nn.Linear stores them; H = hidden_size, D = head_dim,
// Q = num_attention_heads, K = num_key_value_heads, I = intermediate_size, V = vocab_size.
struct layer_weights {
  tensor_view input_layernorm;  // model.layers.{i}.input_layernorm.weight           [H]
  tensor_view q_proj;           // model.layers.{i}.self_attn.q_proj.weight          [Q*D, H]
  tensor_view k_proj;           // model.layers.{i}.self_attn.k_proj.weight          [K*D, H]
  tensor_view v_proj;           // model.layers.{i}.self_attn.v_proj.weight          [K*D, H]
  std::optional<tensor_view>
      q_bias;  // model.layers.{i}.self_attn.q_proj.bias            [Q*D] (attention_bias)
  std::optional<tensor_view> k_bias;  // model.layers.{i}.self_attn.k_proj.bias            [K*D]
  std::optional<tensor_view> v_bias;  // model.layers.{i}.self_attn.v_proj.bias            [K*D]
  std::optional<tensor_view> q_norm;  // model.layers.{i}.self_attn.q_norm.weight          [D] (Qwen3)
  std::optional<tensor_view> k_norm;  // model.layers.{i}.self_attn.k_norm.weight          [D]
  tensor_view o_proj;                 // model.layers.{i}.self_attn.o_proj.weight          [H, Q*D]
  std::optional<tensor_view>
      o_bias;  // model.layers.{i}.self_attn.o_proj.bias            [H] (Llama/Qwen3 bias)
  tensor_view post_attention_layernorm;  // model.layers.{i}.post_attention_layernorm.weight  [H]
  tensor_view gate_proj;                 // model.layers.{i}.mlp.gate_proj.weight             [I, H]
  tensor_view up_proj;                   // model.layers.{i}.mlp.up_proj.weight               [I, H]
  tensor_view down_proj;                 // model.layers.{i}.mlp.down_proj.weight             [H, I]
};

struct model_weights {
  tensor_view embed_tokens;  // model.embed_tokens.weight [V, H]
  std::vector<layer_weights> layers;
  tensor_view norm;     // model.norm.weight [H]
  tensor_view lm_head;  // lm_head.weight [V, H]; the embedding itself when tie_word_embeddings
};

// Name and expected shape of every tensor CONFIG needs, in checkpoint order (embeddings, layers, norm, head).
struct tensor_spec {
  std::string name;
  std::vector<int64_t> shape;
  bool is_norm = false;  // RMSNorm weight (initialised to ones)
};
std::vector<tensor_spec> model_tensor_specs(const model_config& config);

struct model_dir {
  std::filesystem::path path;
  model_config config;
  generation_config generation;  // defaults (with config's bos/eos) when the file is absent
  safetensors_set files;         // owns the mappings every tensor_view points into
  model_weights weights;
  std::filesystem::path tokenizer_json;         // always present
  std::filesystem::path tokenizer_config_json;  // empty when the directory has none
};

// Opens DIR: missing required files (config.json, weights, tokenizer.json) are listed together;
// missing tensors and wrong shapes name the tensor and the file.
result<model_dir> model_dir_open(const std::filesystem::path& dir);

}  // namespace smelt
