// lora_adapter_set.h: a checked PEFT adapter copied into per-layer, per-target lora_weights with
// the config's scale (alpha / r, or alpha / sqrt(r) with rsLoRA). Dropout is a training matter and
// is ignored here.
#include "engine/lora_adapter_set.h"

#include <fmt/format.h>

#include <atomic>

namespace smelt {

namespace {

uint64_t next_adapter_id() {
  static std::atomic<uint64_t> counter{0};
  return ++counter;
}

}  // namespace

result<lora_adapter_set> lora_adapter_set_create(const adapter& a, const model_config& model,
                                                 const std::string& model_source,
                                                 const std::filesystem::path& source) {
  const std::string where = source.empty() ? std::string("adapter") : source.string();
  if (auto s = adapter_check(a, model, model_source); !s) {
    if (source.empty()) return s.err();
    return make_error(fmt::format("{}: {}", where, s.message()));
  }
  lora_adapter_set set;
  set.id = next_adapter_id();
  set.source = where;
  std::filesystem::path trimmed = source;
  if (!trimmed.empty() && !trimmed.has_filename()) trimmed = trimmed.parent_path();
  set.name = trimmed.empty() ? std::string("adapter") : trimmed.filename().string();
  set.layers.resize(static_cast<size_t>(model.num_hidden_layers));
  const float scale = a.config.scale();
  for (const adapter_tensor& t : a.tensors) {
    lora_target target = lora_target_from_module(t.module);
    if (target == lora_target_count)  // adapter_check accepts only known modules
      return make_error(fmt::format("{}: unknown module '{}'", where, t.module));
    lora_weights& w = set.layers[static_cast<size_t>(t.layer)][target];
    if (w.rank > 0) return make_error(fmt::format("{}: layer {} {} appears twice", where, t.layer, t.module));
    w.rank = t.rank;
    w.in = t.in;
    w.out = t.out;
    w.scale = scale;
    w.A = t.A;
    w.B = t.B;
  }
  return set;
}

result<lora_adapter_set> lora_adapter_set_load(const std::filesystem::path& dir, const model_config& model,
                                               const std::string& model_source) {
  auto a = adapter_read(dir);
  if (!a) return a.err();
  return lora_adapter_set_create(*a, model, model_source, dir);
}

}  // namespace smelt
