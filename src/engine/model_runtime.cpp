// model_runtime.h: opens the pieces of a model directory, applies its generation defaults and
// binds adapters to it.
#include "engine/model_runtime.h"

#include <fmt/format.h>

#include <algorithm>

namespace smelt {

result<model_runtime> model_runtime_open(const std::filesystem::path& dir, matmul_backend backend) {
  auto md = model_dir_open(dir);
  if (!md) return md.err();
  model_runtime rt;
  auto tok = tokenizer_load(md->tokenizer_json.string());
  if (!tok) return tok.err();
  rt.tok = std::move(*tok);
  if (!md->tokenizer_config_json.empty()) {
    // A tokenizer_config.json without a chat_template is a base model: generation works raw.
    auto tmpl = chat_template_find(md->tokenizer_config_json);
    if (!tmpl) return tmpl.err();
    rt.tmpl = std::move(*tmpl);
  }
  for (int64_t id : md->generation.eos_token_ids) rt.stop_ids.push_back(static_cast<int32_t>(id));
  for (int64_t id : md->config.eos_token_ids)
    if (std::find(rt.stop_ids.begin(), rt.stop_ids.end(), id) == rt.stop_ids.end())
      rt.stop_ids.push_back(static_cast<int32_t>(id));
  auto model = transformer_create(std::move(*md), backend);
  if (!model) return model.err();
  rt.model = std::move(*model);
  return rt;
}

result<lora_adapter_set> model_runtime_load_adapter(const model_runtime& rt,
                                                    const std::filesystem::path& dir) {
  return lora_adapter_set_load(dir, rt.model->config, rt.model->dir.path.string());
}

sampling_params model_runtime_sampling_defaults(const model_runtime& rt) {
  const generation_config& g = rt.model->dir.generation;
  sampling_params p;
  p.temperature = g.do_sample ? g.temperature : 0.0;
  p.top_k = g.do_sample ? g.top_k : 0;
  p.top_p = g.top_p;
  p.min_p = g.min_p;
  p.repetition_penalty = g.repetition_penalty;
  return p;
}

result<std::vector<int32_t>> model_runtime_chat_prompt(const model_runtime& rt,
                                                       const std::vector<chat_message>& messages,
                                                       const chat_render_options& options) {
  if (!rt.tmpl)
    return make_error(
        fmt::format("{}: the model has no chat template (tokenizer_config.json chat_template); "
                    "use --raw to feed text as is",
                    rt.model->dir.path.string()));
  // An explicit thinking switch asks for the template's own generation prompt.
  if (options.enable_thinking) {
    auto rendered = chat_template_render(*rt.tmpl, messages, true, options);
    if (!rendered) return rendered.err();
    return tokenizer_encode(rt.tok, rendered->text, false);
  }
  auto text = chat_template_reply_prompt(*rt.tmpl, messages, options);
  if (!text) return text.err();
  return tokenizer_encode(rt.tok, *text, false);
}

}  // namespace smelt
