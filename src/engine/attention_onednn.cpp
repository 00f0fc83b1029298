// attention_onednn.h. Query blocks of k_block rows bound the score buffer (Q * block * keys floats);
// keys before a block's window are skipped, keys after its last position never computed. oneDNN's
// own primitive cache makes the repeated shapes (every layer) cheap to create.
#include "engine/attention_onednn.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <vector>

#include "engine/vec_exp.h"

namespace smelt {

namespace {

constexpr int64_t k_block = 128;

using dims = dnnl::memory::dims;

// dst = src · wei on 4-D fp32 views (batch dims of size 1 in wei broadcast).
void batched_matmul(const dnnl::engine& engine, dnnl::stream& stream, float* dst, const dims& dst_dims,
                    const dims& dst_strides, const float* src, const dims& src_dims, const dims& src_strides,
                    const float* wei, const dims& wei_dims, const dims& wei_strides) {
  using dt = dnnl::memory::data_type;
  dnnl::memory::desc src_md(src_dims, dt::f32, src_strides), wei_md(wei_dims, dt::f32, wei_strides),
      dst_md(dst_dims, dt::f32, dst_strides);
  dnnl::matmul prim(dnnl::matmul::primitive_desc(dnnl::matmul::desc(src_md, wei_md, dst_md), engine));
  prim.execute(stream, {{DNNL_ARG_SRC, dnnl::memory(src_md, engine, const_cast<float*>(src))},
                        {DNNL_ARG_WEIGHTS, dnnl::memory(wei_md, engine, const_cast<float*>(wei))},
                        {DNNL_ARG_DST, dnnl::memory(dst_md, engine, dst)}});
  stream.wait();
}

// dst = alpha · src · wei + beta · dst on fp32 views of any rank (strides give transposes).
void batched_matmul_acc(const dnnl::engine& engine, dnnl::stream& stream, float* dst, const dims& dst_dims,
                        const dims& dst_strides, const float* src, const dims& src_dims,
                        const dims& src_strides, const float* wei, const dims& wei_dims,
                        const dims& wei_strides, float alpha, float beta) {
  using dt = dnnl::memory::data_type;
  dnnl::memory::desc src_md(src_dims, dt::f32, src_strides), wei_md(wei_dims, dt::f32, wei_strides),
      dst_md(dst_dims, dt::f32, dst_strides);
  dnnl::primitive_attr attr;
  if (alpha != 1.0f) attr.set_output_scales(0, {alpha});
  if (beta != 0.0f) {
    dnnl::post_ops ops;
    ops.append_sum(beta);
    attr.set_post_ops(ops);
  }
  dnnl::matmul prim(dnnl::matmul::primitive_desc(dnnl::matmul::desc(src_md, wei_md, dst_md), attr, engine));
  prim.execute(stream, {{DNNL_ARG_SRC, dnnl::memory(src_md, engine, const_cast<float*>(src))},
                        {DNNL_ARG_WEIGHTS, dnnl::memory(wei_md, engine, const_cast<float*>(wei))},
                        {DNNL_ARG_DST, dnnl::memory(dst_md, engine, dst)}});
  stream.wait();
}

// One row of the backward: p (n) <- softmax of p·scale over [lo, hi] (zero elsewhere), then
// d (n) <- p ⊙ (d - Σ p ⊙ d) (d holds dP on entry, dS on exit). Vector loops, fp32 exp.
__attribute__((target_clones("avx512f", "avx2", "default"))) void softmax_backward_row(float* p, float* d,
                                                                                       int64_t lo, int64_t hi,
                                                                                       int64_t n,
                                                                                       float scale) {
  float mx = -INFINITY;
#pragma omp simd reduction(max : mx)
  for (int64_t s = lo; s <= hi; ++s) mx = std::max(mx, p[s] * scale);
  float sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int64_t s = lo; s <= hi; ++s) {
    p[s] = vec_exp(p[s] * scale - mx);
    sum += p[s];
  }
  const float inv = 1.0f / sum;
  float delta = 0;
#pragma omp simd reduction(+ : delta)
  for (int64_t s = lo; s <= hi; ++s) {
    p[s] *= inv;
    delta += p[s] * d[s];
  }
#pragma omp simd
  for (int64_t s = lo; s <= hi; ++s) d[s] = p[s] * (d[s] - delta);
  std::fill(p, p + lo, 0.0f);
  std::fill(d, d + lo, 0.0f);
  std::fill(p + hi + 1, p + n, 0.0f);
  std::fill(d + hi + 1, d + n, 0.0f);
}

// One row of the forward: row (n) <- softmax of row·scale over [lo, hi], zero elsewhere.
__attribute__((target_clones("avx512f", "avx2", "default"))) void softmax_row(float* row, int64_t lo,
                                                                              int64_t hi, int64_t n,
                                                                              float scale) {
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

}  // namespace

void attention_forward_onednn(matmul_context& ctx, float* out, const float* q, const float* k, const float* v,
                              int64_t T, int64_t P, int64_t Q, int64_t KV, int64_t D, int64_t window) {
  static thread_local dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  static thread_local dnnl::stream stream(engine);
  const int64_t G = Q / KV;
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  std::vector<float>& scores = ctx.attention_scratch();
  for (int64_t t0 = 0; t0 < T; t0 += k_block) {
    const int64_t Tb = std::min(k_block, T - t0);
    const int64_t first = window > 0 ? std::max<int64_t>(0, P + t0 - window + 1) : 0;
    const int64_t last = P + t0 + Tb;  // exclusive
    const int64_t Sn = last - first;
    scores.resize(static_cast<size_t>(Q * Tb * Sn));
    // scores (KV, G, Tb, Sn) = q (KV, G, Tb, D) · kᵀ (KV, 1, D, Sn)
    batched_matmul(engine, stream, scores.data(), {KV, G, Tb, Sn}, {G * Tb * Sn, Tb * Sn, Sn, 1},
                   q + t0 * Q * D, {KV, G, Tb, D}, {G * D, D, Q * D, 1}, k + first * KV * D, {KV, 1, D, Sn},
                   {D, D, 1, KV * D});
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
    // out (KV, G, Tb, D) = p (KV, G, Tb, Sn) · v (KV, 1, Sn, D)
    batched_matmul(engine, stream, out + t0 * Q * D, {KV, G, Tb, D}, {G * D, D, Q * D, 1}, scores.data(),
                   {KV, G, Tb, Sn}, {G * Tb * Sn, Tb * Sn, Sn, 1}, v + first * KV * D, {KV, 1, Sn, D},
                   {D, D, KV * D, 1});
  }
}

// Per query block [t0, t0+Tb) and its keys [first, last): the block's q and dout are gathered head-major
// (KV, G, Tb, D) so that (group head, query) merge into one contraction index of stride D for dk/dv.
// Scratch: P and dS (Q·Tb·keys floats each) plus the two gathered blocks.
void attention_backward_onednn(matmul_context& ctx, float* dq, float* dk, float* dv, const float* dout,
                               const float* q, const float* k, const float* v, int64_t T, int64_t Q,
                               int64_t KV, int64_t D, int64_t window) {
  static thread_local dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  static thread_local dnnl::stream stream(engine);
  const int64_t G = Q / KV;
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  std::vector<float>& scratch = ctx.attention_scratch();
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
    const dims blk_dims = {KV, G, Tb, D}, blk_strides = {G * Tb * D, Tb * D, D, 1};
    const dims sc_dims = {KV, G, Tb, Sn}, sc_strides = {G * Tb * Sn, Tb * Sn, Sn, 1};
    const dims kt_dims = {KV, 1, D, Sn}, kt_strides = {D, D, 1, KV * D};  // k or v read transposed
    // p = qb · kᵀ (unscaled scores), ds = dO · vᵀ (dP)
    batched_matmul(engine, stream, p, sc_dims, sc_strides, qb, blk_dims, blk_strides, k + first * KV * D,
                   kt_dims, kt_strides);
    batched_matmul(engine, stream, ds, sc_dims, sc_strides, gb, blk_dims, blk_strides, v + first * KV * D,
                   kt_dims, kt_strides);
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
    // dq (KV, G, Tb, D) += scale · dS · k
    batched_matmul_acc(engine, stream, dq + t0 * Q * D, blk_dims, {G * D, D, Q * D, 1}, ds, sc_dims,
                       sc_strides, k + first * KV * D, {KV, 1, Sn, D}, {D, D, KV * D, 1}, scale, 1.0f);
    // dk (KV, Sn, D) += scale · dSᵀ (KV, Sn, G·Tb) · qb (KV, G·Tb, D); dv likewise from P and dO.
    const dims t_dims = {KV, Sn, G * Tb}, t_strides = {G * Tb * Sn, 1, Sn};
    const dims g_dims = {KV, G * Tb, D}, g_strides = {G * Tb * D, D, 1};
    const dims kv_dims = {KV, Sn, D}, kv_strides = {D, KV * D, 1};
    batched_matmul_acc(engine, stream, dk + first * KV * D, kv_dims, kv_strides, ds, t_dims, t_strides, qb,
                       g_dims, g_strides, scale, 1.0f);
    batched_matmul_acc(engine, stream, dv + first * KV * D, kv_dims, kv_strides, p, t_dims, t_strides, gb,
                       g_dims, g_strides, 1.0f, 1.0f);
  }
}

}  // namespace smelt
