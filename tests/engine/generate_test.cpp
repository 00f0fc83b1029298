// The generation loop on a tiny random Qwen3 model with the real Qwen3 tokenizer: greedy equals the
// argmax of the forward pass, seeds are deterministic, stop ids/strings, length, cancel, and the
// KV-cache prefix reuse between calls. `smelt generate` itself is run at the end.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "engine/model_runtime.h"
#include "engine/tiny_model.h"

namespace smelt {
namespace {

using test::make_tiny_model;
using test::temp_dir;

class Generate : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = make_tiny_model(dir_, "qwen3", "f32");
    auto rt = model_runtime_open(path_, matmul_backend_onednn);
    ASSERT_TRUE(rt.ok()) << rt.message();
    rt_ = std::move(*rt);
    auto p = model_runtime_chat_prompt(rt_, {{"user", "What is a fire door?"}});
    ASSERT_TRUE(p.ok()) << p.message();
    prompt_ = *p;
  }
  generate_result run(const generate_options& o, const std::function<bool(std::string_view)>& cb = {}) {
    kv_cache cache = kv_cache_create(rt_.model->config, 256);
    auto r = generate(*rt_.model, rt_.tok, cache, prompt_, o, cb);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.message());
    return *r;
  }
  temp_dir dir_;
  std::filesystem::path path_;
  model_runtime rt_;
  std::vector<int32_t> prompt_;
};

generate_options greedy(int n) {
  generate_options o;
  o.sampling.temperature = 0;
  o.max_new_tokens = n;
  return o;
}

TEST_F(Generate, GreedyIsArgmaxOfForward) {
  auto r = run(greedy(10));
  ASSERT_EQ(r.ids.size(), 10u);
  EXPECT_EQ(r.finish_reason, "length");
  kv_cache cache = kv_cache_create(rt_.model->config, 256);
  std::vector<int32_t> next = prompt_;
  std::vector<float> logits;
  for (int32_t expect : r.ids) {
    ASSERT_TRUE(transformer_forward(*rt_.model, cache, next, logits).ok());
    int32_t best = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    EXPECT_EQ(best, expect);
    next = {best};
  }
  EXPECT_EQ(r.text, tokenizer_decode(rt_.tok, r.ids, true));
}

TEST_F(Generate, SeededSamplingIsDeterministic) {
  generate_options o;
  o.sampling.temperature = 1.0;
  o.sampling.seed = 11;
  o.max_new_tokens = 12;
  auto a = run(o), b = run(o);
  EXPECT_EQ(a.ids, b.ids);
  o.sampling.seed = 12;
  EXPECT_NE(run(o).ids, a.ids);  // random weights: near-uniform over 151k ids, a repeat is ~impossible
}

TEST_F(Generate, StopIdEndsWithoutText) {
  auto first = run(greedy(1)).ids[0];
  generate_options o = greedy(10);
  o.stop_ids = {first};
  auto r = run(o);
  EXPECT_EQ(r.finish_reason, "stop");
  EXPECT_EQ(r.ids, std::vector<int32_t>{first});
  EXPECT_EQ(r.text, "");
}

TEST_F(Generate, StopStringCutsTextBeforeIt) {
  auto full = run(greedy(12));
  ASSERT_GE(full.text.size(), 6u);
  // A stop string from the middle of the greedy text (a whole decoded token, so it is valid UTF-8).
  std::string piece = tokenizer_decode(rt_.tok, std::vector<int32_t>{full.ids[5]}, true);
  ASSERT_FALSE(piece.empty());
  size_t at = full.text.find(piece);
  generate_options o = greedy(12);
  o.stop_strings = {piece};
  std::string streamed;
  auto r = run(o, [&](std::string_view s) {
    streamed += s;
    return true;
  });
  EXPECT_EQ(r.finish_reason, "stop");
  EXPECT_EQ(r.text, full.text.substr(0, at));
  EXPECT_EQ(streamed, r.text);
}

TEST_F(Generate, CancelFromCallback) {
  int calls = 0;
  auto r = run(greedy(50), [&](std::string_view) { return ++calls < 3; });
  EXPECT_EQ(r.finish_reason, "cancelled");
  EXPECT_EQ(calls, 3);
  EXPECT_LT(r.ids.size(), 50u);
}

// A second turn reuses the cached prefix and generates exactly what a fresh cache generates.
TEST_F(Generate, CachePrefixReuse) {
  kv_cache cache = kv_cache_create(rt_.model->config, 256);
  auto first = generate(*rt_.model, rt_.tok, cache, prompt_, greedy(6));
  ASSERT_TRUE(first.ok());
  auto longer = model_runtime_chat_prompt(
      rt_, {{"user", "What is a fire door?"}, {"assistant", first->text}, {"user", "And a fire damper?"}});
  ASSERT_TRUE(longer.ok());
  auto second = generate(*rt_.model, rt_.tok, cache, *longer, greedy(6));
  ASSERT_TRUE(second.ok());
  EXPECT_GT(second->cached_tokens, static_cast<int64_t>(prompt_.size()) / 2);
  kv_cache fresh = kv_cache_create(rt_.model->config, 256);
  auto expect = generate(*rt_.model, rt_.tok, fresh, *longer, greedy(6));
  ASSERT_TRUE(expect.ok());
  EXPECT_EQ(second->ids, expect->ids);
}

TEST_F(Generate, BadOptionsAreErrors) {
  kv_cache cache = kv_cache_create(rt_.model->config, 256);
  generate_options o = greedy(4);
  o.sampling.temperature = -1;
  auto r = generate(*rt_.model, rt_.tok, cache, prompt_, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.message().find("temperature"), std::string::npos) << r.message();
  o = greedy(4);
  o.stop_strings = {""};
  EXPECT_FALSE(generate(*rt_.model, rt_.tok, cache, prompt_, o).ok());
}

TEST_F(Generate, CliJsonMatchesLibrary) {
  auto r = test::run_smelt("generate " + test::shell_quote(path_) +
                           " --prompt 'What is a fire door?' --json --temperature 0 -n 8");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["prompt_ids"].get<std::vector<int32_t>>(), prompt_);
  EXPECT_EQ(j["ids"].get<std::vector<int32_t>>(), run(greedy(8)).ids);
  EXPECT_EQ(j["finish_reason"], "length");
  auto bad = test::run_smelt("generate " + test::shell_quote(path_) + " -p hi --top-p 2");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("top_p"), std::string::npos) << bad.err;
  auto missing = test::run_smelt("generate " + test::shell_quote(dir_ / "nope") + " -p hi");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("nope"), std::string::npos) << missing.err;
}

}  // namespace
}  // namespace smelt

namespace smelt {
namespace {

// A base model ships no chat template: it opens, generates raw, and chat-templated prompting says why not.
TEST(ModelRuntime, BaseModelWithoutChatTemplate) {
  test::temp_dir dir;
  auto path = test::make_tiny_model(dir, "qwen3", "bf16");
  auto config = nlohmann::json::parse(test::read_file(path / "tokenizer_config.json"));
  config.erase("chat_template");
  test::write_file(path / "tokenizer_config.json", config.dump());
  auto rt = model_runtime_open(path, matmul_backend_onednn);
  ASSERT_TRUE(rt.ok()) << rt.message();
  EXPECT_FALSE(rt->tmpl.has_value());
  auto prompt = model_runtime_chat_prompt(*rt, {{"user", "hi"}});
  ASSERT_FALSE(prompt.ok());
  EXPECT_NE(prompt.message().find("use --raw"), std::string::npos) << prompt.message();
  // A broken template is still an error, not silently "no template".
  config["chat_template"] = "{% for m in messages %}";
  test::write_file(path / "tokenizer_config.json", config.dump());
  EXPECT_FALSE(model_runtime_open(path, matmul_backend_onednn).ok());
}

}  // namespace
}  // namespace smelt
