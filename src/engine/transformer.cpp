// transformer.h: weight binding and the layer loop. Per layer (HF modeling_llama / qwen2 / qwen3):
//   h = x + o_proj(attention(rope(qk_norm(q_proj(n))), rope(qk_norm(k_proj(n))), v_proj(n))),  n = rmsnorm(x)
//   x' = h + down_proj(silu(gate_proj(m)) * up_proj(m)),                                       m = rmsnorm(h)
// then a final rmsnorm and lm_head; with an adapter each adapted linear adds scale·B(A·in) to its
// output (after the bias, before qk-norm and RoPE). Training's activations and backward are src/train's.
#include "engine/transformer.h"

#include <fmt/format.h>

#include <cstring>

#include "engine/attention_onednn.h"
#include "engine/bf16.h"
#include "engine/lora_adapter_set.h"
#include "engine/ops.h"

namespace smelt {

kv_cache kv_cache_create(const model_config& config, int64_t capacity) {
  kv_cache cache;
  cache.capacity = capacity;
  cache.width = config.num_key_value_heads * config.head_dim;
  cache.k.assign(static_cast<size_t>(config.num_hidden_layers), {});
  cache.v.assign(static_cast<size_t>(config.num_hidden_layers), {});
  return cache;
}

void kv_cache_truncate(kv_cache& cache, int64_t length) {
  cache.length = std::min(cache.length, std::max<int64_t>(0, length));
  cache.tokens.resize(static_cast<size_t>(cache.length));
  if (cache.length == 0) cache.adapter_id = 0;
}

namespace {

std::vector<float> to_floats(const tensor_view& t) {
  std::vector<float> out(static_cast<size_t>(t.numel()));
  for (size_t i = 0; i < out.size(); ++i) out[i] = t.element(i);
  return out;
}

// A matrix over tensor T: in place when its dtype is bf16/f32 and aligned, else an owned copy
// (F16 widened to f32, misaligned data copied).
weight_matrix bind_matrix(transformer& m, const tensor_view& t) {
  weight_matrix w;
  w.rows = t.shape[0];
  w.cols = t.shape.size() > 1 ? t.shape[1] : 1;
  if (t.dtype != tensor_dtype_f16 && t.aligned_for_dtype()) {
    w.dtype = t.dtype == tensor_dtype_bf16 ? weight_dtype_bf16 : weight_dtype_f32;
    w.data = t.data;
    return w;
  }
  auto& copy = m.owned.emplace_back();
  if (t.dtype == tensor_dtype_bf16) {
    copy.resize(t.size_bytes);
    std::memcpy(copy.data(), t.data, t.size_bytes);
    w.dtype = weight_dtype_bf16;
  } else {
    copy.resize(static_cast<size_t>(t.numel()) * sizeof(float));
    float* f = reinterpret_cast<float*>(copy.data());
    for (int64_t i = 0; i < t.numel(); ++i) f[i] = t.element(static_cast<size_t>(i));
    w.dtype = weight_dtype_f32;
  }
  w.data = copy.data();
  return w;
}

}  // namespace

result<std::unique_ptr<transformer>> transformer_create(model_dir dir, matmul_backend backend) {
  auto m = std::make_unique<transformer>();
  m->dir = std::move(dir);
  m->config = m->dir.config;
  const model_config& c = m->config;
  const model_weights& w = m->dir.weights;
  m->embed_tokens = bind_matrix(*m, w.embed_tokens);
  m->lm_head = c.tie_word_embeddings ? m->embed_tokens : bind_matrix(*m, w.lm_head);
  m->norm = to_floats(w.norm);
  for (const layer_weights& lw : w.layers) {
    transformer_layer& l = m->layers.emplace_back();
    l.q_proj = bind_matrix(*m, lw.q_proj);
    l.k_proj = bind_matrix(*m, lw.k_proj);
    l.v_proj = bind_matrix(*m, lw.v_proj);
    l.o_proj = bind_matrix(*m, lw.o_proj);
    l.gate_proj = bind_matrix(*m, lw.gate_proj);
    l.up_proj = bind_matrix(*m, lw.up_proj);
    l.down_proj = bind_matrix(*m, lw.down_proj);
    l.input_layernorm = to_floats(lw.input_layernorm);
    l.post_attention_layernorm = to_floats(lw.post_attention_layernorm);
    if (lw.q_bias) l.q_bias = to_floats(*lw.q_bias);
    if (lw.k_bias) l.k_bias = to_floats(*lw.k_bias);
    if (lw.v_bias) l.v_bias = to_floats(*lw.v_bias);
    if (lw.o_bias) l.o_bias = to_floats(*lw.o_bias);
    if (lw.q_norm) l.q_norm = to_floats(*lw.q_norm);
    if (lw.k_norm) l.k_norm = to_floats(*lw.k_norm);
  }
  rope_llama3_scaling scaling;
  if (c.rope_scaling.type == rope_scaling_llama3) {
    scaling.factor = c.rope_scaling.factor;
    scaling.low_freq_factor = c.rope_scaling.low_freq_factor;
    scaling.high_freq_factor = c.rope_scaling.high_freq_factor;
    scaling.original_max_position_embeddings =
        static_cast<double>(c.rope_scaling.original_max_position_embeddings);
  }
  m->inv_freq.resize(static_cast<size_t>(c.head_dim / 2));
  rope_inv_freq(m->inv_freq.data(), c.head_dim, c.rope_theta, scaling);
  m->matmul = std::make_unique<matmul_context>(backend);
  return m;
}

status transformer_forward(transformer& model, kv_cache& cache, std::span<const int32_t> tokens,
                           std::vector<float>& logits, bool all_positions, const lora_adapter_set* adapter) {
  const model_config& c = model.config;
  const int64_t T = static_cast<int64_t>(tokens.size()), P = cache.length;
  const int64_t C = c.hidden_size, D = c.head_dim, Q = c.num_attention_heads, KV = c.num_key_value_heads;
  const int64_t I = c.intermediate_size, V = c.vocab_size, W = cache.width;
  const float eps = static_cast<float>(c.rms_norm_eps);
  if (T == 0) return {};
  if (P + T > cache.capacity)
    return make_error(
        fmt::format("context of {} tokens exceeds the KV cache's {} positions", P + T, cache.capacity));
  for (int32_t id : tokens)
    if (id < 0 || id >= V)
      return make_error(fmt::format("token id {} is outside the model's vocabulary (size {})", id, V));
  const uint64_t adapter_id = adapter ? adapter->id : 0;
  if (P > 0 && cache.adapter_id != adapter_id)
    return make_error(
        fmt::format("the KV cache holds {} positions computed with {} but this call uses {}; clear it first",
                    P, cache.adapter_id ? "another adapter" : "the base model",
                    adapter ? "adapter " + adapter->source : std::string("the base model")));
  if (adapter && adapter->layers.size() != model.layers.size())
    return make_error(fmt::format("adapter {} has {} layers but the model has {}", adapter->source,
                                  adapter->layers.size(), model.layers.size()));

  for (size_t li = 0; li < cache.k.size(); ++li) {
    const size_t need = static_cast<size_t>((P + T) * W);
    if (cache.k[li].size() < need) {
      // Grow geometrically so token-by-token decoding does not copy the cache every step.
      size_t grown =
          std::min(static_cast<size_t>(cache.capacity * W), std::max(need, cache.k[li].size() * 2));
      cache.k[li].resize(grown);
      cache.v[li].resize(grown);
    }
  }

  transformer_scratch& s = model.scratch;
  auto fit = [](std::vector<float>& b, int64_t n) {
    if (b.size() < static_cast<size_t>(n)) b.resize(static_cast<size_t>(n));
    return b.data();
  };
  float* x = fit(s.x, T * C);      // residual stream (T, C)
  float* xn = fit(s.xn, T * C);    // normed input of a block (T, C)
  float* q = fit(s.q, T * Q * D);  // (T, Q, D)
  float* att = fit(s.att, T * Q * D);
  float* proj = fit(s.proj, T * C);
  float* gate = fit(s.gate, T * I);
  float* up = fit(s.up, T * I);
  s.positions.resize(static_cast<size_t>(T));
  for (int64_t t = 0; t < T; ++t) s.positions[t] = P + t;
  matmul_context& mm = *model.matmul;
  // y (T, out) += scale · B (A x) for LAYER's TARGET when the adapter has it; no dropout.
  std::mt19937_64 no_rng;  // unused: lora_forward draws only when dropout > 0
  auto lora = [&](size_t layer, lora_target target, float* y, const float* in) {
    if (!adapter) return;
    if (const lora_weights* w = lora_adapter_set_find(*adapter, layer, target))
      lora_forward(mm, y, in, *w, T, 0.0f, no_rng, s.lora);
  };

  embedding_forward(x, model.embed_tokens, tokens.data(), T);
  for (size_t li = 0; li < model.layers.size(); ++li) {
    const transformer_layer& l = model.layers[li];
    float* k = cache.k[li].data() + P * W;  // this call's keys/values go straight into the cache
    float* v = cache.v[li].data() + P * W;
    rmsnorm_forward(xn, nullptr, x, l.input_layernorm.data(), T, C, eps);
    linear_forward(mm, q, xn, l.q_proj, l.q_bias.empty() ? nullptr : l.q_bias.data(), T);
    linear_forward(mm, k, xn, l.k_proj, l.k_bias.empty() ? nullptr : l.k_bias.data(), T);
    linear_forward(mm, v, xn, l.v_proj, l.v_bias.empty() ? nullptr : l.v_bias.data(), T);
    lora(li, lora_target_q, q, xn);
    lora(li, lora_target_k, k, xn);
    lora(li, lora_target_v, v, xn);
    if (!l.q_norm.empty()) {
      rmsnorm_forward(q, nullptr, q, l.q_norm.data(), T * Q, D, eps);
      rmsnorm_forward(k, nullptr, k, l.k_norm.data(), T * KV, D, eps);
    }
    rope_forward(q, s.positions.data(), model.inv_freq.data(), T, Q, D);
    rope_forward(k, s.positions.data(), model.inv_freq.data(), T, KV, D);
    // Prompts go through oneDNN matmuls; one-token steps and the reference backend use the plain loop.
    if (mm.backend() == matmul_backend_onednn && T >= 8) {
      attention_forward_onednn(mm, att, q, cache.k[li].data(), cache.v[li].data(), T, P, Q, KV, D,
                               c.sliding_window);
    } else {
      attention_forward(att, q, cache.k[li].data(), cache.v[li].data(), T, P, Q, KV, D, c.sliding_window);
    }
    linear_forward(mm, proj, att, l.o_proj, l.o_bias.empty() ? nullptr : l.o_bias.data(), T);
    lora(li, lora_target_o, proj, att);
    residual_forward(x, proj, T * C);

    rmsnorm_forward(xn, nullptr, x, l.post_attention_layernorm.data(), T, C, eps);
    linear_forward(mm, gate, xn, l.gate_proj, nullptr, T);
    linear_forward(mm, up, xn, l.up_proj, nullptr, T);
    lora(li, lora_target_gate, gate, xn);
    lora(li, lora_target_up, up, xn);
    swiglu_forward(gate, gate, up, T * I);
    linear_forward(mm, proj, gate, l.down_proj, nullptr, T);
    lora(li, lora_target_down, proj, gate);
    residual_forward(x, proj, T * C);
  }
  cache.length = P + T;
  cache.adapter_id = adapter_id;
  cache.tokens.insert(cache.tokens.end(), tokens.begin(), tokens.end());

  const int64_t rows = all_positions ? T : 1;
  const float* last = x + (T - rows) * C;
  rmsnorm_forward(xn, nullptr, last, model.norm.data(), rows, C, eps);
  logits.resize(static_cast<size_t>(rows * V));
  linear_forward(mm, logits.data(), xn, model.lm_head, nullptr, rows);
  return {};
}

}  // namespace smelt
