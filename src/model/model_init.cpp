// Random-weight model directories: preset shapes, tokenizer id counting and the deterministic
// weight stream. Random numbers: splitmix64 seeded per (seed, tensor name, 4096-element block) and
// Box-Muller, so the values do not depend on write order, chunking or the C++ library.
#include "model/model_init.h"

#include <fmt/format.h>

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/bf16.h"
#include "core/files.h"
#include "core/random.h"
#include "model/model_dir.h"
#include "model/safetensors.h"

namespace smelt {

namespace fs = std::filesystem;

namespace {

constexpr int64_t k_block = 4096;  // elements per independently seeded random block
constexpr double k_init_std = 0.02;

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

// normal(0, std) values of block B of the tensor with hash H, as bf16.
void random_block(uint64_t seed, uint64_t h, uint64_t b, uint16_t* out, int64_t n) {
  uint64_t state = seed ^ h;
  state = splitmix64_next(state) ^ (b * 0xd1b54a32d192ed03ull);
  for (int64_t i = 0; i < n; i += 2) {
    // 53-bit uniforms in (0, 1].
    double u1 = (double(splitmix64_next(state) >> 11) + 1.0) * 0x1.0p-53;
    double u2 = double(splitmix64_next(state) >> 11) * 0x1.0p-53;
    double r = std::sqrt(-2.0 * std::log(u1)) * k_init_std;
    out[i] = float_to_bf16(static_cast<float>(r * std::cos(2 * M_PI * u2)));
    if (i + 1 < n) out[i + 1] = float_to_bf16(static_cast<float>(r * std::sin(2 * M_PI * u2)));
  }
}

// Element values: SCALE * (bf16 normal draw) + OFFSET, rounded to bf16, stored as DTYPE (f32
// stores the same bf16-exact values, so a bf16 and an f32 model of one seed hold equal weights).
// SCALE 0 gives the constant OFFSET.
std::function<void(std::byte*, size_t, size_t)> random_fill(uint64_t seed, const std::string& name,
                                                            tensor_dtype dtype, float scale, float offset) {
  uint64_t h = fnv1a(name);
  const size_t width = tensor_dtype_size(dtype);
  return [seed, h, width, scale, offset](std::byte* out, size_t byte_offset, size_t size) {
    // offset and size are whole elements; blocks are generated whole and the needed part copied.
    int64_t first = static_cast<int64_t>(byte_offset / width), count = static_cast<int64_t>(size / width);
    std::vector<uint16_t> block(k_block);
    for (int64_t e = first; e < first + count;) {
      int64_t b = e / k_block, begin = e - b * k_block;
      int64_t n = std::min(k_block - begin, first + count - e);
      if (scale != 0) random_block(seed, h, static_cast<uint64_t>(b), block.data(), k_block);
      for (int64_t i = 0; i < n; ++i) {
        float v = scale == 0 ? offset : scale * bf16_to_float(block[begin + i]) + offset;
        uint16_t rounded = float_to_bf16(v);
        std::byte* dst = out + (e - first + i) * width;
        if (width == 2) {
          std::memcpy(dst, &rounded, 2);
        } else {
          float exact = bf16_to_float(rounded);
          std::memcpy(dst, &exact, 4);
        }
      }
      e += n;
    }
  };
}

result<model_arch> arch_named(const std::string& name) {
  if (name == "llama") return model_arch_llama;
  if (name == "qwen2") return model_arch_qwen2;
  if (name == "qwen3") return model_arch_qwen3;
  return make_error(fmt::format("--arch: expected llama|qwen2|qwen3, got '{}'", name));
}

std::optional<std::string> token_text(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string())
    return v["content"].get<std::string>();
  return std::nullopt;
}

}  // namespace

const std::vector<std::string>& model_init_presets() {
  static const std::vector<std::string> presets = {"tiny",         "small",      "qwen2.5-0.5b",
                                                   "qwen2.5-1.5b", "qwen2.5-7b", "llama-3.1-8b"};
  return presets;
}

result<model_config> model_init_config(const std::string& arch_name, const std::string& preset,
                                       int64_t vocab_size) {
  model_config c;
  c.torch_dtype = "bfloat16";
  c.hidden_act = "silu";
  auto qwen25 = [&](int64_t hidden, int64_t inter, int64_t layers, int64_t heads, int64_t kv, int64_t vocab,
                    bool tie) {
    c.arch = model_arch_qwen2;
    c.hidden_size = hidden, c.intermediate_size = inter, c.num_hidden_layers = layers;
    c.num_attention_heads = heads, c.num_key_value_heads = kv, c.head_dim = hidden / heads;
    c.vocab_size = vocab, c.tie_word_embeddings = tie;
    c.rms_norm_eps = 1e-6, c.rope_theta = 1000000.0, c.max_position_embeddings = 32768;
    c.attention_bias = true;
  };
  // Shapes from the published config.json files of these models.
  if (preset == "qwen2.5-0.5b") {
    qwen25(896, 4864, 24, 14, 2, 151936, true);
  } else if (preset == "qwen2.5-1.5b") {
    qwen25(1536, 8960, 28, 12, 2, 151936, true);
  } else if (preset == "qwen2.5-7b") {
    qwen25(3584, 18944, 28, 28, 4, 152064, false);
  } else if (preset == "llama-3.1-8b") {
    c.arch = model_arch_llama;
    c.hidden_size = 4096, c.intermediate_size = 14336, c.num_hidden_layers = 32;
    c.num_attention_heads = 32, c.num_key_value_heads = 8, c.head_dim = 128;
    c.vocab_size = 128256, c.tie_word_embeddings = false;
    c.rms_norm_eps = 1e-5, c.rope_theta = 500000.0, c.max_position_embeddings = 131072;
    c.rope_scaling = {rope_scaling_llama3, 8.0, 1.0, 4.0, 8192};
  } else if (preset == "tiny" || preset == "small") {
    auto arch = arch_named(arch_name.empty() ? "llama" : arch_name);
    if (!arch) return arch.err();
    c.arch = *arch;
    c.hidden_size = 64, c.intermediate_size = 128, c.num_hidden_layers = 2;
    c.num_attention_heads = 4, c.num_key_value_heads = 2, c.head_dim = 16;
    if (preset == "small") {  // the demo size: wide enough that a LoRA can make confident predictions
      c.hidden_size = 512, c.intermediate_size = 1536, c.num_hidden_layers = 4;
      c.num_attention_heads = 8, c.num_key_value_heads = 2, c.head_dim = 64;
    }
    c.vocab_size = vocab_size, c.max_position_embeddings = 8192;
    c.rms_norm_eps = 1e-6, c.rope_theta = 10000.0;
    if (c.arch == model_arch_llama) {  // Llama 3.1's rope scaling, so tests exercise it
      c.rms_norm_eps = 1e-5, c.rope_theta = 500000.0;
      c.rope_scaling = {rope_scaling_llama3, 8.0, 1.0, 4.0, 8192};
    } else if (c.arch == model_arch_qwen2) {
      c.attention_bias = true, c.tie_word_embeddings = true, c.rope_theta = 1000000.0;
    } else {  // Qwen3: explicit head_dim larger than hidden / heads, as Qwen3-0.6B has
      c.head_dim = preset == "small" ? 64 : 32, c.qk_norm = true, c.tie_word_embeddings = true,
      c.rope_theta = 1000000.0;
    }
  } else {
    return make_error(
        fmt::format("--preset: expected {}, got '{}'", fmt::join(model_init_presets(), "|"), preset));
  }
  if (preset != "tiny" && preset != "small" && !arch_name.empty() &&
      arch_name != model_arch_type_name(c.arch))
    return make_error(fmt::format("--preset {} is a {} shape; use --arch {} (or leave --arch out)", preset,
                                  model_arch_type_name(c.arch), model_arch_type_name(c.arch)));
  return c;
}

result<tokenizer_ids> model_init_tokenizer_ids(const fs::path& dir) {
  auto text = file_read(dir / "tokenizer.json");
  if (!text) return text.err();
  const std::string source = (dir / "tokenizer.json").string();
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return make_error(fmt::format("{}: not a JSON object", source));
  tokenizer_ids ids;
  std::map<std::string, int64_t> by_text;
  if (j.contains("model") && j["model"].is_object() && j["model"].contains("vocab")) {
    const auto& vocab = j["model"]["vocab"];
    if (vocab.is_object()) {
      for (auto it = vocab.begin(); it != vocab.end(); ++it) {
        if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0)
          return make_error(fmt::format("{}: model.vocab.{}: expected a token id", source, it.key()));
        int64_t id = it.value().get<int64_t>();
        ids.id_count = std::max(ids.id_count, id + 1);
        by_text[it.key()] = id;
      }
    } else if (vocab.is_array()) {  // Unigram: [[piece, score], ...], ids by position
      ids.id_count = static_cast<int64_t>(vocab.size());
    }
  }
  if (j.contains("added_tokens") && j["added_tokens"].is_array()) {
    for (const auto& t : j["added_tokens"]) {
      if (!t.is_object() || !t.contains("id") || !t["id"].is_number_integer() || t["id"].get<int64_t>() < 0)
        return make_error(fmt::format("{}: added_tokens: entry without a token id: {}", source, t.dump()));
      int64_t id = t["id"].get<int64_t>();
      ids.id_count = std::max(ids.id_count, id + 1);
      if (t.contains("content") && t["content"].is_string()) by_text[t["content"].get<std::string>()] = id;
    }
  }
  if (ids.id_count == 0)
    return make_error(fmt::format("{}: no vocabulary (model.vocab and added_tokens empty)", source));
  std::error_code ec;
  if (fs::exists(dir / "tokenizer_config.json", ec)) {
    auto ctext = file_read(dir / "tokenizer_config.json");
    if (!ctext) return ctext.err();
    nlohmann::json c = nlohmann::json::parse(*ctext, nullptr, false);
    if (c.is_discarded() || !c.is_object())
      return make_error(fmt::format("{}: not a JSON object", (dir / "tokenizer_config.json").string()));
    auto lookup = [&](const char* field) -> std::optional<int64_t> {
      if (!c.contains(field)) return std::nullopt;
      auto t = token_text(c[field]);
      if (!t) return std::nullopt;
      auto it = by_text.find(*t);
      return it == by_text.end() ? std::nullopt : std::optional<int64_t>(it->second);
    };
    ids.bos_token_id = lookup("bos_token");
    ids.eos_token_id = lookup("eos_token");
  }
  return ids;
}

status model_init(const model_init_options& o) {
  auto ids = model_init_tokenizer_ids(o.tokenizer_dir);
  if (!ids) return ids.err();
  auto config = model_init_config(o.arch, o.preset, ids->id_count);
  if (!config) return config.err();
  model_config& c = *config;
  if (c.vocab_size < ids->id_count)
    return make_error(fmt::format("{}: the tokenizer has {} ids but preset {} has vocab_size {}",
                                  (o.tokenizer_dir / "tokenizer.json").string(), ids->id_count, o.preset,
                                  c.vocab_size));
  c.bos_token_id = ids->bos_token_id;
  if (ids->eos_token_id) c.eos_token_ids = {*ids->eos_token_id};
  c.torch_dtype = o.dtype == tensor_dtype_f32 ? "float32" : "bfloat16";
  if (auto s = model_config_check(c, "preset " + o.preset); !s) return s;

  std::error_code ec;
  fs::create_directories(o.out, ec);
  if (ec) return make_error(fmt::format("{}: cannot create directory: {}", o.out.string(), ec.message()));
  for (const char* name : {"config.json", "model.safetensors", "model.safetensors.index.json"})
    if (fs::exists(o.out / name, ec))
      return make_error(
          fmt::format("{}: already holds a model ({}); choose an empty --out", o.out.string(), name));

  std::vector<safetensors_write_tensor> tensors;
  for (const auto& spec : model_tensor_specs(c)) {
    const bool embedding = spec.name == "model.embed_tokens.weight" || spec.name == "lm_head.weight";
    const float scale = spec.is_norm ? o.norm_noise / k_init_std
                        : embedding  ? o.embedding_std / k_init_std
                                     : 1.0f;
    tensors.push_back({spec.name, o.dtype, spec.shape,
                       random_fill(o.seed, spec.name, o.dtype, scale, spec.is_norm ? 1.0f : 0.0f)});
  }
  if (auto s = safetensors_write(o.out / "model.safetensors", tensors, {{"format", "pt"}}); !s) return s;

  generation_config g;
  g.bos_token_id = c.bos_token_id;
  g.eos_token_ids = c.eos_token_ids;
  if (auto s = file_write_atomic(o.out / "generation_config.json", generation_config_to_json(g)); !s)
    return s;
  for (const char* name : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"}) {
    if (!fs::exists(o.tokenizer_dir / name, ec)) continue;
    fs::copy_file(o.tokenizer_dir / name, o.out / name, fs::copy_options::overwrite_existing, ec);
    if (ec)
      return make_error(fmt::format("{}: cannot copy to {}: {}", (o.tokenizer_dir / name).string(),
                                    o.out.string(), ec.message()));
  }
  // config.json last: a directory with a config is a finished one.
  return file_write_atomic(o.out / "config.json", model_config_to_json(c));
}

}  // namespace smelt
