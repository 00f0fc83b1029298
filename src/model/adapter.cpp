// PEFT LoRA adapter files: adapter_config.json (keys as PEFT writes them, sorted, indent 2) and
// adapter_model.safetensors (PEFT names, F32 on write, F32/BF16/F16 on read), plus the shape check
// against a model config. Applying the adapter is the engine's business.
#include "model/adapter.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>

#include "core/files.h"
#include "model/safetensors.h"

namespace smelt {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr const char* k_modules[] = {"q_proj",    "k_proj",  "v_proj",   "o_proj",
                                     "gate_proj", "up_proj", "down_proj"};
constexpr int k_module_count = 7;

int module_index(std::string_view m) {
  for (int i = 0; i < k_module_count; ++i)
    if (m == k_modules[i]) return i;
  return -1;
}

bool module_is_attention(int index) {
  return index < 4;
}

std::string modules_list() {
  std::string s;
  for (const char* m : k_modules) {
    if (!s.empty()) s += ", ";
    s += m;
  }
  return s;
}

// Parses a PEFT tensor name into (layer, module, 'A'|'B'); false when it is not one.
bool parse_tensor_name(const std::string& name, int64_t& layer, int& module, char& which) {
  static const std::string prefix = "base_model.model.model.layers.";
  if (name.compare(0, prefix.size(), prefix) != 0) return false;
  size_t p = prefix.size(), digits = p;
  while (digits < name.size() && std::isdigit(static_cast<unsigned char>(name[digits]))) ++digits;
  if (digits == p || digits - p > 9 || digits >= name.size() || name[digits] != '.') return false;
  layer = std::stoll(name.substr(p, digits - p));
  std::string rest = name.substr(digits + 1);
  std::string group;
  if (rest.rfind("self_attn.", 0) == 0)
    group = "self_attn.";
  else if (rest.rfind("mlp.", 0) == 0)
    group = "mlp.";
  else
    return false;
  rest = rest.substr(group.size());
  size_t dot = rest.find('.');
  if (dot == std::string::npos) return false;
  module = module_index(rest.substr(0, dot));
  if (module < 0 || module_is_attention(module) != (group == "self_attn.")) return false;
  std::string tail = rest.substr(dot + 1);
  if (tail == "lora_A.weight" || tail == "lora_A.default.weight")
    which = 'A';
  else if (tail == "lora_B.weight" || tail == "lora_B.default.weight")
    which = 'B';
  else
    return false;
  return true;
}

std::string shape_str(int64_t a, int64_t b) {
  return fmt::format("[{}, {}]", a, b);
}

}  // namespace

float adapter_config::scale() const {
  if (rank <= 0) return 0.0f;
  return static_cast<float>(use_rslora ? alpha / std::sqrt(static_cast<double>(rank)) : alpha / rank);
}

std::string adapter_tensor_name(int64_t layer, const std::string& module, char which) {
  int m = module_index(module);
  return fmt::format("base_model.model.model.layers.{}.{}{}.lora_{}.weight", layer,
                     m >= 0 && !module_is_attention(m) ? "mlp." : "self_attn.", module, which);
}

bool adapter_module_shape(const model_config& c, const std::string& module, int64_t& out, int64_t& in) {
  const int64_t h = c.hidden_size, q = c.num_attention_heads * c.head_dim,
                kv = c.num_key_value_heads * c.head_dim, i = c.intermediate_size;
  switch (module_index(module)) {
    case 0:
      out = q, in = h;
      return true;
    case 1:
    case 2:
      out = kv, in = h;
      return true;
    case 3:
      out = h, in = q;
      return true;
    case 4:
    case 5:
      out = i, in = h;
      return true;
    case 6:
      out = h, in = i;
      return true;
    default:
      return false;
  }
}

std::string adapter_config_to_json(const adapter_config& c) {
  // The keys and defaults of PEFT's LoraConfig as its save_pretrained writes them (sort_keys, indent 2).
  json j = json::object();
  j["alpha_pattern"] = json::object();
  j["auto_mapping"] = nullptr;
  j["base_model_name_or_path"] =
      c.base_model_name_or_path.empty() ? json(nullptr) : json(c.base_model_name_or_path);
  j["bias"] = "none";
  j["fan_in_fan_out"] = false;
  j["inference_mode"] = true;
  j["init_lora_weights"] = true;
  j["layer_replication"] = nullptr;
  j["layers_pattern"] = nullptr;
  j["layers_to_transform"] = nullptr;
  j["loftq_config"] = json::object();
  if (c.alpha == std::floor(c.alpha) && std::fabs(c.alpha) < 1e15)
    j["lora_alpha"] = static_cast<int64_t>(c.alpha);
  else
    j["lora_alpha"] = c.alpha;
  j["lora_dropout"] = c.dropout;
  j["megatron_config"] = nullptr;
  j["megatron_core"] = "megatron.core";
  j["modules_to_save"] = nullptr;
  j["peft_type"] = "LORA";
  j["r"] = c.rank;
  j["rank_pattern"] = json::object();
  j["revision"] = nullptr;
  std::vector<std::string> targets = c.target_modules;
  std::sort(targets.begin(), targets.end());
  j["target_modules"] = targets;
  j["task_type"] = "CAUSAL_LM";
  j["use_dora"] = false;
  j["use_rslora"] = c.use_rslora;
  return j.dump(2) + "\n";
}

result<adapter_config> adapter_config_parse(std::string_view text, const std::string& source) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return make_error(fmt::format("{}: not a JSON object", source));
  auto field_error = [&](const char* key, const std::string& why) {
    return make_error(fmt::format("{}: {}: {}", source, key, why));
  };
  adapter_config c;
  if (j.contains("peft_type") && j["peft_type"] != "LORA")
    return field_error("peft_type", fmt::format("expected \"LORA\", got {}", j["peft_type"].dump()));
  if (!j.contains("r") || !j["r"].is_number_integer() || j["r"].get<int64_t>() <= 0)
    return field_error("r", fmt::format("expected a positive integer, got {}", j.value("r", json()).dump()));
  c.rank = j["r"].get<int64_t>();
  if (j.contains("lora_alpha")) {
    if (!j["lora_alpha"].is_number()) return field_error("lora_alpha", "expected a number");
    c.alpha = j["lora_alpha"].get<double>();
  } else {
    c.alpha = 8;  // PEFT's LoraConfig default
  }
  if (j.contains("lora_dropout")) {
    if (!j["lora_dropout"].is_number() || j["lora_dropout"].get<double>() < 0 ||
        j["lora_dropout"].get<double>() >= 1)
      return field_error("lora_dropout",
                         fmt::format("expected a number in [0, 1), got {}", j["lora_dropout"].dump()));
    c.dropout = j["lora_dropout"].get<double>();
  } else {
    c.dropout = 0;
  }
  if (!j.contains("target_modules")) return field_error("target_modules", "missing");
  const json& t = j["target_modules"];
  if (t.is_string())
    return field_error("target_modules",
                       fmt::format("a pattern string ({}) is not supported; list the modules ({})", t.dump(),
                                   modules_list()));
  if (!t.is_array() || t.empty())
    return field_error("target_modules", "expected a non-empty list of module names");
  for (const json& m : t) {
    if (!m.is_string() || module_index(m.get<std::string>()) < 0)
      return field_error("target_modules", fmt::format("{} is not one of {}", m.dump(), modules_list()));
    c.target_modules.push_back(m.get<std::string>());
  }
  if (j.contains("use_rslora")) {
    if (!j["use_rslora"].is_boolean()) return field_error("use_rslora", "expected true or false");
    c.use_rslora = j["use_rslora"].get<bool>();
  }
  if (j.contains("use_dora") && j["use_dora"] == true)
    return field_error("use_dora", "DoRA adapters are not supported");
  for (const char* key : {"rank_pattern", "alpha_pattern"})
    if (j.contains(key) && !j[key].is_null() && !j[key].empty())
      return field_error(key, "per-module ranks/alphas are not supported");
  if (j.contains("bias") && !j["bias"].is_null() && j["bias"] != "none")
    return field_error("bias", fmt::format("expected \"none\", got {}", j["bias"].dump()));
  if (j.contains("fan_in_fan_out") && j["fan_in_fan_out"] == true)
    return field_error("fan_in_fan_out", "transposed (Conv1D) layouts are not supported");
  if (j.contains("modules_to_save") && !j["modules_to_save"].is_null() && !j["modules_to_save"].empty())
    return field_error("modules_to_save", "fully trained extra modules are not supported");
  if (j.contains("base_model_name_or_path") && j["base_model_name_or_path"].is_string())
    c.base_model_name_or_path = j["base_model_name_or_path"].get<std::string>();
  return c;
}

status adapter_write(const fs::path& dir, const adapter& a) {
  if (a.config.rank <= 0)
    return make_error(fmt::format("{}: adapter rank {} is not positive", dir.string(), a.config.rank));
  std::vector<safetensors_write_tensor> tensors;
  for (const adapter_tensor& t : a.tensors) {
    std::string a_name = adapter_tensor_name(t.layer, t.module, 'A');
    if (module_index(t.module) < 0)
      return make_error(
          fmt::format("{}: adapter tensor for layer {}: unknown module '{}' (expected one of {})",
                      dir.string(), t.layer, t.module, modules_list()));
    if (t.rank != a.config.rank || t.rank <= 0 || t.in <= 0 || t.out <= 0 ||
        t.A.size() != static_cast<size_t>(t.rank * t.in) || t.B.size() != static_cast<size_t>(t.out * t.rank))
      return make_error(fmt::format(
          "{}: {}: rank {} in {} out {} (config r={}) do not match A ({} floats) and B ({} floats)",
          dir.string(), a_name, t.rank, t.in, t.out, a.config.rank, t.A.size(), t.B.size()));
    tensors.push_back(
        {a_name, tensor_dtype_f32, {t.rank, t.in}, safetensors_fill_bytes(t.A.data(), t.A.size() * 4)});
    tensors.push_back({adapter_tensor_name(t.layer, t.module, 'B'),
                       tensor_dtype_f32,
                       {t.out, t.rank},
                       safetensors_fill_bytes(t.B.data(), t.B.size() * 4)});
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return make_error(fmt::format("{}: cannot create directory: {}", dir.string(), ec.message()));
  if (auto s = safetensors_write(dir / "adapter_model.safetensors", tensors, {{"format", "pt"}}); !s)
    return s;
  return file_write_atomic(dir / "adapter_config.json", adapter_config_to_json(a.config));
}

result<adapter> adapter_read(const fs::path& dir) {
  auto text = file_read(dir / "adapter_config.json");
  if (!text) return text.err();
  auto config = adapter_config_parse(*text, (dir / "adapter_config.json").string());
  if (!config) return config.err();
  auto file = safetensors_file::open(dir / "adapter_model.safetensors");
  if (!file) return file.err();
  const std::string source = (dir / "adapter_model.safetensors").string();
  adapter out;
  out.config = std::move(*config);
  const int64_t r = out.config.rank;
  std::map<std::pair<int64_t, int>, adapter_tensor> found;
  std::map<std::pair<int64_t, int>, std::string> seen[2];  // names of the A and B seen, for repeats and pairs
  for (const tensor_view& v : file->tensors()) {
    int64_t layer = 0;
    int module = 0;
    char which = 0;
    if (!parse_tensor_name(v.name, layer, module, which))
      return make_error(fmt::format(
          "{}: tensor '{}' is not a LoRA tensor smelt knows (expected "
          "base_model.model.model.layers.N.{{self_attn|mlp}}.MODULE.lora_{{A|B}}[.default].weight)",
          source, v.name));
    auto key = std::make_pair(layer, module);
    auto& names = seen[which == 'B'];
    if (names.count(key))
      return make_error(
          fmt::format("{}: tensors '{}' and '{}' are the same weight", source, names[key], v.name));
    names[key] = v.name;
    if (v.shape.size() != 2)
      return make_error(
          fmt::format("{}: tensor '{}': shape {} is not 2-D", source, v.name, tensor_shape_string(v.shape)));
    int64_t vr = which == 'A' ? v.shape[0] : v.shape[1];
    if (vr != r)
      return make_error(fmt::format("{}: tensor '{}': shape {} has rank {} but adapter_config.json r={}",
                                    source, v.name, tensor_shape_string(v.shape), vr, r));
    adapter_tensor& t = found[key];
    t.layer = layer;
    t.module = k_modules[module];
    t.rank = r;
    std::vector<float>& dst = which == 'A' ? t.A : t.B;
    if (which == 'A')
      t.in = v.shape[1];
    else
      t.out = v.shape[0];
    dst.resize(static_cast<size_t>(v.numel()));
    if (v.dtype == tensor_dtype_f32) {
      std::memcpy(dst.data(), v.data, v.size_bytes);
    } else {
      for (size_t i = 0; i < dst.size(); ++i) dst[i] = v.element(i);
    }
  }
  for (auto& [key, t] : found) {
    for (int w = 0; w < 2; ++w)
      if (!seen[w].count(key))
        return make_error(fmt::format("{}: '{}' has no partner '{}'", source, seen[1 - w][key],
                                      adapter_tensor_name(key.first, k_modules[key.second], w ? 'B' : 'A')));
    out.tensors.push_back(std::move(t));
  }
  if (out.tensors.empty()) return make_error(fmt::format("{}: no LoRA tensors", source));
  return out;
}

status adapter_check(const adapter& a, const model_config& model, const std::string& model_source) {
  const adapter_config& c = a.config;
  for (const adapter_tensor& t : a.tensors) {
    std::string name = adapter_tensor_name(t.layer, t.module, 'A');
    if (std::find(c.target_modules.begin(), c.target_modules.end(), t.module) == c.target_modules.end())
      return make_error(fmt::format(
          "adapter: tensor {}: module {} is not in adapter_config.json target_modules", name, t.module));
    if (t.layer < 0 || t.layer >= model.num_hidden_layers)
      return make_error(fmt::format("adapter: tensor {}: layer {} but {} has num_hidden_layers {}", name,
                                    t.layer, model_source, model.num_hidden_layers));
    if (t.rank != c.rank)
      return make_error(
          fmt::format("adapter: tensor {}: rank {} but adapter_config.json r={}", name, t.rank, c.rank));
    int64_t out = 0, in = 0;
    if (!adapter_module_shape(model, t.module, out, in))
      return make_error(fmt::format("adapter: tensor {}: unknown module '{}'", name, t.module));
    auto why = [&](bool is_in) -> std::string {
      const std::string& m = t.module;
      bool hidden =
          (is_in && m != "o_proj" && m != "down_proj") || (!is_in && (m == "o_proj" || m == "down_proj"));
      if (hidden) return fmt::format("hidden_size {}", model.hidden_size);
      if (m == "q_proj" || m == "o_proj")
        return fmt::format("num_attention_heads {} x head_dim {}", model.num_attention_heads, model.head_dim);
      if (m == "k_proj" || m == "v_proj")
        return fmt::format("num_key_value_heads {} x head_dim {}", model.num_key_value_heads, model.head_dim);
      return fmt::format("intermediate_size {}", model.intermediate_size);
    };
    if (t.in != in)
      return make_error(
          fmt::format("adapter: tensor {}: shape {} but {}'s {} takes {} inputs ({}): expected {}", name,
                      shape_str(t.rank, t.in), model_source, t.module, in, why(true), shape_str(c.rank, in)));
    if (t.out != out)
      return make_error(
          fmt::format("adapter: tensor {}: shape {} but {}'s {} has {} outputs ({}): expected {}",
                      adapter_tensor_name(t.layer, t.module, 'B'), shape_str(t.out, t.rank), model_source,
                      t.module, out, why(false), shape_str(out, c.rank)));
    if (t.A.size() != static_cast<size_t>(t.rank * t.in) || t.B.size() != static_cast<size_t>(t.out * t.rank))
      return make_error(fmt::format("adapter: tensor {}: data sizes do not match the shapes", name));
  }
  return {};
}

}  // namespace smelt
