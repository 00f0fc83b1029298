// The decoder-only transformer of Llama / Mistral / Qwen2 / Qwen3 checkpoints, forward pass on the
// CPU: one readable layer loop over ops.h and matmul.h, with a KV cache for generation. Weights
// stay where model_dir mapped them, in their stored dtype (F16 files are widened once to fp32).
// LoRA adapters apply unmerged per call (lora_adapter_set.h), so the base and any number of adapters
// share one transformer. Sampling, stop strings and the generation loop live in sampling.h / generate.h.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/result.h"
#include "engine/lora.h"
#include "engine/matmul.h"
#include "model/model_dir.h"

namespace smelt {

// Keys and values of every processed position, per layer: k[layer], v[layer] (length, KV * D),
// fp32, keys after RoPE, grown on demand up to capacity positions. tokens holds the id at each
// position, so a caller can keep the longest shared prefix between requests.
// A cache belongs to one adapter: its keys/values depend on the adapter's k/v (and, through the
// residual stream, every) LoRA branch. adapter_id records which (0: the base model); a forward
// with another adapter on a non-empty cache is refused, and generate clears the cache instead.
struct kv_cache {
  int64_t capacity = 0;
  int64_t length = 0;
  int64_t width = 0;  // KV * D
  std::vector<std::vector<float>> k, v;
  std::vector<int32_t> tokens;  // (length)
  uint64_t adapter_id = 0;      // lora_adapter_set::id of the positions held; 0 without adapter
};

// An empty cache for at most CAPACITY positions; memory is taken as positions are filled.
kv_cache kv_cache_create(const model_config& config, int64_t capacity);
// Forgets positions from LENGTH on (keeps a shared prompt prefix between turns). Truncating to 0
// also forgets the adapter the cache was computed with.
void kv_cache_truncate(kv_cache& cache, int64_t length);

struct transformer_layer {
  weight_matrix q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj;
  // Small vectors kept as fp32 (a few KiB per layer): norms and biases.
  std::vector<float> input_layernorm, post_attention_layernorm;
  std::vector<float> q_bias, k_bias, v_bias;  // empty without attention bias
  std::vector<float> o_bias;                  // Llama/Qwen3 with attention_bias only
  std::vector<float> q_norm, k_norm;          // empty unless Qwen3
};

// Activations of one forward call, reused between calls (sized for the largest T seen).
struct transformer_scratch {
  std::vector<float> x, xn, q, k, v, att, proj, gate, up;
  std::vector<int64_t> positions;
  lora_saved lora;  // the LoRA branch's (T, rank) intermediate
};

struct lora_adapter_set;

struct transformer {
  model_dir dir;  // owns the mapped weight files every weight_matrix points into
  model_config config;
  weight_matrix embed_tokens, lm_head;
  std::vector<transformer_layer> layers;
  std::vector<float> norm;
  std::vector<float> inv_freq;                // (D/2) RoPE frequencies, scaling applied
  std::vector<std::vector<std::byte>> owned;  // weights copied at load (unaligned or F16 tensors)
  std::unique_ptr<matmul_context> matmul;
  transformer_scratch scratch;
};

// Takes ownership of DIR and binds its weights. Errors name the tensor and file.
result<std::unique_ptr<transformer>> transformer_create(model_dir dir, matmul_backend backend);

// Runs TOKENS at positions cache.length .. cache.length + T - 1, appends their keys/values to the
// cache and writes logits: (T, V) when ALL_POSITIONS, else only the last position's (V).
// ADAPTER (may be null: the base model) adds its LoRA branch to each adapted linear, without
// dropout; it must have been built for this model's config (lora_adapter_set_create checks).
// Errors: a token id outside the vocabulary, the cache's capacity exceeded, or a non-empty cache
// computed with another adapter (see kv_cache).
status transformer_forward(transformer& model, kv_cache& cache, std::span<const int32_t> tokens,
                           std::vector<float>& logits, bool all_positions = false,
                           const lora_adapter_set* adapter = nullptr);

}  // namespace smelt
