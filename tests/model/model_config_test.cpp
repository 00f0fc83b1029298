// Tests for model/model_config: config.json files as the published models ship them (Qwen2.5,
// Qwen3, Llama 3.1, Mistral), every rejection with its exact message, generation_config.json,
// and the init presets passing the same checks.
#include "model/model_config.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "model/model_init.h"

namespace smelt {
namespace {

// Qwen/Qwen2.5-0.5B-Instruct config.json (as published; trimmed of fields smelt ignores).
const char* k_qwen25 = R"({
  "architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 151643,
  "eos_token_id": 151645, "hidden_act": "silu", "hidden_size": 896, "initializer_range": 0.02,
  "intermediate_size": 4864, "max_position_embeddings": 32768, "max_window_layers": 21,
  "model_type": "qwen2", "num_attention_heads": 14, "num_hidden_layers": 24, "num_key_value_heads": 2,
  "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "sliding_window": 32768, "tie_word_embeddings": true,
  "torch_dtype": "bfloat16", "transformers_version": "4.43.1", "use_cache": true,
  "use_sliding_window": false, "vocab_size": 151936})";

// Qwen/Qwen3-0.6B: head_dim 128 although hidden_size / heads is 64.
const char* k_qwen3 = R"({
  "architectures": ["Qwen3ForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
  "bos_token_id": 151643, "eos_token_id": 151645, "head_dim": 128, "hidden_act": "silu",
  "hidden_size": 1024, "initializer_range": 0.02, "intermediate_size": 3072,
  "max_position_embeddings": 40960, "max_window_layers": 28, "model_type": "qwen3",
  "num_attention_heads": 16, "num_hidden_layers": 28, "num_key_value_heads": 8, "rms_norm_eps": 1e-06,
  "rope_scaling": null, "rope_theta": 1000000, "sliding_window": null, "tie_word_embeddings": true,
  "torch_dtype": "bfloat16", "use_cache": true, "use_sliding_window": false, "vocab_size": 151936})";

// meta-llama/Llama-3.1-8B-Instruct.
const char* k_llama31 = R"({
  "architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
  "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009], "hidden_act": "silu",
  "hidden_size": 4096, "initializer_range": 0.02, "intermediate_size": 14336,
  "max_position_embeddings": 131072, "mlp_bias": false, "model_type": "llama", "num_attention_heads": 32,
  "num_hidden_layers": 32, "num_key_value_heads": 8, "pretraining_tp": 1, "rms_norm_eps": 1e-05,
  "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                   "original_max_position_embeddings": 8192, "rope_type": "llama3"},
  "rope_theta": 500000.0, "tie_word_embeddings": false, "torch_dtype": "bfloat16", "use_cache": true,
  "vocab_size": 128256})";

// mistralai/Mistral-7B-v0.1 (sliding window 4096, no head_dim field).
const char* k_mistral = R"({
  "architectures": ["MistralForCausalLM"], "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu",
  "hidden_size": 4096, "initializer_range": 0.02, "intermediate_size": 14336,
  "max_position_embeddings": 32768, "model_type": "mistral", "num_attention_heads": 32,
  "num_hidden_layers": 32, "num_key_value_heads": 8, "rms_norm_eps": 1e-05, "rope_theta": 10000.0,
  "sliding_window": 4096, "tie_word_embeddings": false, "torch_dtype": "bfloat16", "use_cache": true,
  "vocab_size": 32000})";

model_config parse_ok(const std::string& text) {
  auto c = model_config_parse(text, "config.json");
  EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.message());
  return c.ok() ? *c : model_config{};
}

// K_LLAMA31 with FIELD replaced by VALUE (a JSON fragment; "" removes the field).
std::string llama_with(const std::string& field, const std::string& value) {
  auto j = nlohmann::json::parse(k_llama31);
  if (value.empty())
    j.erase(field);
  else
    j[field] = nlohmann::json::parse(value);
  return j.dump();
}

std::string llama_error(const std::string& field, const std::string& value) {
  auto c = model_config_parse(llama_with(field, value), "m/config.json");
  EXPECT_FALSE(c.ok()) << field << "=" << value;
  return c.ok() ? "" : c.message();
}

TEST(model_config, qwen25) {
  model_config c = parse_ok(k_qwen25);
  EXPECT_EQ(c.arch, model_arch_qwen2);
  EXPECT_EQ(c.hidden_size, 896);
  EXPECT_EQ(c.intermediate_size, 4864);
  EXPECT_EQ(c.num_hidden_layers, 24);
  EXPECT_EQ(c.num_attention_heads, 14);
  EXPECT_EQ(c.num_key_value_heads, 2);
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_DOUBLE_EQ(c.rms_norm_eps, 1e-6);
  EXPECT_DOUBLE_EQ(c.rope_theta, 1e6);
  EXPECT_EQ(c.rope_scaling.type, rope_scaling_none);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_TRUE(c.attention_bias);  // implicit for Qwen2
  EXPECT_FALSE(c.qk_norm);
  EXPECT_EQ(c.sliding_window, 0);  // present but switched off by use_sliding_window
  EXPECT_EQ(c.max_position_embeddings, 32768);
  EXPECT_EQ(c.vocab_size, 151936);
  EXPECT_EQ(c.bos_token_id, 151643);
  EXPECT_EQ(c.eos_token_ids, (std::vector<int64_t>{151645}));
  EXPECT_EQ(c.torch_dtype, "bfloat16");
}

TEST(model_config, qwen3_explicit_head_dim_and_qk_norm) {
  model_config c = parse_ok(k_qwen3);
  EXPECT_EQ(c.arch, model_arch_qwen3);
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_TRUE(c.qk_norm);
  EXPECT_FALSE(c.attention_bias);
  EXPECT_EQ(c.num_key_value_heads, 8);
  EXPECT_EQ(c.max_position_embeddings, 40960);
}

TEST(model_config, llama31_rope_scaling_and_eos_list) {
  model_config c = parse_ok(k_llama31);
  EXPECT_EQ(c.arch, model_arch_llama);
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_EQ(c.rope_scaling.type, rope_scaling_llama3);
  EXPECT_DOUBLE_EQ(c.rope_scaling.factor, 8.0);
  EXPECT_DOUBLE_EQ(c.rope_scaling.low_freq_factor, 1.0);
  EXPECT_DOUBLE_EQ(c.rope_scaling.high_freq_factor, 4.0);
  EXPECT_EQ(c.rope_scaling.original_max_position_embeddings, 8192);
  EXPECT_DOUBLE_EQ(c.rope_theta, 500000.0);
  EXPECT_DOUBLE_EQ(c.rms_norm_eps, 1e-5);
  EXPECT_EQ(c.eos_token_ids, (std::vector<int64_t>{128001, 128008, 128009}));
  EXPECT_FALSE(c.tie_word_embeddings);
  // Older configs spell the type "type".
  auto old = parse_ok(llama_with("rope_scaling",
                                 R"({"type":"llama3","factor":8.0,"low_freq_factor":1.0,)"
                                 R"("high_freq_factor":4.0,"original_max_position_embeddings":8192})"));
  EXPECT_EQ(old.rope_scaling.type, rope_scaling_llama3);
}

TEST(model_config, mistral_sliding_window) {
  model_config c = parse_ok(k_mistral);
  EXPECT_EQ(c.arch, model_arch_mistral);
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_EQ(c.sliding_window, 4096);
  EXPECT_FALSE(c.attention_bias);
}

TEST(model_config, to_json_round_trips) {
  for (const char* text : {k_qwen25, k_qwen3, k_llama31, k_mistral}) {
    model_config a = parse_ok(text);
    model_config b = parse_ok(model_config_to_json(a));
    EXPECT_EQ(model_config_to_json(a), model_config_to_json(b));
    EXPECT_EQ(b.arch, a.arch);
    EXPECT_EQ(b.head_dim, a.head_dim);
    EXPECT_EQ(b.attention_bias, a.attention_bias);
    EXPECT_EQ(b.qk_norm, a.qk_norm);
    EXPECT_EQ(b.sliding_window, a.sliding_window);
    EXPECT_EQ(b.rope_scaling.type, a.rope_scaling.type);
    EXPECT_EQ(b.eos_token_ids, a.eos_token_ids);
    EXPECT_EQ(b.tie_word_embeddings, a.tie_word_embeddings);
  }
}

TEST(model_config, rejects_unsupported_and_absurd_fields) {
  const std::string p = "m/config.json: ";
  EXPECT_EQ(llama_error("rope_scaling", R"({"rope_type":"yarn","factor":4.0})"),
            p + "rope_scaling.rope_type: unsupported 'yarn' (supported: llama3, default, or null)");
  EXPECT_EQ(llama_error("rope_scaling", R"({"type":"linear","factor":2.0})"),
            p + "rope_scaling.type: unsupported 'linear' (supported: llama3, default, or null)");
  EXPECT_EQ(llama_error("rope_scaling", R"({"rope_type":"llama3","factor":8.0,"low_freq_factor":1.0,)"
                                        R"("high_freq_factor":4.0})"),
            p + "rope_scaling: original_max_position_embeddings: missing");
  EXPECT_EQ(llama_error("rope_scaling", "[1]"), p + "rope_scaling: expected an object or null, got [1]");
  EXPECT_EQ(
      llama_error("architectures", R"(["GPT2LMHeadModel"])"),
      p + "architectures: unsupported 'GPT2LMHeadModel' (supported: LlamaForCausalLM, MistralForCausalLM, "
          "Qwen2ForCausalLM, Qwen3ForCausalLM)");
  EXPECT_EQ(llama_error("hidden_size", "0"), p + "hidden_size: 0 is out of range (1..65536)");
  EXPECT_EQ(llama_error("hidden_size", "-4096"), p + "hidden_size: -4096 is out of range (1..65536)");
  EXPECT_EQ(llama_error("hidden_size", "4096.5"), p + "hidden_size: expected an integer, got 4096.5");
  EXPECT_EQ(llama_error("hidden_size", "\"4096\""), p + "hidden_size: expected an integer, got \"4096\"");
  EXPECT_EQ(llama_error("hidden_size", ""), p + "hidden_size: missing");
  EXPECT_EQ(llama_error("num_hidden_layers", "1000000"),
            p + "num_hidden_layers: 1000000 is out of range (1..1024)");
  EXPECT_EQ(llama_error("vocab_size", "18446744073709551615"),
            p + "vocab_size: 18446744073709551615 is too large");
  EXPECT_EQ(llama_error("num_key_value_heads", "3"),
            p + "num_key_value_heads: 3 does not divide num_attention_heads 32");
  EXPECT_EQ(llama_error("num_key_value_heads", "64"), p + "num_key_value_heads: 64 is out of range (1..32)");
  EXPECT_EQ(llama_error("num_attention_heads", "30"),
            p + "num_attention_heads: 30 does not divide hidden_size 4096 (and no head_dim is given)");
  EXPECT_EQ(llama_error("head_dim", "0"), p + "head_dim: 0 is out of range (2..1024)");
  EXPECT_EQ(llama_error("head_dim", "127"), p + "head_dim: 127 is odd (rotary embedding needs pairs)");
  EXPECT_EQ(llama_error("hidden_act", "\"gelu\""), p + "hidden_act: unsupported 'gelu' (supported: silu)");
  EXPECT_EQ(llama_error("torch_dtype", "\"int8\""),
            p + "torch_dtype: unsupported 'int8' (supported: bfloat16, float16, float32)");
  EXPECT_EQ(llama_error("rms_norm_eps", "0"), p + "rms_norm_eps: 0 is out of range (0..1, exclusive)");
  EXPECT_EQ(llama_error("rope_theta", "-1"), p + "rope_theta: -1 is out of range (1..1e12)");
  EXPECT_EQ(llama_error("eos_token_id", "[128001, 999999]"),
            p + "eos_token_id: 999999 is outside the vocabulary (vocab_size 128256)");
  EXPECT_EQ(llama_error("eos_token_id", "\"</s>\""),
            p + "eos_token_id: expected a token id or a list of them, got \"</s>\"");
  EXPECT_EQ(llama_error("mlp_bias", "true"),
            p + "mlp_bias: unsupported true (MLP projections without bias only)");
  EXPECT_EQ(llama_error("tie_word_embeddings", "\"yes\""),
            p + "tie_word_embeddings: expected true or false, got \"yes\"");

  auto qwen_window = nlohmann::json::parse(k_qwen25);
  qwen_window["use_sliding_window"] = true;
  auto c = model_config_parse(qwen_window.dump(), "q/config.json");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.message(), "q/config.json: use_sliding_window: unsupported true (full attention only)");

  auto bad = model_config_parse("{\"architectures\": [", "x/config.json");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.message(), "x/config.json: not valid JSON");
  auto missing = model_config_read("/nonexistent/config.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.message(), "/nonexistent/config.json: no such file");
}

TEST(model_config, generation_config) {
  auto g = generation_config_parse(R"({"bos_token_id": 151643, "pad_token_id": 151643, "do_sample": true,
    "eos_token_id": [151645, 151643], "repetition_penalty": 1.1, "temperature": 0.7, "top_p": 0.8,
    "top_k": 20, "transformers_version": "4.37.0"})",
                                   "generation_config.json");
  ASSERT_TRUE(g.ok()) << g.message();
  EXPECT_EQ(g->bos_token_id, 151643);
  EXPECT_EQ(g->pad_token_id, 151643);
  EXPECT_EQ(g->eos_token_ids, (std::vector<int64_t>{151645, 151643}));
  EXPECT_TRUE(g->do_sample);
  EXPECT_DOUBLE_EQ(g->temperature, 0.7);
  EXPECT_DOUBLE_EQ(g->top_p, 0.8);
  EXPECT_EQ(g->top_k, 20);
  EXPECT_DOUBLE_EQ(g->repetition_penalty, 1.1);
  EXPECT_DOUBLE_EQ(g->min_p, 0.0);
  EXPECT_FALSE(g->max_new_tokens.has_value());

  auto defaults = generation_config_parse(R"({"eos_token_id": 2})", "g.json");
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->eos_token_ids, (std::vector<int64_t>{2}));
  EXPECT_FALSE(defaults->do_sample);
  EXPECT_DOUBLE_EQ(defaults->temperature, 1.0);
  EXPECT_EQ(defaults->top_k, 50);
  EXPECT_DOUBLE_EQ(defaults->top_p, 1.0);

  auto round = generation_config_parse(generation_config_to_json(*g), "g.json");
  ASSERT_TRUE(round.ok());
  EXPECT_EQ(generation_config_to_json(*round), generation_config_to_json(*g));

  auto bad = generation_config_parse(R"({"top_p": 1.5})", "g.json");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.message(), "g.json: top_p: 1.5 is out of range (0..1]");
  bad = generation_config_parse(R"({"temperature": "hot"})", "g.json");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.message(), "g.json: temperature: expected a number, got \"hot\"");
}

TEST(model_config, presets_pass_the_checks) {
  for (const auto& preset : model_init_presets()) {
    auto c = model_init_config("", preset, 1000);
    ASSERT_TRUE(c.ok()) << preset << ": " << c.message();
    EXPECT_TRUE(model_config_check(*c, preset).ok()) << preset;
    EXPECT_TRUE(model_config_parse(model_config_to_json(*c), preset).ok()) << preset;
  }
  // The real presets have the published models' shapes.
  auto same_shape = [](const model_config& a, const model_config& b) {
    EXPECT_EQ(a.arch, b.arch);
    EXPECT_EQ(a.hidden_size, b.hidden_size);
    EXPECT_EQ(a.intermediate_size, b.intermediate_size);
    EXPECT_EQ(a.num_hidden_layers, b.num_hidden_layers);
    EXPECT_EQ(a.num_attention_heads, b.num_attention_heads);
    EXPECT_EQ(a.num_key_value_heads, b.num_key_value_heads);
    EXPECT_EQ(a.head_dim, b.head_dim);
    EXPECT_EQ(a.vocab_size, b.vocab_size);
    EXPECT_EQ(a.tie_word_embeddings, b.tie_word_embeddings);
    EXPECT_EQ(a.attention_bias, b.attention_bias);
    EXPECT_DOUBLE_EQ(a.rope_theta, b.rope_theta);
    EXPECT_DOUBLE_EQ(a.rms_norm_eps, b.rms_norm_eps);
    EXPECT_EQ(a.rope_scaling.type, b.rope_scaling.type);
    EXPECT_EQ(a.max_position_embeddings, b.max_position_embeddings);
  };
  same_shape(*model_init_config("qwen2", "qwen2.5-0.5b", 0), parse_ok(k_qwen25));
  same_shape(*model_init_config("", "llama-3.1-8b", 0), parse_ok(k_llama31));
  auto tiny3 = model_init_config("qwen3", "tiny", 500);
  ASSERT_TRUE(tiny3.ok());
  EXPECT_EQ(tiny3->head_dim, 32);
  EXPECT_TRUE(tiny3->qk_norm);
  EXPECT_EQ(tiny3->vocab_size, 500);
  auto mismatch = model_init_config("qwen3", "qwen2.5-7b", 0);
  ASSERT_FALSE(mismatch.ok());
  EXPECT_EQ(mismatch.message(),
            "--preset qwen2.5-7b is a qwen2 shape; use --arch qwen2 (or leave --arch out)");
  auto unknown = model_init_config("", "gpt-5", 0);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.message(),
            "--preset: expected tiny|small|qwen2.5-0.5b|qwen2.5-1.5b|qwen2.5-7b|llama-3.1-8b, got 'gpt-5'");
}

}  // namespace
}  // namespace smelt
