// Conversion between the trainer's in-memory LoRA model and PEFT adapter files (model/adapter.h):
// what `smelt train` saves at each checkpoint, and what eval, chat and compare load.
#pragma once

#include <string>

#include "model/adapter.h"
#include "train/lora_model.h"

namespace smelt {

// The adapter's config and tensors (copies of A and B, PEFT layout).
adapter lora_model_to_adapter(const lora_model& model, const std::string& base_model_name);

// A lora_model over BASE holding the adapter's weights (checked against the base model first:
// errors name the tensor and shapes). Gradients start at zero.
result<lora_model> lora_model_from_adapter(transformer& base, const adapter& a);

}  // namespace smelt
