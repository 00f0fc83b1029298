// PEFT adapter files: smelt's writes read back by the reference's independent safetensors reader
// (tests/ref/hf_reference.py, PyTorch) and PEFT-style files made in PyTorch (BF16/F16, ".default"
// names) read by smelt; adapter_config.json keys; and the errors for adapters that do not fit a
// model or are malformed, asserted by their exact text. PyTorch parts skip when torch is missing.
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <cstring>
#include <random>

#include "model/adapter.h"
#include "model/safetensors.h"
#include "support/test_support.h"

namespace smelt {
namespace {

using test::run_shell;
using test::shell_quote;
using test::temp_dir;

using test::torch_available;
using test::torch_python;

model_config tiny_config() {
  model_config c;
  c.arch = model_arch_qwen2;
  c.hidden_size = 64;
  c.intermediate_size = 128;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 16;
  c.vocab_size = 100;
  return c;
}

// Random A and B for MODULES in every layer of C.
adapter make_adapter(const model_config& c, std::vector<std::string> modules, int64_t rank, uint64_t seed) {
  adapter a;
  a.config.rank = rank;
  a.config.alpha = 16;
  a.config.dropout = 0.1;
  a.config.target_modules = modules;
  a.config.base_model_name_or_path = "tiny";
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal;
  for (int64_t l = 0; l < c.num_hidden_layers; ++l)
    for (const auto& m : modules) {
      adapter_tensor t;
      t.layer = l;
      t.module = m;
      t.rank = rank;
      EXPECT_TRUE(adapter_module_shape(c, m, t.out, t.in));
      t.A.resize(t.rank * t.in);
      t.B.resize(t.out * t.rank);
      for (float& x : t.A) x = normal(rng);
      for (float& x : t.B) x = normal(rng);
      a.tensors.push_back(std::move(t));
    }
  return a;
}

TEST(adapter, write_read_round_trip_and_peft_config) {
  temp_dir dir;
  model_config c = tiny_config();
  adapter a = make_adapter(c, {"v_proj", "q_proj", "down_proj"}, 4, 1);
  a.config.use_rslora = true;
  ASSERT_TRUE(adapter_write(dir / "out", a).ok());
  auto back = adapter_read(dir / "out");
  ASSERT_TRUE(back.ok()) << back.message();
  EXPECT_EQ(back->config.rank, 4);
  EXPECT_EQ(back->config.alpha, 16);
  EXPECT_EQ(back->config.dropout, 0.1);
  EXPECT_TRUE(back->config.use_rslora);
  EXPECT_EQ(back->config.base_model_name_or_path, "tiny");
  EXPECT_FLOAT_EQ(back->config.scale(), 16.0f / 2.0f);  // rsLoRA: alpha / sqrt(r)
  ASSERT_EQ(back->tensors.size(), a.tensors.size());
  // Read back sorted by (layer, q..down), written in the given order.
  for (const adapter_tensor& t : back->tensors) {
    auto it = std::find_if(a.tensors.begin(), a.tensors.end(), [&](const adapter_tensor& x) {
      return x.layer == t.layer && x.module == t.module;
    });
    ASSERT_NE(it, a.tensors.end());
    EXPECT_EQ(t.A, it->A);
    EXPECT_EQ(t.B, it->B);
    EXPECT_EQ(t.in, it->in);
    EXPECT_EQ(t.out, it->out);
  }
  EXPECT_EQ(back->tensors[0].module, "q_proj");
  EXPECT_TRUE(adapter_check(*back, c).ok());

  auto j = nlohmann::json::parse(test::read_file(dir / "out" / "adapter_config.json"));
  EXPECT_EQ(j["peft_type"], "LORA");
  EXPECT_EQ(j["task_type"], "CAUSAL_LM");
  EXPECT_EQ(j["r"], 4);
  EXPECT_TRUE(j["lora_alpha"].is_number_integer());  // PEFT writes an int alpha as an int
  EXPECT_EQ(j["lora_alpha"], 16);
  EXPECT_EQ(j["lora_dropout"], 0.1);
  EXPECT_EQ(j["target_modules"], nlohmann::json({"down_proj", "q_proj", "v_proj"}));
  EXPECT_EQ(j["bias"], "none");
  EXPECT_EQ(j["use_rslora"], true);
  EXPECT_EQ(j["use_dora"], false);
  EXPECT_EQ(j["fan_in_fan_out"], false);
  EXPECT_EQ(j["base_model_name_or_path"], "tiny");
}

// The reference's own safetensors reader sees PEFT's names, shapes and smelt's exact values.
TEST(adapter, written_file_reads_in_the_reference) {
  if (!torch_available()) GTEST_SKIP() << "no PyTorch (" << torch_python() << ")";
  temp_dir dir;
  model_config c = tiny_config();
  adapter a =
      make_adapter(c, {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}, 8, 2);
  ASSERT_TRUE(adapter_write(dir.path(), a).ok());
  test::write_file(dir / "dump.py", R"(
import json, sys
sys.path.insert(0, sys.argv[1])
import hf_reference
t = hf_reference.safetensors_read(sys.argv[2])
print(json.dumps({k: {"dtype": str(v.dtype), "shape": list(v.shape), "sum": float(v.double().sum()),
                      "first": float(v.reshape(-1)[0]), "last": float(v.reshape(-1)[-1])} for k, v in t.items()}))
)");
  auto r = run_shell(torch_python() + " " + shell_quote(dir / "dump.py") + " " +
                     shell_quote(test::source_path("tests/ref")) + " " +
                     shell_quote(dir / "adapter_model.safetensors"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto got = nlohmann::json::parse(r.out);
  EXPECT_EQ(got.size(), a.tensors.size() * 2);
  for (const adapter_tensor& t : a.tensors) {
    for (char which : {'A', 'B'}) {
      std::string name = adapter_tensor_name(t.layer, t.module, which);
      ASSERT_TRUE(got.contains(name)) << name;
      const auto& v = which == 'A' ? t.A : t.B;
      auto shape = which == 'A' ? std::vector<int64_t>{t.rank, t.in} : std::vector<int64_t>{t.out, t.rank};
      EXPECT_EQ(got[name]["dtype"], "torch.float32") << name;
      EXPECT_EQ(got[name]["shape"].get<std::vector<int64_t>>(), shape) << name;
      EXPECT_EQ(got[name]["first"].get<float>(), v.front()) << name;
      EXPECT_EQ(got[name]["last"].get<float>(), v.back()) << name;
      double sum = 0;
      for (float x : v) sum += x;
      EXPECT_NEAR(got[name]["sum"].get<double>(), sum, 1e-9 * v.size()) << name;
    }
  }
  EXPECT_EQ(adapter_tensor_name(3, "up_proj", 'B'),
            "base_model.model.model.layers.3.mlp.up_proj.lora_B.weight");
}

// A PEFT-style adapter made in PyTorch: ".default" names, A in BF16, B in F16, PEFT's full config.
TEST(adapter, reads_peft_files_in_bf16_and_f16) {
  if (!torch_available()) GTEST_SKIP() << "no PyTorch (" << torch_python() << ")";
  temp_dir dir;
  test::write_file(dir / "make.py", R"(
import json, struct, sys, torch
out = sys.argv[1]
torch.manual_seed(0)
shapes = {"q_proj": (64, 64), "v_proj": (32, 64)}  # (out, in)
r, tensors, expected = 4, {}, {}
for layer in range(2):
    for m, (o, i) in shapes.items():
        base = f"base_model.model.model.layers.{layer}.self_attn.{m}"
        tensors[base + ".lora_A.default.weight"] = torch.randn(r, i).to(torch.bfloat16)
        tensors[base + ".lora_B.default.weight"] = torch.randn(o, r).to(torch.float16)
names = sorted(tensors)
header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
for n in names:
    t = tensors[n]
    b = t.view(torch.int16).numpy().tobytes()
    header[n] = {"dtype": {torch.bfloat16: "BF16", torch.float16: "F16"}[t.dtype], "shape": list(t.shape),
                 "data_offsets": [off, off + len(b)]}
    blobs.append(b)
    off += len(b)
h = json.dumps(header).encode()
h += b" " * ((8 - len(h) % 8) % 8)
with open(out + "/adapter_model.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
with open(out + "/expected.f32", "wb") as f:
    for n in names:
        f.write(tensors[n].float().numpy().tobytes())
json.dump({"names": names}, open(out + "/names.json", "w"))
cfg = {"alpha_pattern": {}, "auto_mapping": None, "base_model_name_or_path": "Qwen/Qwen2.5-0.5B-Instruct",
       "bias": "none", "fan_in_fan_out": False, "inference_mode": True, "init_lora_weights": True,
       "layer_replication": None, "layers_pattern": None, "layers_to_transform": None, "loftq_config": {},
       "lora_alpha": 8, "lora_dropout": 0.0, "megatron_config": None, "megatron_core": "megatron.core",
       "modules_to_save": None, "peft_type": "LORA", "r": r, "rank_pattern": {}, "revision": None,
       "target_modules": ["v_proj", "q_proj"], "task_type": "CAUSAL_LM", "use_dora": False, "use_rslora": False}
json.dump(cfg, open(out + "/adapter_config.json", "w"), indent=2, sort_keys=True)
)");
  auto r = run_shell(torch_python() + " " + shell_quote(dir / "make.py") + " " + shell_quote(dir.path()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto a = adapter_read(dir.path());
  ASSERT_TRUE(a.ok()) << a.message();
  EXPECT_EQ(a->config.rank, 4);
  EXPECT_FLOAT_EQ(a->config.scale(), 2.0f);
  EXPECT_EQ(a->config.base_model_name_or_path, "Qwen/Qwen2.5-0.5B-Instruct");
  ASSERT_EQ(a->tensors.size(), 4u);
  EXPECT_TRUE(adapter_check(*a, tiny_config()).ok());
  // Expected values in the file order of names.json (sorted names); find each tensor's slice.
  auto names =
      nlohmann::json::parse(test::read_file(dir / "names.json"))["names"].get<std::vector<std::string>>();
  std::string bytes = test::read_file(dir / "expected.f32");
  std::vector<float> expected(bytes.size() / 4);
  std::memcpy(expected.data(), bytes.data(), bytes.size());
  size_t off = 0;
  for (const std::string& n : names) {
    bool is_a = n.find("lora_A") != std::string::npos;
    const adapter_tensor* t = nullptr;
    for (const auto& x : a->tensors)
      if (n.find(fmt::format("layers.{}.self_attn.{}.", x.layer, x.module)) != std::string::npos) t = &x;
    ASSERT_NE(t, nullptr) << n;
    const auto& v = is_a ? t->A : t->B;
    ASSERT_LE(off + v.size(), expected.size());
    // BF16/F16 widen to fp32 exactly: equality, not a tolerance.
    EXPECT_EQ(v, std::vector<float>(expected.begin() + off, expected.begin() + off + v.size())) << n;
    off += v.size();
  }
  EXPECT_EQ(off, expected.size());
}

TEST(adapter, check_names_tensor_shapes_and_config_field) {
  adapter a = make_adapter(tiny_config(), {"q_proj", "k_proj", "down_proj"}, 8, 3);

  model_config fewer_layers = tiny_config();
  fewer_layers.num_hidden_layers = 1;
  auto s = adapter_check(a, fewer_layers, "models/tiny");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(),
            "adapter: tensor base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight: layer 1 but "
            "models/tiny has num_hidden_layers 1");

  model_config wider = tiny_config();
  wider.hidden_size = 96;
  s = adapter_check(a, wider, "models/wide");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(
      s.message(),
      "adapter: tensor base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight: shape [8, 64] but "
      "models/wide's q_proj takes 96 inputs (hidden_size 96): expected [8, 96]");

  model_config more_kv = tiny_config();
  more_kv.num_key_value_heads = 4;
  s = adapter_check(a, more_kv, "models/mha");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(
      s.message(),
      "adapter: tensor base_model.model.model.layers.0.self_attn.k_proj.lora_B.weight: shape [32, 8] but "
      "models/mha's k_proj has 64 outputs (num_key_value_heads 4 x head_dim 16): expected [64, 8]");

  model_config bigger_mlp = tiny_config();
  bigger_mlp.intermediate_size = 256;
  s = adapter_check(a, bigger_mlp, "m");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(
      s.message(),
      "adapter: tensor base_model.model.model.layers.0.mlp.down_proj.lora_A.weight: shape [8, 128] but m's "
      "down_proj takes 256 inputs (intermediate_size 256): expected [8, 256]");

  adapter undeclared = a;
  undeclared.config.target_modules = {"q_proj", "k_proj"};
  s = adapter_check(undeclared, tiny_config());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(
      s.message(),
      "adapter: tensor base_model.model.model.layers.0.mlp.down_proj.lora_A.weight: module down_proj is not "
      "in adapter_config.json target_modules");
}

TEST(adapter, read_errors_name_file_and_tensor) {
  temp_dir dir;
  model_config c = tiny_config();
  adapter a = make_adapter(c, {"q_proj"}, 4, 4);
  ASSERT_TRUE(adapter_write(dir.path(), a).ok());
  const std::string st = (dir / "adapter_model.safetensors").string();
  const std::string cfg = (dir / "adapter_config.json").string();
  auto config = nlohmann::json::parse(test::read_file(dir / "adapter_config.json"));

  // The config says r=8 but the tensors have rank 4.
  auto j = config;
  j["r"] = 8;
  test::write_file(dir / "adapter_config.json", j.dump());
  auto r = adapter_read(dir.path());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(),
            st + ": tensor 'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight': shape "
                 "[4, 64] has rank 4 but adapter_config.json r=8");

  struct bad_config {
    const char* key;
    nlohmann::json value;
    std::string message;
  } bad[] = {
      {"r", "8", cfg + ": r: expected a positive integer, got \"8\""},
      {"target_modules", "q_proj|v_proj",
       cfg + ": target_modules: a pattern string (\"q_proj|v_proj\") is not supported; list the modules "
             "(q_proj, "
             "k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj)"},
      {"target_modules",
       {"q_proj", "lm_head"},
       cfg +
           ": target_modules: \"lm_head\" is not one of q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, "
           "down_proj"},
      {"use_dora", true, cfg + ": use_dora: DoRA adapters are not supported"},
      {"peft_type", "IA3", cfg + ": peft_type: expected \"LORA\", got \"IA3\""},
      {"lora_dropout", 1.5, cfg + ": lora_dropout: expected a number in [0, 1), got 1.5"},
  };
  for (const auto& b : bad) {
    j = config;
    j[b.key] = b.value;
    test::write_file(dir / "adapter_config.json", j.dump());
    r = adapter_read(dir.path());
    ASSERT_FALSE(r.ok()) << b.key;
    EXPECT_EQ(r.message(), b.message);
  }
  test::write_file(dir / "adapter_config.json", "{not json");
  r = adapter_read(dir.path());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), cfg + ": not a JSON object");
  test::write_file(dir / "adapter_config.json", config.dump());

  // B without A; a name that is not a LoRA tensor; a missing file.
  adapter lonely = a;
  ASSERT_TRUE(adapter_write(dir / "lonely", lonely).ok());
  {
    // Rewrite the safetensors with only the B tensor, through the public writer.
    adapter_tensor& t = lonely.tensors[0];
    safetensors_write_tensor b{adapter_tensor_name(0, "q_proj", 'B'),
                               tensor_dtype_f32,
                               {t.out, t.rank},
                               safetensors_fill_bytes(t.B.data(), t.B.size() * 4)};
    ASSERT_TRUE(safetensors_write(dir / "lonely" / "adapter_model.safetensors", {b}).ok());
    r = adapter_read(dir / "lonely");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.message(),
              (dir / "lonely" / "adapter_model.safetensors").string() +
                  ": 'base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight' has no partner "
                  "'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight'");
    safetensors_write_tensor odd{"base_model.model.lm_head.lora_A.weight",
                                 tensor_dtype_f32,
                                 {t.rank, t.in},
                                 safetensors_fill_bytes(t.A.data(), t.A.size() * 4)};
    ASSERT_TRUE(safetensors_write(dir / "lonely" / "adapter_model.safetensors", {odd}).ok());
    r = adapter_read(dir / "lonely");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(
        r.message().find("tensor 'base_model.model.lm_head.lora_A.weight' is not a LoRA tensor smelt knows"),
        std::string::npos)
        << r.message();
  }
  std::filesystem::remove(dir / "adapter_model.safetensors");
  r = adapter_read(dir.path());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.message().find(st), std::string::npos) << r.message();
}

TEST(adapter, write_refuses_inconsistent_tensors) {
  temp_dir dir;
  adapter a = make_adapter(tiny_config(), {"q_proj"}, 4, 5);
  a.tensors[0].A.pop_back();
  auto s = adapter_write(dir / "x", a);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(),
            (dir / "x").string() +
                ": base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight: rank 4 in 64 out 64 "
                "(config r=4) do not match A (255 floats) and B (256 floats)");
  EXPECT_FALSE(std::filesystem::exists(dir / "x" / "adapter_model.safetensors"));
}

}  // namespace
}  // namespace smelt
