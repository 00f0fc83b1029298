// smelt's forward pass against the independent PyTorch reference (tests/ref/hf_reference.py,
// Debian python3-torch) on tiny random models of every architecture: logits of every position and
// greedy continuations. Skipped, not passed, when PyTorch is missing.
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>

#include "engine/tiny_model.h"
#include "engine/transformer.h"

namespace smelt {
namespace {

using test::make_tiny_model;
using test::nmse;
using test::run_shell;
using test::shell_quote;
using test::temp_dir;

using test::torch_available;
using test::torch_python;

std::string ids_arg(const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t id : ids) s += (s.empty() ? "" : ",") + std::to_string(id);
  return s;
}

std::vector<float> torch_logits(const std::filesystem::path& model, const std::vector<int32_t>& ids,
                                const std::string& dtype, const temp_dir& dir) {
  auto out = dir / ("logits-" + dtype + ".f32");
  auto r = run_shell(torch_python() + " " + shell_quote(test::source_path("tests/ref/hf_reference.py")) +
                     " logits " + shell_quote(model) + " --ids " + ids_arg(ids) + " --dtype " + dtype +
                     " --out " + shell_quote(out));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::string bytes = test::read_file(out);
  std::vector<float> v(bytes.size() / 4);
  std::memcpy(v.data(), bytes.data(), v.size() * 4);
  return v;
}

std::vector<int32_t> torch_greedy(const std::filesystem::path& model, const std::vector<int32_t>& ids,
                                  int n) {
  auto r = run_shell(torch_python() + " " + shell_quote(test::source_path("tests/ref/hf_reference.py")) +
                     " greedy " + shell_quote(model) + " --ids " + ids_arg(ids) + " --dtype f32 --new " +
                     std::to_string(n));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return nlohmann::json::parse(r.out)["ids"].get<std::vector<int32_t>>();
}

std::unique_ptr<transformer> load(const std::filesystem::path& dir) {
  auto md = model_dir_open(dir);
  EXPECT_TRUE(md.ok()) << (md.ok() ? "" : md.message());
  auto m = transformer_create(std::move(*md), matmul_backend_onednn);
  EXPECT_TRUE(m.ok());
  return std::move(*m);
}

std::vector<float> smelt_logits(transformer& m, const std::vector<int32_t>& ids) {
  kv_cache cache = kv_cache_create(m.config, 128);
  std::vector<float> logits;
  EXPECT_TRUE(transformer_forward(m, cache, ids, logits, true).ok());
  return logits;
}

std::vector<int32_t> smelt_greedy(transformer& m, const std::vector<int32_t>& ids, int n) {
  kv_cache cache = kv_cache_create(m.config, 128);
  std::vector<float> logits;
  std::vector<int32_t> out, next = ids;
  for (int i = 0; i < n; ++i) {
    EXPECT_TRUE(transformer_forward(m, cache, next, logits).ok());
    int32_t best = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    out.push_back(best);
    next = {best};
  }
  return out;
}

std::vector<int32_t> prompt_ids(const std::string& arch) {
  // Real token ids of each vocabulary (special tokens included) and a long enough sequence for
  // RoPE at several positions.
  std::vector<int32_t> ids = arch == "llama" ? std::vector<int32_t>{128000, 128006, 882, 128007, 271}
                                             : std::vector<int32_t>{151644, 872, 198};
  for (int i = 0; i < 20; ++i) ids.push_back(1000 + 37 * i);
  return ids;
}

// The fp32 path: NMSE ≤ 1e-6 (the bound); actual differences are fp32 summation order.
TEST(Reference, LogitsAndGreedyMatchPytorchFp32) {
  if (!torch_available()) GTEST_SKIP() << "PyTorch (" << torch_python() << ") not available";
  temp_dir dir;
  for (std::string arch : {"llama", "qwen2", "qwen3"}) {
    auto path = make_tiny_model(dir, arch, "f32");
    auto m = load(path);
    auto ids = prompt_ids(arch);
    double e = nmse(smelt_logits(*m, ids), torch_logits(path, ids, "f32", dir));
    EXPECT_LE(e, 1e-6) << arch;
    RecordProperty(arch + "_fp32_nmse", fmt::format("{:.3g}", e));
    EXPECT_EQ(smelt_greedy(*m, ids, 12), torch_greedy(path, ids, 12)) << arch;
  }
}

// Mistral: a Llama-shaped model with a sliding window shorter than the prompt.
TEST(Reference, MistralSlidingWindowMatchesPytorch) {
  if (!torch_available()) GTEST_SKIP() << "PyTorch (" << torch_python() << ") not available";
  temp_dir dir;
  auto path = make_tiny_model(dir, "llama", "f32");
  auto config = nlohmann::json::parse(test::read_file(path / "config.json"));
  config["architectures"] = {"MistralForCausalLM"};
  config["model_type"] = "mistral";
  config["sliding_window"] = 6;
  test::write_file(path / "config.json", config.dump(2));
  auto m = load(path);
  ASSERT_EQ(m->config.sliding_window, 6);
  auto ids = prompt_ids("llama");
  double e = nmse(smelt_logits(*m, ids), torch_logits(path, ids, "f32", dir));
  EXPECT_LE(e, 1e-6);
}

// The bf16 path keeps weights bf16 and rounds each linear's input to bf16, but keeps the residual
// stream, norms, attention and accumulation in fp32; a bf16 PyTorch model also rounds every
// activation and the residual stream to bf16. So smelt-bf16 must be at least as close to the fp32
// truth (the same bf16-exact weights, computed in fp32) as PyTorch-bf16 is, and within 1e-3
// (bf16's relative precision 2^-9 squared is 4e-6 per rounding; a few dozen roundings in series).
TEST(Reference, Bf16PathCloserToFp32ThanPytorchBf16) {
  if (!torch_available()) GTEST_SKIP() << "PyTorch (" << torch_python() << ") not available";
  temp_dir dir;
  for (std::string arch : {"llama", "qwen3"}) {
    auto path = make_tiny_model(dir, arch, "bf16");
    auto m = load(path);
    auto ids = prompt_ids(arch);
    auto truth = torch_logits(path, ids, "f32", dir);
    double ours = nmse(smelt_logits(*m, ids), truth);
    double theirs = nmse(torch_logits(path, ids, "bf16", dir), truth);
    EXPECT_LE(ours, 1e-3) << arch;
    EXPECT_LE(ours, theirs) << arch << ": smelt bf16 " << ours << ", PyTorch bf16 " << theirs;
    RecordProperty(arch + "_bf16_nmse", fmt::format("{:.3g}", ours));
    RecordProperty(arch + "_torch_bf16_nmse", fmt::format("{:.3g}", theirs));
  }
}

}  // namespace
}  // namespace smelt
