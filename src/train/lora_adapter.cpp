// lora_adapter.h.
#include "train/lora_adapter.h"

#include <fmt/format.h>

namespace smelt {

adapter lora_model_to_adapter(const lora_model& model, const std::string& base_model_name) {
  adapter a;
  a.config.rank = model.options.rank;
  a.config.alpha = model.options.alpha;
  a.config.dropout = model.options.dropout;
  a.config.use_rslora = model.options.rslora;
  a.config.base_model_name_or_path = base_model_name;
  for (int t = 0; t < lora_target_count; ++t)
    if (model.options.targets[t])
      a.config.target_modules.push_back(lora_target_name(static_cast<lora_target>(t)));
  for (size_t l = 0; l < model.layers.size(); ++l)
    for (int t = 0; t < lora_target_count; ++t) {
      const auto& p = model.layers[l][t];
      if (!p) continue;
      adapter_tensor at;
      at.layer = static_cast<int64_t>(l);
      at.module = lora_target_name(static_cast<lora_target>(t));
      at.rank = p->w.rank, at.in = p->w.in, at.out = p->w.out;
      at.A = p->w.A;
      at.B = p->w.B;
      a.tensors.push_back(std::move(at));
    }
  return a;
}

result<lora_model> lora_model_from_adapter(transformer& base, const adapter& a) {
  if (auto s = adapter_check(a, base.config, base.dir.path.string()); !s) return s.err();
  lora_options o;
  o.rank = a.config.rank;
  o.alpha = a.config.alpha;
  o.dropout = a.config.dropout;
  o.rslora = a.config.use_rslora;
  o.targets = {};
  for (const std::string& m : a.config.target_modules) {
    auto set = lora_targets_parse(m);
    if (!set) return make_error(fmt::format("adapter_config.json: target_modules: {}", set.message()));
    for (int t = 0; t < lora_target_count; ++t) o.targets[t] = o.targets[t] || (*set)[t];
  }
  lora_model m;
  m.base = &base;
  m.options = o;
  m.layers.resize(base.layers.size());
  for (const adapter_tensor& at : a.tensors) {
    const lora_target t = lora_target_from_module(at.module);
    if (t == lora_target_count) return make_error(fmt::format("adapter: unknown module '{}'", at.module));
    lora_param p;
    p.w.rank = at.rank, p.w.in = at.in, p.w.out = at.out;
    p.w.scale = o.scale();
    p.w.A = at.A;
    p.w.B = at.B;
    p.dA.assign(p.w.A.size(), 0.0f);
    p.dB.assign(p.w.B.size(), 0.0f);
    m.layers[static_cast<size_t>(at.layer)][t] = std::move(p);
  }
  return m;
}

}  // namespace smelt
