// lora.h: the LoRA branch as two thin fp32 matmuls (matmul_f32) around an optional dropout of its
// input. The dropout mask is drawn in parallel from a counter-based hash keyed by one draw of the
// caller's RNG, so a seed reproduces it whatever the thread count. Choosing targets, merging and
// saving adapters are the trainer's and model/adapter.h's business.
#include "engine/lora.h"

#include <fmt/format.h>

#include <cassert>
#include <cmath>

#include "core/random.h"

namespace smelt {

lora_weights lora_create(int64_t rank, int64_t in, int64_t out, float scale, std::mt19937_64& rng) {
  lora_weights w;
  w.rank = rank;
  w.in = in;
  w.out = out;
  w.scale = scale;
  // kaiming_uniform_(a = sqrt(5)): gain sqrt(2 / (1 + a²)) = sqrt(1/3), bound gain·sqrt(3 / fan_in).
  const float bound = 1.0f / std::sqrt(static_cast<float>(in));
  std::uniform_real_distribution<float> dist(-bound, bound);
  w.A.resize(static_cast<size_t>(rank * in));
  for (auto& a : w.A) a = dist(rng);
  w.B.assign(static_cast<size_t>(out * rank), 0.0f);
  return w;
}

namespace {

// keep (n) = 1 with probability 1 - p: 16-bit uniforms u, four per hash, kept when u >= round(p·65536).
void dropout_mask(uint8_t* keep, int64_t n, float p, uint64_t seed) {
  const uint32_t threshold = static_cast<uint32_t>(std::lround(double(p) * 65536.0));
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t j = 0; j < (n + 3) / 4; ++j) {
    uint64_t bits = splitmix64_hash(seed ^ (static_cast<uint64_t>(j) * 0xd1342543de82ef95ull));
    for (int64_t l = 0; l < 4 && 4 * j + l < n; ++l)
      keep[4 * j + l] = ((bits >> (16 * l)) & 0xffffu) >= threshold;
  }
}

// xd (M, in) = x · keep · keep_scale.
void apply_dropout(float* xd, const float* x, const lora_saved& saved, int64_t n) {
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) xd[i] = saved.keep[i] ? x[i] * saved.keep_scale : 0.0f;
}

}  // namespace

void lora_forward(matmul_context& ctx, float* y, const float* x, const lora_weights& w, int64_t M,
                  float dropout, std::mt19937_64& rng, lora_saved& saved) {
  assert(dropout >= 0.0f && dropout < 1.0f);
  const int64_t n = M * w.in;
  saved.h.resize(static_cast<size_t>(M * w.rank));
  saved.keep.clear();
  saved.keep_scale = 1.0f;
  const float* a_in = x;
  static thread_local std::vector<float> kept;  // across calls: no fresh pages per call
  std::vector<float>& xd = kept;                // (OpenMP workers would see their own thread_local)
  if (dropout > 0.0f) {
    saved.keep.resize(static_cast<size_t>(n));
    saved.keep_scale = 1.0f / (1.0f - dropout);
    dropout_mask(saved.keep.data(), n, dropout, rng());
    xd.resize(static_cast<size_t>(n));
    apply_dropout(xd.data(), x, saved, n);
    a_in = xd.data();
  }
  // h (M, r) = drop(x) · Aᵀ;  y (M, out) += scale · h · Bᵀ
  matmul_f32(ctx, saved.h.data(), a_in, w.A.data(), M, w.rank, w.in, false, true, 1.0f, 0.0f);
  matmul_f32(ctx, y, saved.h.data(), w.B.data(), M, w.out, w.rank, false, true, w.scale, 1.0f);
}

void lora_backward(matmul_context& ctx, float* dx, float* dA, float* dB, const float* dy, const float* x,
                   const lora_weights& w, const lora_saved& saved, int64_t M) {
  const int64_t n = M * w.in;
  // dB (out, r) += scale · dyᵀ · h;  dh (M, r) = scale · dy · B
  matmul_f32(ctx, dB, dy, saved.h.data(), w.out, w.rank, M, true, false, w.scale, 1.0f);
  std::vector<float> dh(static_cast<size_t>(M * w.rank));
  matmul_f32(ctx, dh.data(), dy, w.B.data(), M, w.rank, w.out, false, false, w.scale, 0.0f);
  // dA (r, in) += dhᵀ · drop(x);  dx (M, in) += (dh · A) ⊙ keep · keep_scale
  const bool dropped = !saved.keep.empty();
  static thread_local std::vector<float> kept;  // across calls: no fresh pages per call
  std::vector<float>& tmp = kept;               // (OpenMP workers would see their own thread_local)
  const float* a_in = x;
  if (dropped) {
    tmp.resize(static_cast<size_t>(n));
    apply_dropout(tmp.data(), x, saved, n);
    a_in = tmp.data();
  }
  matmul_f32(ctx, dA, dh.data(), a_in, w.rank, w.in, M, true, false, 1.0f, 1.0f);
  if (!dx) return;
  if (!dropped) {
    matmul_f32(ctx, dx, dh.data(), w.A.data(), M, w.in, w.rank, false, false, 1.0f, 1.0f);
    return;
  }
  matmul_f32(ctx, tmp.data(), dh.data(), w.A.data(), M, w.in, w.rank, false, false, 1.0f, 0.0f);
  const float ks = saved.keep_scale;
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) dx[i] += saved.keep[i] ? tmp[i] * ks : 0.0f;
}

namespace {
const char* const k_lora_target_names[lora_target_count] = {"q_proj",    "k_proj",  "v_proj",   "o_proj",
                                                            "gate_proj", "up_proj", "down_proj"};
}  // namespace

const char* lora_target_name(lora_target t) {
  return k_lora_target_names[t];
}

lora_target lora_target_from_module(const std::string& module) {
  for (int i = 0; i < lora_target_count; ++i)
    if (module == k_lora_target_names[i]) return static_cast<lora_target>(i);
  return lora_target_count;
}

result<std::array<bool, lora_target_count>> lora_targets_parse(const std::string& text) {
  std::array<bool, lora_target_count> set{};
  if (text == "all") return std::array<bool, lora_target_count>{true, true, true, true, true, true, true};
  size_t start = 0;
  bool any = false;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(start, end - start);
    start = end + 1;
    if (item.empty()) continue;
    bool found = false;
    for (int t = 0; t < lora_target_count; ++t) {
      std::string name = lora_target_name(static_cast<lora_target>(t));
      if (item == name || item + "_proj" == name) set[t] = found = any = true;
    }
    if (!found)
      return make_error(
          fmt::format("targets: unknown module '{}' (expected q,k,v,o,gate,up,down or all)", item));
  }
  if (!any) return make_error("targets: no module named");
  return set;
}

}  // namespace smelt
