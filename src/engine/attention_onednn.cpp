// attention_onednn.h. Query blocks of k_block rows bound the score buffer (Q * block * keys floats);
// keys before a block's window are skipped, keys after its last position never computed. oneDNN's
// own primitive cache makes the repeated shapes (every layer) cheap to create.
#include "engine/attention_onednn.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <vector>

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
        float mx = -INFINITY;
        for (int64_t s = lo; s <= hi; ++s) mx = std::max(mx, row[s] * scale);
        float sum = 0;
        for (int64_t s = 0; s < Sn; ++s) {
          float e = (s >= lo && s <= hi) ? std::exp(row[s] * scale - mx) : 0.0f;
          row[s] = e;
          sum += e;
        }
        const float inv = 1.0f / sum;
        for (int64_t s = lo; s <= hi; ++s) row[s] *= inv;
      }
    }
    // out (KV, G, Tb, D) = p (KV, G, Tb, Sn) · v (KV, 1, Sn, D)
    batched_matmul(engine, stream, out + t0 * Q * D, {KV, G, Tb, D}, {G * D, D, Q * D, 1}, scores.data(),
                   {KV, G, Tb, Sn}, {G * Tb * Sn, Tb * Sn, Sn, 1}, v + first * KV * D, {KV, 1, Sn, D},
                   {D, D, KV * D, 1});
  }
}

}  // namespace smelt
