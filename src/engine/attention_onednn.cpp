// attention_onednn.h. Query blocks of k_block rows bound the score buffer (Q * block * keys floats);
// keys before a block's window are skipped, keys after its last position never computed. oneDNN's
// own primitive cache makes the repeated shapes (every layer) cheap to create.
#include "engine/attention_onednn.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <unordered_map>
#include <vector>

#include "engine/bf16.h"
#include "engine/cpu_isa.h"
#include "engine/simd.h"
#include "engine/vec_exp.h"

namespace smelt {

namespace {

constexpr int64_t k_block = 128;

using dims = dnnl::memory::dims;

using dt = dnnl::memory::data_type;

// Copies of operands rounded to bf16, the inputs of PyTorch autocast's bf16 matmuls: bf16 values where
// oneDNN multiplies bf16, else fp32 values holding the same roundings. A product of two bf16 values is
// exact in fp32 and sums stay fp32 either way, so both give the same numbers up to summation order.
struct rounded_view {
  std::byte* data = nullptr;  // null: no copy, the matmul reads the fp32 values themselves
  int64_t element = 0;        // bytes per element: 2 (bf16) or 4 (fp32)
  rounded_view operator+(int64_t offset) const { return {data ? data + offset * element : nullptr, element}; }
};

// Storage for N rounded elements in CTX's scratch (none when !ROUND), and the element type it holds.
struct rounded_store {
  rounded_view base;
  dt type = dt::f32;
};

rounded_store rounded_store_make(matmul_context& ctx, bool round, int64_t n) {
  if (!round) return {};
  if (cpu_bf16_matmul_native()) {
    std::vector<uint16_t>& half = ctx.attention_bf16_scratch();
    half.resize(static_cast<size_t>(n));
    return {{reinterpret_cast<std::byte*>(half.data()), 2}, dt::bf16};
  }
  std::vector<float>& wide = ctx.attention_rounded_scratch();
  wide.resize(static_cast<size_t>(n));
  return {{reinterpret_cast<std::byte*>(wide.data()), 4}, dt::f32};
}

// out (n) = bf16 rounding of in (n), in parallel blocks.
void round_into(rounded_view out, const float* in, int64_t n) {
  constexpr int64_t block = 4096;
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < n; b += block) {
    const size_t m = static_cast<size_t>(std::min(block, n - b));
    if (out.element == 2)
      float_row_to_bf16(reinterpret_cast<uint16_t*>(out.data) + b, in + b, m);
    else
      float_row_round_bf16(reinterpret_cast<float*>(out.data) + b, in + b, m);
  }
}

// What a matmul reads at OFFSET elements: the rounded copy when there is one, else the fp32 values.
const void* operand(const float* f32, rounded_view rounded, int64_t offset) {
  return rounded.data ? static_cast<const void*>((rounded + offset).data) : f32 + offset;
}

// dst (fp32) = alpha · src · wei + beta · dst on views of any rank of fp32 or bf16 (IN) values;
// strides give transposes, batch dims of size 1 in wei broadcast. beta 0 never reads dst.
void batched_matmul(const dnnl::engine& engine, dnnl::stream& stream, float* dst, const dims& dst_dims,
                    const dims& dst_strides, const void* src, const dims& src_dims, const dims& src_strides,
                    const void* wei, const dims& wei_dims, const dims& wei_strides, dt in, float alpha = 1.0f,
                    float beta = 0.0f) {
  dnnl::memory::desc src_md(src_dims, in, src_strides), wei_md(wei_dims, in, wei_strides),
      dst_md(dst_dims, dt::f32, dst_strides);
  dnnl::primitive_attr attr;
  if (alpha != 1.0f) attr.set_output_scales(0, {alpha});
  if (beta != 0.0f) {
    dnnl::post_ops ops;
    ops.append_sum(beta);
    attr.set_post_ops(ops);
  }
  dnnl::matmul prim(dnnl::matmul::primitive_desc(dnnl::matmul::desc(src_md, wei_md, dst_md), attr, engine));
  prim.execute(stream, {{DNNL_ARG_SRC, dnnl::memory(src_md, engine, const_cast<void*>(src))},
                        {DNNL_ARG_WEIGHTS, dnnl::memory(wei_md, engine, const_cast<void*>(wei))},
                        {DNNL_ARG_DST, dnnl::memory(dst_md, engine, dst)}});
  stream.wait();
}

// One row of the forward: row (n) <- softmax of row·scale over [lo, hi], zero elsewhere.
SMELT_KERNEL void softmax_row_body(float* row, int64_t lo, int64_t hi, int64_t n, float scale) {
  float mx = -INFINITY;
#pragma omp simd reduction(max : mx)
  for (int64_t s = lo; s <= hi; ++s) mx = std::max(mx, row[s] * scale);
  float sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int64_t s = lo; s <= hi; ++s) {
    row[s] = vec_exp(row[s] * scale - mx);
    sum += row[s];
  }
  const float inv = 1.0f / sum;
#pragma omp simd
  for (int64_t s = lo; s <= hi; ++s) row[s] *= inv;
  std::fill(row, row + lo, 0.0f);
  std::fill(row + hi + 1, row + n, 0.0f);
}
SMELT_DISPATCH(void, softmax_row, (float* row, int64_t lo, int64_t hi, int64_t n, float scale),
               (row, lo, hi, n, scale))

// One row of the backward: p (n) <- softmax_row of p, then d (n) <- p ⊙ (d - Σ p ⊙ d) over [lo, hi],
// zero elsewhere (d holds dP on entry, dS on exit).
SMELT_KERNEL void softmax_backward_row_body(float* p, float* d, int64_t lo, int64_t hi, int64_t n,
                                            float scale) {
  softmax_row_body(p, lo, hi, n, scale);
  float delta = 0;
#pragma omp simd reduction(+ : delta)
  for (int64_t s = lo; s <= hi; ++s) delta += p[s] * d[s];
#pragma omp simd
  for (int64_t s = lo; s <= hi; ++s) d[s] = p[s] * (d[s] - delta);
  std::fill(d, d + lo, 0.0f);
  std::fill(d + hi + 1, d + n, 0.0f);
}
SMELT_DISPATCH(void, softmax_backward_row,
               (float* p, float* d, int64_t lo, int64_t hi, int64_t n, float scale), (p, d, lo, hi, n, scale))

}  // namespace

void attention_forward_onednn(matmul_context& ctx, float* out, const float* q, const float* k, const float* v,
                              int64_t T, int64_t P, int64_t Q, int64_t KV, int64_t D, int64_t window,
                              attention_inputs inputs) {
  static thread_local dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  static thread_local dnnl::stream stream(engine);
  const int64_t G = Q / KV;
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  const bool bf16 = inputs == attention_inputs_bf16;
  std::vector<float>& scores = ctx.attention_scratch();
  // bf16: q, k, v rounded once, then each block's probabilities.
  const int64_t nq = T * Q * D, nk = (P + T) * KV * D;
  const rounded_store store = rounded_store_make(ctx, bf16, nq + 2 * nk + Q * std::min(k_block, T) * (P + T));
  const rounded_view qh = store.base, kh = qh + nq, vh = kh + nk, ph = vh + nk;
  if (bf16) {
    round_into(qh, q, nq);
    round_into(kh, k, nk);
    round_into(vh, v, nk);
  }
  const dt in = store.type;
  for (int64_t t0 = 0; t0 < T; t0 += k_block) {
    const int64_t Tb = std::min(k_block, T - t0);
    const int64_t first = window > 0 ? std::max<int64_t>(0, P + t0 - window + 1) : 0;
    const int64_t last = P + t0 + Tb;  // exclusive
    const int64_t Sn = last - first;
    scores.resize(static_cast<size_t>(Q * Tb * Sn));
    // scores (KV, G, Tb, Sn) = q (KV, G, Tb, D) · kᵀ (KV, 1, D, Sn)
    batched_matmul(engine, stream, scores.data(), {KV, G, Tb, Sn}, {G * Tb * Sn, Tb * Sn, Sn, 1},
                   operand(q, qh, t0 * Q * D), {KV, G, Tb, D}, {G * D, D, Q * D, 1},
                   operand(k, kh, first * KV * D), {KV, 1, D, Sn}, {D, D, 1, KV * D}, in);
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t h = 0; h < Q; ++h) {
      for (int64_t t = 0; t < Tb; ++t) {
        float* row = scores.data() + (h * Tb + t) * Sn;
        const int64_t pos = P + t0 + t;
        const int64_t lo = (window > 0 ? std::max<int64_t>(0, pos - window + 1) : 0) - first,
                      hi = pos - first;
        softmax_row(row, lo, hi, Sn, scale);
      }
    }
    if (bf16) round_into(ph, scores.data(), Q * Tb * Sn);
    // out (KV, G, Tb, D) = p (KV, G, Tb, Sn) · v (KV, 1, Sn, D)
    batched_matmul(engine, stream, out + t0 * Q * D, {KV, G, Tb, D}, {G * D, D, Q * D, 1},
                   operand(scores.data(), ph, 0), {KV, G, Tb, Sn}, {G * Tb * Sn, Tb * Sn, Sn, 1},
                   operand(v, vh, first * KV * D), {KV, 1, Sn, D}, {D, D, KV * D, 1}, in);
  }
}

// Per query block [t0, t0+Tb) and its keys [first, last): the block's q and dout are gathered head-major
// (KV, G, Tb, D) so that (group head, query) merge into one contraction index of stride D for dk/dv.
// Scratch: P and dS (Q·Tb·keys floats each) plus the two gathered blocks.
void attention_backward_onednn(matmul_context& ctx, float* dq, float* dk, float* dv, const float* dout,
                               const float* q, const float* k, const float* v, int64_t T, int64_t Q,
                               int64_t KV, int64_t D, int64_t window, attention_inputs inputs) {
  static thread_local dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  static thread_local dnnl::stream stream(engine);
  const int64_t G = Q / KV;
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  const bool bf16 = inputs == attention_inputs_bf16;
  std::vector<float>& scratch = ctx.attention_scratch();
  // bf16: k and v rounded once; per block the gathered q and dO, then dS.
  const int64_t nk = T * KV * D, nb = Q * std::min(k_block, T) * D;
  const rounded_store store = rounded_store_make(ctx, bf16, 2 * nk + 2 * nb + Q * std::min(k_block, T) * T);
  const rounded_view kh = store.base, vh = kh + nk, qbh = vh + nk, gbh = qbh + nb, dsh = gbh + nb;
  if (bf16) {
    round_into(kh, k, nk);
    round_into(vh, v, nk);
  }
  const dt in = store.type;
  for (int64_t t0 = 0; t0 < T; t0 += k_block) {
    const int64_t Tb = std::min(k_block, T - t0);
    const int64_t first = window > 0 ? std::max<int64_t>(0, t0 - window + 1) : 0;
    const int64_t Sn = t0 + Tb - first;
    scratch.resize(static_cast<size_t>(2 * Q * Tb * Sn + 2 * Q * Tb * D));
    float* p = scratch.data();
    float* ds = p + Q * Tb * Sn;
    float* qb = ds + Q * Tb * Sn;
    float* gb = qb + Q * Tb * D;
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t h = 0; h < Q; ++h) {
      for (int64_t t = 0; t < Tb; ++t) {
        std::copy_n(q + ((t0 + t) * Q + h) * D, D, qb + (h * Tb + t) * D);
        std::copy_n(dout + ((t0 + t) * Q + h) * D, D, gb + (h * Tb + t) * D);
      }
    }
    if (bf16) {
      round_into(qbh, qb, Q * Tb * D);
      round_into(gbh, gb, Q * Tb * D);
    }
    const dims blk_dims = {KV, G, Tb, D}, blk_strides = {G * Tb * D, Tb * D, D, 1};
    const dims sc_dims = {KV, G, Tb, Sn}, sc_strides = {G * Tb * Sn, Tb * Sn, Sn, 1};
    const dims kt_dims = {KV, 1, D, Sn}, kt_strides = {D, D, 1, KV * D};  // k or v read transposed
    // p = qb · kᵀ (unscaled scores), ds = dO · vᵀ (dP)
    batched_matmul(engine, stream, p, sc_dims, sc_strides, operand(qb, qbh, 0), blk_dims, blk_strides,
                   operand(k, kh, first * KV * D), kt_dims, kt_strides, in);
    batched_matmul(engine, stream, ds, sc_dims, sc_strides, operand(gb, gbh, 0), blk_dims, blk_strides,
                   operand(v, vh, first * KV * D), kt_dims, kt_strides, in);
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t h = 0; h < Q; ++h) {
      for (int64_t t = 0; t < Tb; ++t) {
        float* prow = p + (h * Tb + t) * Sn;
        float* drow = ds + (h * Tb + t) * Sn;
        const int64_t pos = t0 + t;
        const int64_t lo = (window > 0 ? std::max<int64_t>(0, pos - window + 1) : 0) - first,
                      hi = pos - first;
        softmax_backward_row(prow, drow, lo, hi, Sn, scale);
      }
    }
    if (bf16) round_into(dsh, ds, Q * Tb * Sn);
    // dq (KV, G, Tb, D) += scale · dS · k
    batched_matmul(engine, stream, dq + t0 * Q * D, blk_dims, {G * D, D, Q * D, 1}, operand(ds, dsh, 0),
                   sc_dims, sc_strides, operand(k, kh, first * KV * D), {KV, 1, Sn, D}, {D, D, KV * D, 1}, in,
                   scale, 1.0f);
    // dk (KV, Sn, D) += scale · dSᵀ (KV, Sn, G·Tb) · qb (KV, G·Tb, D); dv likewise from P and dO. These
    // read a transposed operand, which oneDNN's bf16 gemm runs no faster than fp32: they stay fp32.
    const dims t_dims = {KV, Sn, G * Tb}, t_strides = {G * Tb * Sn, 1, Sn};
    const dims g_dims = {KV, G * Tb, D}, g_strides = {G * Tb * D, D, 1};
    const dims kv_dims = {KV, Sn, D}, kv_strides = {D, KV * D, 1};
    batched_matmul(engine, stream, dk + first * KV * D, kv_dims, kv_strides, ds, t_dims, t_strides, qb,
                   g_dims, g_strides, dt::f32, scale, 1.0f);
    batched_matmul(engine, stream, dv + first * KV * D, kv_dims, kv_strides, p, t_dims, t_strides, gb, g_dims,
                   g_strides, dt::f32, 1.0f, 1.0f);
  }
}

}  // namespace smelt
