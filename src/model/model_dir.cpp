// Opening a model directory: which files must be there, which tensors each architecture has and
// with which shapes. The weights stay in the mapped files; nothing is converted or copied.
#include "model/model_dir.h"

#include <fmt/format.h>

namespace smelt {

namespace fs = std::filesystem;

namespace {

std::string layer_name(int64_t i, const char* rest) {
  return fmt::format("model.layers.{}.{}", i, rest);
}

}  // namespace

std::vector<tensor_spec> model_tensor_specs(const model_config& c) {
  const int64_t h = c.hidden_size, d = c.head_dim, q = c.num_attention_heads * d,
                kv = c.num_key_value_heads * d, i = c.intermediate_size, v = c.vocab_size;
  std::vector<tensor_spec> out;
  out.push_back({"model.embed_tokens.weight", {v, h}});
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    out.push_back({layer_name(l, "input_layernorm.weight"), {h}, true});
    out.push_back({layer_name(l, "self_attn.q_proj.weight"), {q, h}});
    out.push_back({layer_name(l, "self_attn.k_proj.weight"), {kv, h}});
    out.push_back({layer_name(l, "self_attn.v_proj.weight"), {kv, h}});
    if (c.attention_bias) {
      out.push_back({layer_name(l, "self_attn.q_proj.bias"), {q}});
      out.push_back({layer_name(l, "self_attn.k_proj.bias"), {kv}});
      out.push_back({layer_name(l, "self_attn.v_proj.bias"), {kv}});
    }
    if (c.qk_norm) {
      out.push_back({layer_name(l, "self_attn.q_norm.weight"), {d}, true});
      out.push_back({layer_name(l, "self_attn.k_norm.weight"), {d}, true});
    }
    out.push_back({layer_name(l, "self_attn.o_proj.weight"), {h, q}});
    // Llama/Qwen3 with attention_bias also bias o_proj; Qwen2's o_proj never has one.
    if (c.attention_bias && c.arch != model_arch_qwen2)
      out.push_back({layer_name(l, "self_attn.o_proj.bias"), {h}});
    out.push_back({layer_name(l, "post_attention_layernorm.weight"), {h}, true});
    out.push_back({layer_name(l, "mlp.gate_proj.weight"), {i, h}});
    out.push_back({layer_name(l, "mlp.up_proj.weight"), {i, h}});
    out.push_back({layer_name(l, "mlp.down_proj.weight"), {h, i}});
  }
  out.push_back({"model.norm.weight", {h}, true});
  if (!c.tie_word_embeddings) out.push_back({"lm_head.weight", {v, h}});
  return out;
}

result<model_dir> model_dir_open(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return make_error(fmt::format("{}: not a directory", dir.string()));
  std::vector<std::string> missing;
  auto have = [&](const char* name) { return fs::exists(dir / name, ec); };
  if (!have("config.json")) missing.push_back("config.json");
  if (!have("model.safetensors") && !have("model.safetensors.index.json"))
    missing.push_back("model.safetensors (or model.safetensors.index.json with its shards)");
  if (!have("tokenizer.json")) missing.push_back("tokenizer.json");
  if (!missing.empty())
    return make_error(fmt::format("{}: not a complete model directory; missing {}", dir.string(),
                                  fmt::join(missing, ", ")));

  model_dir m;
  m.path = dir;
  auto config = model_config_read(dir / "config.json");
  if (!config) return config.err();
  m.config = std::move(*config);
  m.generation.bos_token_id = m.config.bos_token_id;
  m.generation.eos_token_ids = m.config.eos_token_ids;
  if (have("generation_config.json")) {
    auto g = generation_config_read(dir / "generation_config.json");
    if (!g) return g.err();
    m.generation = std::move(*g);
    if (m.generation.eos_token_ids.empty()) m.generation.eos_token_ids = m.config.eos_token_ids;
  }
  m.tokenizer_json = dir / "tokenizer.json";
  if (have("tokenizer_config.json")) m.tokenizer_config_json = dir / "tokenizer_config.json";

  auto files = safetensors_set::open_dir(dir);
  if (!files) return files.err();
  m.files = std::move(*files);

  // Every problem at once: a converter that got one name pattern wrong gets the whole list.
  std::vector<std::string> problems;
  std::map<std::string, tensor_view> found;
  for (const auto& spec : model_tensor_specs(m.config)) {
    auto t = m.files.get(spec.name, spec.shape);
    if (!t)
      problems.push_back(t.message());
    else
      found.emplace(spec.name, std::move(*t));
  }
  if (!problems.empty()) {
    constexpr size_t k_shown = 8;
    std::string text = fmt::format("{}: {} tensor problem{}:", dir.string(), problems.size(),
                                   problems.size() == 1 ? "" : "s");
    for (size_t i = 0; i < problems.size() && i < k_shown; ++i) text += "\n  " + problems[i];
    if (problems.size() > k_shown) text += fmt::format("\n  ... and {} more", problems.size() - k_shown);
    return make_error(text);
  }
  auto take = [&](const std::string& name) { return found.at(name); };
  auto take_opt = [&](const std::string& name) -> std::optional<tensor_view> {
    auto it = found.find(name);
    if (it == found.end()) return std::nullopt;
    return it->second;
  };
  model_weights& w = m.weights;
  w.embed_tokens = take("model.embed_tokens.weight");
  for (int64_t l = 0; l < m.config.num_hidden_layers; ++l) {
    layer_weights lw;
    lw.input_layernorm = take(layer_name(l, "input_layernorm.weight"));
    lw.q_proj = take(layer_name(l, "self_attn.q_proj.weight"));
    lw.k_proj = take(layer_name(l, "self_attn.k_proj.weight"));
    lw.v_proj = take(layer_name(l, "self_attn.v_proj.weight"));
    lw.q_bias = take_opt(layer_name(l, "self_attn.q_proj.bias"));
    lw.k_bias = take_opt(layer_name(l, "self_attn.k_proj.bias"));
    lw.v_bias = take_opt(layer_name(l, "self_attn.v_proj.bias"));
    lw.q_norm = take_opt(layer_name(l, "self_attn.q_norm.weight"));
    lw.k_norm = take_opt(layer_name(l, "self_attn.k_norm.weight"));
    lw.o_proj = take(layer_name(l, "self_attn.o_proj.weight"));
    lw.o_bias = take_opt(layer_name(l, "self_attn.o_proj.bias"));
    lw.post_attention_layernorm = take(layer_name(l, "post_attention_layernorm.weight"));
    lw.gate_proj = take(layer_name(l, "mlp.gate_proj.weight"));
    lw.up_proj = take(layer_name(l, "mlp.up_proj.weight"));
    lw.down_proj = take(layer_name(l, "mlp.down_proj.weight"));
    w.layers.push_back(std::move(lw));
  }
  w.norm = take("model.norm.weight");
  w.lm_head = m.config.tie_word_embeddings ? w.embed_tokens : take("lm_head.weight");
  return m;
}

}  // namespace smelt
