// A LoRA adapter ready for inference: per layer, per target linear, the lora_weights that
// transformer_forward adds unmerged (y += scale · B (A x), no dropout). Built from a PEFT adapter
// (model/adapter.h) after adapter_check. Reading files is model/adapter.h's business, training the
// trainer's (src/train); a set is read-only once built, so many requests may share one.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/result.h"
#include "engine/lora.h"
#include "model/adapter.h"
#include "model/model_config.h"

namespace smelt {

struct lora_adapter_set {
  // Process-wide unique, never 0 (0 means "no adapter" in kv_cache::adapter_id). A KV cache
  // remembers the id its positions were computed with; moved sets keep their id.
  uint64_t id = 0;
  std::string name;    // shown to users: the adapter directory's last component
  std::string source;  // the adapter directory, for messages
  // layers[i][t]: rank 0 (empty A/B) when layer i's target t is not adapted.
  std::vector<std::array<lora_weights, lora_target_count>> layers;
};

// Checks A against MODEL (adapter_check; MODEL_SOURCE names the model in messages) and copies its
// tensors into a set with a fresh id. SOURCE names the adapter (its directory).
result<lora_adapter_set> lora_adapter_set_create(const adapter& a, const model_config& model,
                                                 const std::string& model_source,
                                                 const std::filesystem::path& source = {});

// adapter_read + lora_adapter_set_create. Errors name the adapter directory.
result<lora_adapter_set> lora_adapter_set_load(const std::filesystem::path& dir, const model_config& model,
                                               const std::string& model_source);

// The weights of LAYER's TARGET, or nullptr when that linear is not adapted.
inline const lora_weights* lora_adapter_set_find(const lora_adapter_set& set, size_t layer,
                                                 lora_target target) {
  if (layer >= set.layers.size()) return nullptr;
  const lora_weights& w = set.layers[layer][target];
  return w.rank > 0 ? &w : nullptr;
}

}  // namespace smelt
