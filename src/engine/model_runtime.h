// Everything generation needs from one model directory, opened together: the transformer, its
// tokenizer, its chat template (when tokenizer_config.json has one), stop ids and the sampling
// defaults of generation_config.json, and LoRA adapters checked against it. Shared by
// `smelt generate`, `smelt chat`, `smelt compare` and the server.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "core/chat_message.h"
#include "engine/generate.h"
#include "engine/lora_adapter_set.h"
#include "engine/transformer.h"
#include "model/chat_template.h"
#include "model/tokenizer.h"

namespace smelt {

struct model_runtime {
  std::unique_ptr<transformer> model;
  tokenizer tok;
  std::optional<chat_template> tmpl;  // absent: the model has no chat template (base models)
  std::vector<int32_t> stop_ids;      // generation_config / config eos ids
};

result<model_runtime> model_runtime_open(const std::filesystem::path& dir, matmul_backend backend);

// Reads the PEFT adapter in DIR and checks it against the runtime's model (adapter_check): a
// mismatch is an error naming the adapter directory, the tensor, the shapes and the config field.
// Pass the result as generate_options::adapter; it must outlive the generations that use it.
result<lora_adapter_set> model_runtime_load_adapter(const model_runtime& rt,
                                                    const std::filesystem::path& dir);

// generation_config.json's sampling: greedy unless do_sample, then its temperature/top-k/top-p/min-p.
sampling_params model_runtime_sampling_defaults(const model_runtime& rt);

// Prompt ids of MESSAGES rendered by the chat template and opened for the reply as training
// renders an assistant turn (chat_template_reply_prompt), or, when options.enable_thinking is set,
// with the template's own generation prompt. No special tokens are added beyond what the template
// prints, as transformers' apply_chat_template does.
result<std::vector<int32_t>> model_runtime_chat_prompt(const model_runtime& rt,
                                                       const std::vector<chat_message>& messages,
                                                       const chat_render_options& options = {});

}  // namespace smelt
