// config.json / generation_config.json reading and writing. Every field a model needs is checked
// here once, so the engine can trust sizes (no zero, no overflow, heads dividing evenly).
// What the sizes mean for tensor shapes is model_dir.cpp's business.
#include "model/model_config.h"

#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/files.h"

namespace smelt {

namespace {

using json = nlohmann::json;

// Upper bounds well above any released model (Llama 3.1 405B: hidden 16384, 126 layers, 128 heads;
// Gemma: 256k vocab); anything larger is a corrupt or hostile file, not a model.
constexpr int64_t k_max_hidden = 1 << 16;
constexpr int64_t k_max_intermediate = 1 << 19;
constexpr int64_t k_max_layers = 1024;
constexpr int64_t k_max_heads = 1024;
constexpr int64_t k_max_head_dim = 1024;
constexpr int64_t k_max_vocab = 1 << 24;
constexpr int64_t k_max_positions = 1 << 24;

struct reader {
  const json& j;
  const std::string& source;

  error fail(const std::string& field, const std::string& what) const {
    return make_error(fmt::format("{}: {}: {}", source, field, what));
  }
  bool has(const char* field) const { return j.contains(field) && !j[field].is_null(); }

  // Integer field; absent/null gives FALLBACK, or an error when there is none.
  result<int64_t> integer(const char* field, std::optional<int64_t> fallback = std::nullopt) const {
    if (!has(field)) {
      if (fallback) return *fallback;
      return fail(field, "missing");
    }
    const json& v = j[field];
    if (!v.is_number_integer()) return fail(field, fmt::format("expected an integer, got {}", v.dump()));
    if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
      return fail(field, fmt::format("{} is too large", v.dump()));
    return v.get<int64_t>();
  }
  result<double> number(const char* field, std::optional<double> fallback = std::nullopt) const {
    if (!has(field)) {
      if (fallback) return *fallback;
      return fail(field, "missing");
    }
    const json& v = j[field];
    if (!v.is_number()) return fail(field, fmt::format("expected a number, got {}", v.dump()));
    double d = v.get<double>();
    if (!std::isfinite(d)) return fail(field, "not a finite number");
    return d;
  }
  result<bool> boolean(const char* field, bool fallback) const {
    if (!has(field)) return fallback;
    if (!j[field].is_boolean())
      return fail(field, fmt::format("expected true or false, got {}", j[field].dump()));
    return j[field].get<bool>();
  }
  result<std::string> string(const char* field, std::optional<std::string> fallback = std::nullopt) const {
    if (!has(field)) {
      if (fallback) return *fallback;
      return fail(field, "missing");
    }
    if (!j[field].is_string()) return fail(field, fmt::format("expected a string, got {}", j[field].dump()));
    return j[field].get<std::string>();
  }
  // An int, a list of ints, or absent/null (empty list).
  result<std::vector<int64_t>> id_list(const char* field) const {
    std::vector<int64_t> ids;
    if (!has(field)) return ids;
    const json& v = j[field];
    auto one = [&](const json& x) -> status {
      if (!x.is_number_integer() || x.get<int64_t>() < 0)
        return fail(field, fmt::format("expected a token id or a list of them, got {}", v.dump()));
      ids.push_back(x.get<int64_t>());
      return {};
    };
    if (v.is_array()) {
      for (const auto& x : v)
        if (auto s = one(x); !s) return s.err();
    } else if (auto s = one(v); !s) {
      return s.err();
    }
    return ids;
  }
};

#define SMELT_TRY_ASSIGN(lhs, expr) \
  do {                              \
    auto r_ = (expr);               \
    if (!r_.ok()) return r_.err();  \
    lhs = std::move(r_).value();    \
  } while (0)

result<model_arch> arch_of(const json& j, const std::string& source) {
  std::string name;
  if (j.contains("architectures")) {
    const json& a = j["architectures"];
    if (!a.is_array() || a.size() != 1 || !a[0].is_string())
      return make_error(fmt::format("{}: architectures: expected one class name, got {}", source, a.dump()));
    name = a[0].get<std::string>();
  } else if (j.contains("model_type") && j["model_type"].is_string()) {
    std::string t = j["model_type"].get<std::string>();
    name = t == "llama"     ? "LlamaForCausalLM"
           : t == "mistral" ? "MistralForCausalLM"
           : t == "qwen2"   ? "Qwen2ForCausalLM"
           : t == "qwen3"   ? "Qwen3ForCausalLM"
                            : t;
  } else {
    return make_error(fmt::format("{}: architectures: missing", source));
  }
  for (auto arch : {model_arch_llama, model_arch_mistral, model_arch_qwen2, model_arch_qwen3})
    if (name == model_arch_class_name(arch)) return arch;
  return make_error(
      fmt::format("{}: architectures: unsupported '{}' (supported: LlamaForCausalLM, MistralForCausalLM, "
                  "Qwen2ForCausalLM, "
                  "Qwen3ForCausalLM)",
                  source, name));
}

status read_rope_scaling(const json& j, const std::string& source, rope_scaling_config& out) {
  // transformers >= 4.56 may write "rope_parameters" (theta inside) instead of rope_scaling.
  const char* field = j.contains("rope_scaling") && !j["rope_scaling"].is_null() ? "rope_scaling"
                      : j.contains("rope_parameters")                            ? "rope_parameters"
                                                                                 : nullptr;
  out = {};
  if (!field || j[field].is_null()) return {};
  const json& r = j[field];
  if (!r.is_object())
    return make_error(fmt::format("{}: {}: expected an object or null, got {}", source, field, r.dump()));
  std::string type_field = r.contains("rope_type") ? "rope_type" : "type";
  std::string type =
      r.contains(type_field) && r[type_field].is_string() ? r[type_field].get<std::string>() : "";
  if (type == "default" || (type.empty() && std::string(field) == "rope_parameters")) return {};
  if (type != "llama3")
    return make_error(fmt::format("{}: {}.{}: unsupported '{}' (supported: llama3, default, or null)", source,
                                  field, type_field, type.empty() ? r.dump() : type));
  std::string scope = std::string(field);
  reader rr{r, scope};
  auto prefix = [&](result<double> v) -> result<double> {
    if (!v) return make_error(fmt::format("{}: {}", source, v.message()));
    return v;
  };
  out.type = rope_scaling_llama3;
  SMELT_TRY_ASSIGN(out.factor, prefix(rr.number("factor")));
  SMELT_TRY_ASSIGN(out.low_freq_factor, prefix(rr.number("low_freq_factor")));
  SMELT_TRY_ASSIGN(out.high_freq_factor, prefix(rr.number("high_freq_factor")));
  auto orig = rr.integer("original_max_position_embeddings");
  if (!orig) return make_error(fmt::format("{}: {}", source, orig.message()));
  out.original_max_position_embeddings = *orig;
  return {};
}

}  // namespace

const char* model_arch_class_name(model_arch arch) {
  switch (arch) {
    case model_arch_llama:
      return "LlamaForCausalLM";
    case model_arch_mistral:
      return "MistralForCausalLM";
    case model_arch_qwen2:
      return "Qwen2ForCausalLM";
    case model_arch_qwen3:
      return "Qwen3ForCausalLM";
  }
  return "?";
}

const char* model_arch_type_name(model_arch arch) {
  switch (arch) {
    case model_arch_llama:
      return "llama";
    case model_arch_mistral:
      return "mistral";
    case model_arch_qwen2:
      return "qwen2";
    case model_arch_qwen3:
      return "qwen3";
  }
  return "?";
}

status model_config_check(const model_config& c, const std::string& source) {
  auto fail = [&](const char* field, const std::string& what) {
    return make_error(fmt::format("{}: {}: {}", source, field, what));
  };
  auto range = [&](const char* field, int64_t v, int64_t lo, int64_t hi) -> status {
    if (v < lo || v > hi) return fail(field, fmt::format("{} is out of range ({}..{})", v, lo, hi));
    return {};
  };
  if (auto s = range("hidden_size", c.hidden_size, 1, k_max_hidden); !s) return s;
  if (auto s = range("intermediate_size", c.intermediate_size, 1, k_max_intermediate); !s) return s;
  if (auto s = range("num_hidden_layers", c.num_hidden_layers, 1, k_max_layers); !s) return s;
  if (auto s = range("num_attention_heads", c.num_attention_heads, 1, k_max_heads); !s) return s;
  if (auto s = range("num_key_value_heads", c.num_key_value_heads, 1, c.num_attention_heads); !s) return s;
  if (c.num_attention_heads % c.num_key_value_heads != 0)
    return fail("num_key_value_heads", fmt::format("{} does not divide num_attention_heads {}",
                                                   c.num_key_value_heads, c.num_attention_heads));
  if (auto s = range("head_dim", c.head_dim, 2, k_max_head_dim); !s) return s;
  if (c.head_dim % 2 != 0)
    return fail("head_dim", fmt::format("{} is odd (rotary embedding needs pairs)", c.head_dim));
  if (auto s = range("vocab_size", c.vocab_size, 1, k_max_vocab); !s) return s;
  if (auto s = range("max_position_embeddings", c.max_position_embeddings, 1, k_max_positions); !s) return s;
  if (auto s = range("sliding_window", c.sliding_window, 0, k_max_positions); !s) return s;
  if (!(c.rms_norm_eps > 0 && c.rms_norm_eps < 1))
    return fail("rms_norm_eps", fmt::format("{} is out of range (0..1, exclusive)", c.rms_norm_eps));
  if (!(c.rope_theta >= 1 && c.rope_theta <= 1e12))
    return fail("rope_theta", fmt::format("{} is out of range (1..1e12)", c.rope_theta));
  if (c.rope_scaling.type == rope_scaling_llama3) {
    const auto& r = c.rope_scaling;
    if (!(r.factor >= 1 && r.factor <= 1024))
      return fail("rope_scaling.factor", fmt::format("{} is out of range (1..1024)", r.factor));
    if (!(r.low_freq_factor > 0 && r.high_freq_factor > r.low_freq_factor && r.high_freq_factor <= 1024))
      return fail("rope_scaling.high_freq_factor",
                  fmt::format("low_freq_factor {} and high_freq_factor {} must satisfy 0 < low < high",
                              r.low_freq_factor, r.high_freq_factor));
    if (auto s = range("rope_scaling.original_max_position_embeddings", r.original_max_position_embeddings, 1,
                       k_max_positions);
        !s)
      return s;
  }
  if (c.hidden_act != "silu")
    return fail("hidden_act", fmt::format("unsupported '{}' (supported: silu)", c.hidden_act));
  if (c.torch_dtype != "bfloat16" && c.torch_dtype != "float16" && c.torch_dtype != "float32")
    return fail("torch_dtype",
                fmt::format("unsupported '{}' (supported: bfloat16, float16, float32)", c.torch_dtype));
  if (c.bos_token_id && (*c.bos_token_id < 0 || *c.bos_token_id >= c.vocab_size))
    return fail("bos_token_id",
                fmt::format("{} is outside the vocabulary (vocab_size {})", *c.bos_token_id, c.vocab_size));
  for (int64_t id : c.eos_token_ids)
    if (id < 0 || id >= c.vocab_size)
      return fail("eos_token_id",
                  fmt::format("{} is outside the vocabulary (vocab_size {})", id, c.vocab_size));
  return {};
}

result<model_config> model_config_parse(std::string_view text, const std::string& source) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return make_error(fmt::format("{}: not valid JSON", source));
  if (!j.is_object()) return make_error(fmt::format("{}: expected a JSON object", source));
  reader r{j, source};
  model_config c;
  SMELT_TRY_ASSIGN(c.arch, arch_of(j, source));
  SMELT_TRY_ASSIGN(c.hidden_size, r.integer("hidden_size"));
  SMELT_TRY_ASSIGN(c.intermediate_size, r.integer("intermediate_size"));
  SMELT_TRY_ASSIGN(c.num_hidden_layers, r.integer("num_hidden_layers"));
  SMELT_TRY_ASSIGN(c.num_attention_heads, r.integer("num_attention_heads"));
  SMELT_TRY_ASSIGN(c.num_key_value_heads, r.integer("num_key_value_heads", c.num_attention_heads));
  if (r.has("head_dim")) {
    SMELT_TRY_ASSIGN(c.head_dim, r.integer("head_dim"));
  } else {
    if (c.num_attention_heads < 1 || c.hidden_size % c.num_attention_heads != 0)
      return r.fail("num_attention_heads",
                    fmt::format("{} does not divide hidden_size {} (and no head_dim is given)",
                                c.num_attention_heads, c.hidden_size));
    c.head_dim = c.hidden_size / c.num_attention_heads;
  }
  SMELT_TRY_ASSIGN(c.rms_norm_eps, r.number("rms_norm_eps", 1e-6));
  double theta_default = 10000.0;
  if (j.contains("rope_parameters") && j["rope_parameters"].is_object() &&
      j["rope_parameters"].contains("rope_theta") && j["rope_parameters"]["rope_theta"].is_number())
    theta_default = j["rope_parameters"]["rope_theta"].get<double>();
  SMELT_TRY_ASSIGN(c.rope_theta, r.number("rope_theta", theta_default));
  if (auto s = read_rope_scaling(j, source, c.rope_scaling); !s) return s.err();
  SMELT_TRY_ASSIGN(c.tie_word_embeddings, r.boolean("tie_word_embeddings", false));
  bool is_qwen2 = c.arch == model_arch_qwen2;
  if (is_qwen2) {
    // Qwen2's attention always has q/k/v biases; transformers ignores the field.
    c.attention_bias = true;
  } else if (c.arch == model_arch_mistral) {
    bool bias = false;
    SMELT_TRY_ASSIGN(bias, r.boolean("attention_bias", false));
    if (bias) return r.fail("attention_bias", "Mistral has no attention bias");
  } else {
    SMELT_TRY_ASSIGN(c.attention_bias, r.boolean("attention_bias", false));
  }
  bool mlp_bias = false;
  SMELT_TRY_ASSIGN(mlp_bias, r.boolean("mlp_bias", false));
  if (mlp_bias) return r.fail("mlp_bias", "unsupported true (MLP projections without bias only)");
  c.qk_norm = c.arch == model_arch_qwen3;
  SMELT_TRY_ASSIGN(c.max_position_embeddings, r.integer("max_position_embeddings", 2048));
  // Qwen configs carry sliding_window but switch it on with use_sliding_window; Mistral uses it when set.
  bool use_window = c.arch == model_arch_mistral;
  if (c.arch == model_arch_qwen2 || c.arch == model_arch_qwen3) {
    SMELT_TRY_ASSIGN(use_window, r.boolean("use_sliding_window", false));
    if (use_window) return r.fail("use_sliding_window", "unsupported true (full attention only)");
  }
  if (use_window) SMELT_TRY_ASSIGN(c.sliding_window, r.integer("sliding_window", 0));
  SMELT_TRY_ASSIGN(c.vocab_size, r.integer("vocab_size"));
  if (r.has("bos_token_id")) {
    int64_t bos = 0;
    SMELT_TRY_ASSIGN(bos, r.integer("bos_token_id"));
    c.bos_token_id = bos;
  }
  SMELT_TRY_ASSIGN(c.eos_token_ids, r.id_list("eos_token_id"));
  // transformers >= 4.56 writes "dtype"; older versions "torch_dtype".
  SMELT_TRY_ASSIGN(c.torch_dtype,
                   r.string(r.has("torch_dtype") ? "torch_dtype" : "dtype", std::string("bfloat16")));
  SMELT_TRY_ASSIGN(c.hidden_act, r.string("hidden_act", std::string("silu")));
  if (auto s = model_config_check(c, source); !s) return s.err();
  return c;
}

result<model_config> model_config_read(const std::filesystem::path& path) {
  auto text = file_read(path);
  if (!text) return text.err();
  return model_config_parse(*text, path.string());
}

std::string model_config_to_json(const model_config& c) {
  nlohmann::ordered_json j;
  j["architectures"] = {model_arch_class_name(c.arch)};
  j["model_type"] = model_arch_type_name(c.arch);
  j["hidden_size"] = c.hidden_size;
  j["intermediate_size"] = c.intermediate_size;
  j["num_hidden_layers"] = c.num_hidden_layers;
  j["num_attention_heads"] = c.num_attention_heads;
  j["num_key_value_heads"] = c.num_key_value_heads;
  j["head_dim"] = c.head_dim;
  j["hidden_act"] = c.hidden_act;
  j["rms_norm_eps"] = c.rms_norm_eps;
  j["rope_theta"] = c.rope_theta;
  if (c.rope_scaling.type == rope_scaling_llama3) {
    j["rope_scaling"] = {
        {"rope_type", "llama3"},
        {"factor", c.rope_scaling.factor},
        {"low_freq_factor", c.rope_scaling.low_freq_factor},
        {"high_freq_factor", c.rope_scaling.high_freq_factor},
        {"original_max_position_embeddings", c.rope_scaling.original_max_position_embeddings}};
  } else {
    j["rope_scaling"] = nullptr;
  }
  j["max_position_embeddings"] = c.max_position_embeddings;
  if (c.arch == model_arch_qwen2 || c.arch == model_arch_qwen3) {
    j["use_sliding_window"] = false;
    j["sliding_window"] = nullptr;
  } else if (c.arch == model_arch_mistral) {
    j["sliding_window"] = c.sliding_window ? nlohmann::ordered_json(c.sliding_window) : nullptr;
  }
  if (c.arch != model_arch_qwen2) j["attention_bias"] = c.attention_bias;
  j["attention_dropout"] = 0.0;
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  j["vocab_size"] = c.vocab_size;
  j["bos_token_id"] = c.bos_token_id ? nlohmann::ordered_json(*c.bos_token_id) : nullptr;
  if (c.eos_token_ids.size() == 1)
    j["eos_token_id"] = c.eos_token_ids[0];
  else if (c.eos_token_ids.empty())
    j["eos_token_id"] = nullptr;
  else
    j["eos_token_id"] = c.eos_token_ids;
  j["torch_dtype"] = c.torch_dtype;
  j["initializer_range"] = 0.02;
  j["use_cache"] = true;
  return j.dump(2) + "\n";
}

result<generation_config> generation_config_parse(std::string_view text, const std::string& source) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return make_error(fmt::format("{}: not valid JSON", source));
  if (!j.is_object()) return make_error(fmt::format("{}: expected a JSON object", source));
  reader r{j, source};
  generation_config g;
  if (r.has("bos_token_id")) {
    int64_t v = 0;
    SMELT_TRY_ASSIGN(v, r.integer("bos_token_id"));
    g.bos_token_id = v;
  }
  SMELT_TRY_ASSIGN(g.eos_token_ids, r.id_list("eos_token_id"));
  if (r.has("pad_token_id")) {
    int64_t v = 0;
    SMELT_TRY_ASSIGN(v, r.integer("pad_token_id"));
    g.pad_token_id = v;
  }
  SMELT_TRY_ASSIGN(g.do_sample, r.boolean("do_sample", false));
  SMELT_TRY_ASSIGN(g.temperature, r.number("temperature", 1.0));
  SMELT_TRY_ASSIGN(g.top_k, r.integer("top_k", 50));
  SMELT_TRY_ASSIGN(g.top_p, r.number("top_p", 1.0));
  SMELT_TRY_ASSIGN(g.min_p, r.number("min_p", 0.0));
  SMELT_TRY_ASSIGN(g.repetition_penalty, r.number("repetition_penalty", 1.0));
  if (r.has("max_new_tokens")) {
    int64_t v = 0;
    SMELT_TRY_ASSIGN(v, r.integer("max_new_tokens"));
    if (v < 0) return r.fail("max_new_tokens", fmt::format("{} is negative", v));
    g.max_new_tokens = v;
  }
  if (g.temperature < 0) return r.fail("temperature", fmt::format("{} is negative", g.temperature));
  if (g.top_k < 0) return r.fail("top_k", fmt::format("{} is negative", g.top_k));
  if (!(g.top_p > 0 && g.top_p <= 1))
    return r.fail("top_p", fmt::format("{} is out of range (0..1]", g.top_p));
  if (!(g.min_p >= 0 && g.min_p <= 1))
    return r.fail("min_p", fmt::format("{} is out of range [0..1]", g.min_p));
  if (!(g.repetition_penalty > 0))
    return r.fail("repetition_penalty", fmt::format("{} must be positive", g.repetition_penalty));
  return g;
}

result<generation_config> generation_config_read(const std::filesystem::path& path) {
  auto text = file_read(path);
  if (!text) return text.err();
  return generation_config_parse(*text, path.string());
}

std::string generation_config_to_json(const generation_config& g) {
  nlohmann::ordered_json j;
  if (g.bos_token_id) j["bos_token_id"] = *g.bos_token_id;
  if (g.eos_token_ids.size() == 1)
    j["eos_token_id"] = g.eos_token_ids[0];
  else if (!g.eos_token_ids.empty())
    j["eos_token_id"] = g.eos_token_ids;
  if (g.pad_token_id) j["pad_token_id"] = *g.pad_token_id;
  j["do_sample"] = g.do_sample;
  j["temperature"] = g.temperature;
  j["top_k"] = g.top_k;
  j["top_p"] = g.top_p;
  if (g.min_p > 0) j["min_p"] = g.min_p;
  j["repetition_penalty"] = g.repetition_penalty;
  if (g.max_new_tokens) j["max_new_tokens"] = *g.max_new_tokens;
  return j.dump(2) + "\n";
}

}  // namespace smelt
