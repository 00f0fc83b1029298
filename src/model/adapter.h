// LoRA adapters on disk in PEFT's format: adapter_config.json plus adapter_model.safetensors with
// PEFT's tensor names, read (F32/BF16/F16, names with or without ".default") and written (F32,
// atomically), and checked against a model's config. How adapters are applied and trained is the
// engine's and the trainer's business; numbers here are only stored and widened to fp32.
//
// Tensor names (PEFT, Llama/Mistral/Qwen layouts):
//   base_model.model.model.layers.{i}.self_attn.{q,k,v,o}_proj.lora_A[.default].weight   [r, in]
//   base_model.model.model.layers.{i}.mlp.{gate,up,down}_proj.lora_B[.default].weight    [out, r]
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/result.h"
#include "model/model_config.h"

namespace smelt {

struct adapter_config {
  int64_t rank = 8;                         // PEFT "r"
  double alpha = 32;                        // "lora_alpha"
  double dropout = 0.05;                    // "lora_dropout"
  std::vector<std::string> target_modules;  // "q_proj", ..., "down_proj"
  bool use_rslora = false;                  // scale alpha / sqrt(r) instead of alpha / r
  std::string base_model_name_or_path;
  float scale() const;
};

// One adapted linear: y += scale · B (A x).
struct adapter_tensor {
  int64_t layer = 0;
  std::string module;  // "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"
  int64_t rank = 0, in = 0, out = 0;
  std::vector<float> A;  // (rank, in)
  std::vector<float> B;  // (out, rank)
};

struct adapter {
  adapter_config config;
  std::vector<adapter_tensor> tensors;  // sorted by (layer, module in the order above) when read
};

// The PEFT tensor name of a module's A or B ("base_model.model.model.layers.3.mlp.up_proj.lora_B.weight").
std::string adapter_tensor_name(int64_t layer, const std::string& module, char which);

// adapter_config.json text with the keys PEFT writes (peft_type LORA, task_type CAUSAL_LM, ...).
std::string adapter_config_to_json(const adapter_config& config);
// Parses adapter_config.json; SOURCE names the file in errors. Features smelt cannot apply
// (DoRA, rank/alpha patterns, biases, regex target_modules) are errors naming the key.
result<adapter_config> adapter_config_parse(std::string_view json_text, const std::string& source);

// Writes DIR/adapter_config.json and DIR/adapter_model.safetensors (F32), each atomically; DIR is
// created when missing. The tensors' sizes must agree with their rank/in/out.
status adapter_write(const std::filesystem::path& dir, const adapter& a);
// Reads both files; every tensor must have a partner (A with B), the config's rank and a known name.
result<adapter> adapter_read(const std::filesystem::path& dir);

// Whether A fits MODEL: every layer index inside num_hidden_layers, every module among the
// config's target_modules, every shape as the model's projection needs. Errors name the tensor,
// the expected and actual shapes and the config field they come from.
status adapter_check(const adapter& a, const model_config& model, const std::string& model_source = "model");

// The (out, in) of MODULE's projection in MODEL: q (Q·D, H), k/v (KV·D, H), o (H, Q·D),
// gate/up (I, H), down (H, I). False for an unknown module.
bool adapter_module_shape(const model_config& model, const std::string& module, int64_t& out, int64_t& in);

}  // namespace smelt
