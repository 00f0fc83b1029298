// The transformer forward pass against itself: oneDNN against the reference backend, KV-cache
// decoding against full recomputation, and bad input. PyTorch comparisons are in
// reference_test.cpp; op-level checks in ops_test.cpp.
#include <gtest/gtest.h>

#include "engine/tiny_model.h"
#include "engine/transformer.h"

namespace smelt {
namespace {

using test::make_tiny_model;
using test::nmse;
using test::temp_dir;

std::unique_ptr<transformer> load(const std::filesystem::path& dir, matmul_backend backend) {
  auto md = model_dir_open(dir);
  EXPECT_TRUE(md.ok()) << (md.ok() ? "" : md.message());
  auto m = transformer_create(std::move(*md), backend);
  EXPECT_TRUE(m.ok());
  return std::move(*m);
}

std::vector<float> all_logits(transformer& m, const std::vector<int32_t>& ids) {
  kv_cache cache = kv_cache_create(m.config, 64);
  std::vector<float> logits;
  auto s = transformer_forward(m, cache, ids, logits, true);
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.message());
  return logits;
}

const std::vector<int32_t> k_ids = {9707, 11, 1879, 0, 151644, 872, 198, 100644, 3837, 220, 16, 17, 18};

// fp32 weights: the two backends differ only in fp32 summation order (relative ~1e-7 per dot).
TEST(Transformer, OnednnMatchesReferenceFp32) {
  temp_dir dir;
  for (std::string arch : {"llama", "qwen2", "qwen3"}) {
    auto path = make_tiny_model(dir, arch, "f32");
    auto fast = load(path, matmul_backend_onednn);
    auto ref = load(path, matmul_backend_reference);
    std::vector<int32_t> ids = k_ids;
    if (arch == "llama") ids = {128000, 9906, 11, 1917, 0, 128006, 882, 128007, 271, 14924};
    double e = nmse(all_logits(*fast, ids), all_logits(*ref, ids));
    EXPECT_LT(e, 1e-10) << arch;
  }
}

// bf16 weights: both round linear inputs to bf16; a value near a rounding boundary may round
// differently after a different fp32 summation order, a 2^-9 relative change in a rare element.
TEST(Transformer, OnednnMatchesReferenceBf16) {
  temp_dir dir;
  auto path = make_tiny_model(dir, "qwen3", "bf16");
  auto fast = load(path, matmul_backend_onednn);
  auto ref = load(path, matmul_backend_reference);
  double e = nmse(all_logits(*fast, k_ids), all_logits(*ref, k_ids));
  EXPECT_LT(e, 1e-6);
}

// Decoding with the cache, one token or a chunk at a time, gives the rows of the full pass.
TEST(Transformer, KvCacheEqualsFullRecompute) {
  temp_dir dir;
  for (std::string dtype : {"f32", "bf16"}) {
    auto path = make_tiny_model(dir, "qwen2", dtype);
    auto m = load(path, matmul_backend_onednn);
    std::vector<float> full = all_logits(*m, k_ids);
    const int64_t V = m->config.vocab_size;
    for (std::vector<size_t> chunks : {std::vector<size_t>{1}, std::vector<size_t>{5, 4, 1}}) {
      kv_cache cache = kv_cache_create(m->config, 32);
      std::vector<float> stepped, logits;
      size_t at = 0, c = 0;
      while (at < k_ids.size()) {
        size_t n = std::min(chunks[std::min(c++, chunks.size() - 1)], k_ids.size() - at);
        ASSERT_TRUE(transformer_forward(*m, cache, std::span(k_ids).subspan(at, n), logits, true).ok());
        stepped.insert(stepped.end(), logits.begin(), logits.end());
        at += n;
      }
      ASSERT_EQ(stepped.size(), full.size());
      EXPECT_LT(nmse(stepped, full), dtype == "f32" ? 1e-10 : 1e-6) << dtype;
      // Last-position mode returns the last row.
      kv_cache again = kv_cache_create(m->config, 32);
      ASSERT_TRUE(transformer_forward(*m, again, k_ids, logits, false).ok());
      ASSERT_EQ(logits.size(), static_cast<size_t>(V));
      std::vector<float> last(full.end() - V, full.end());
      EXPECT_LT(nmse(logits, last), 1e-10);
    }
  }
}

// Truncating the cache and feeding a different continuation equals a fresh pass of that text.
TEST(Transformer, KvCacheTruncateReusesPrefix) {
  temp_dir dir;
  auto m = load(make_tiny_model(dir, "qwen3", "f32"), matmul_backend_onednn);
  kv_cache cache = kv_cache_create(m->config, 32);
  std::vector<float> logits;
  ASSERT_TRUE(transformer_forward(*m, cache, k_ids, logits).ok());
  kv_cache_truncate(cache, 6);
  std::vector<int32_t> tail = {42, 43, 44};
  ASSERT_TRUE(transformer_forward(*m, cache, tail, logits).ok());
  std::vector<int32_t> whole(k_ids.begin(), k_ids.begin() + 6);
  whole.insert(whole.end(), tail.begin(), tail.end());
  kv_cache fresh = kv_cache_create(m->config, 32);
  std::vector<float> expect;
  ASSERT_TRUE(transformer_forward(*m, fresh, whole, expect).ok());
  EXPECT_LT(nmse(logits, expect), 1e-10);
}

TEST(Transformer, BadTokensAndFullCacheAreErrors) {
  temp_dir dir;
  auto m = load(make_tiny_model(dir, "qwen3", "bf16"), matmul_backend_onednn);
  kv_cache cache = kv_cache_create(m->config, 4);
  std::vector<float> logits;
  std::vector<int32_t> bad = {1, 999999};
  auto s = transformer_forward(*m, cache, bad, logits);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "token id 999999 is outside the model's vocabulary (size 151669)");
  EXPECT_EQ(cache.length, 0);
  std::vector<int32_t> five = {1, 2, 3, 4, 5};
  s = transformer_forward(*m, cache, five, logits);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "context of 5 tokens exceeds the KV cache's 4 positions");
}

}  // namespace
}  // namespace smelt
