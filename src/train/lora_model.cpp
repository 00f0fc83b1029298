// lora_model.h. The layer below is transformer.cpp's layer with two changes: every adapted linear
// adds its LoRA branch, and attention runs per packed sample from position 0. Backward per layer:
//   x_out = h + down(swiglu(gate(n2), up(n2))),  n2 = rmsnorm(h)
//   h     = x + o(attention(rope(qk_norm(q(n1))), rope(qk_norm(k(n1))), v(n1))),  n1 = rmsnorm(x)
// walked in reverse with the ops' *_backward functions; only LoRA parameters receive gradients.
#include "train/lora_model.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/random.h"
#include "engine/attention_onednn.h"
#include "engine/cross_entropy.h"
#include "engine/ops.h"
#include "engine/ops_backward.h"

namespace smelt {

float lora_options::scale() const {
  return static_cast<float>(rslora ? alpha / std::sqrt(static_cast<double>(rank))
                                   : alpha / static_cast<double>(rank));
}

namespace {

// The frozen weight of target T in layer L.
const weight_matrix& target_weight(const transformer_layer& l, lora_target t) {
  switch (t) {
    case lora_target_q:
      return l.q_proj;
    case lora_target_k:
      return l.k_proj;
    case lora_target_v:
      return l.v_proj;
    case lora_target_o:
      return l.o_proj;
    case lora_target_gate:
      return l.gate_proj;
    case lora_target_up:
      return l.up_proj;
    default:
      return l.down_proj;
  }
}

const float* bias_or_null(const std::vector<float>& b) {
  return b.empty() ? nullptr : b.data();
}

// Everything one layer's forward computes that its backward reads.
struct layer_acts {
  std::vector<float> n1, rstd1, q_pre, k_pre, rstd_q, rstd_k, q, k, v, att, h, n2, rstd2, gate, up, act;
  std::array<lora_saved, lora_target_count> lora;

  int64_t bytes() const {
    size_t n = 0;
    for (const auto* b :
         {&n1, &rstd1, &q_pre, &k_pre, &rstd_q, &rstd_k, &q, &k, &v, &att, &h, &n2, &rstd2, &gate, &up, &act})
      n += b->size() * sizeof(float);
    for (const auto& s : lora) n += s.h.size() * sizeof(float) + s.keep.size();
    return static_cast<int64_t>(n);
  }
};

// Scratch gradients of one layer's backward.
struct layer_grads {
  std::vector<float> dn1, dq, dk, dv, datt, dh, dn2, dgate, dup, dact, dq_pre, dk_pre;
};

float* fit(std::vector<float>& b, int64_t n) {
  b.resize(static_cast<size_t>(n));  // keeps the capacity of an earlier, larger batch
  return b.data();
}

float* zeroed(std::vector<float>& b, int64_t n) {
  float* p = fit(b, n);
  std::memset(p, 0, sizeof(float) * static_cast<size_t>(n));
  return p;
}

struct trainer_context {
  lora_model& m;
  const packed_batch& batch;
  float dropout;  // 0 in evaluation
  uint64_t seed;
};

// y = W x (+ bias) (+ LoRA branch).
void adapted_linear(trainer_context& c, float* y, const float* x, size_t layer, lora_target t,
                    const float* bias, int64_t N, layer_acts& a) {
  const transformer_layer& l = c.m.base->layers[layer];
  matmul_context& mm = *c.m.base->matmul;
  linear_forward(mm, y, x, target_weight(l, t), bias, N);
  auto& p = c.m.layers[layer][t];
  if (!p) return;
  std::mt19937_64 rng(splitmix64_hash(c.seed ^ splitmix64_hash(layer * lora_target_count + t)));
  lora_forward(mm, y, x, p->w, N, c.dropout, rng, a.lora[t]);
}

// dx (+)= dy · W, plus the LoRA branch's input gradient and its parameter gradients.
void adapted_linear_backward(trainer_context& c, float* dx, const float* dy, const float* x, size_t layer,
                             lora_target t, int64_t N, layer_acts& a, bool accumulate) {
  const transformer_layer& l = c.m.base->layers[layer];
  matmul_context& mm = *c.m.base->matmul;
  linear_backward_input(mm, dx, dy, target_weight(l, t), N, accumulate);
  auto& p = c.m.layers[layer][t];
  if (p) lora_backward(mm, dx, p->dA.data(), p->dB.data(), dy, x, p->w, a.lora[t], N);
}

// Training a bf16 model multiplies attention's bf16 roundings (fp32 softmax and sums), as PyTorch's
// bf16 autocast does; an fp32 model keeps fp32 throughout (the numerics tests' path).
attention_inputs attention_precision(const transformer& base) {
  return target_weight(base.layers[0], lora_target_q).dtype == weight_dtype_bf16 ? attention_inputs_bf16
                                                                                 : attention_inputs_f32;
}

void attention_segments(trainer_context& c, float* att, const float* q, const float* k, const float* v) {
  const model_config& cfg = c.m.base->config;
  const int64_t Q = cfg.num_attention_heads, KV = cfg.num_key_value_heads, D = cfg.head_dim;
  matmul_context& mm = *c.m.base->matmul;
  const auto& starts = c.batch.sample_starts;
  for (size_t s = 0; s + 1 < starts.size(); ++s) {
    const int64_t s0 = starts[s], T = starts[s + 1] - starts[s];
    if (mm.backend() == matmul_backend_onednn && T >= 8) {
      attention_forward_onednn(mm, att + s0 * Q * D, q + s0 * Q * D, k + s0 * KV * D, v + s0 * KV * D, T, 0,
                               Q, KV, D, cfg.sliding_window, attention_precision(*c.m.base));
    } else {
      attention_forward(att + s0 * Q * D, q + s0 * Q * D, k + s0 * KV * D, v + s0 * KV * D, T, 0, Q, KV, D,
                        cfg.sliding_window);
    }
  }
}

void attention_segments_backward(trainer_context& c, float* dq, float* dk, float* dv, const float* datt,
                                 const float* q, const float* k, const float* v) {
  const model_config& cfg = c.m.base->config;
  const int64_t Q = cfg.num_attention_heads, KV = cfg.num_key_value_heads, D = cfg.head_dim;
  matmul_context& mm = *c.m.base->matmul;
  const auto& starts = c.batch.sample_starts;
  for (size_t s = 0; s + 1 < starts.size(); ++s) {
    const int64_t s0 = starts[s], T = starts[s + 1] - starts[s];
    float *q_grad = dq + s0 * Q * D, *k_grad = dk + s0 * KV * D, *v_grad = dv + s0 * KV * D;
    const float* dout = datt + s0 * Q * D;
    if (mm.backend() == matmul_backend_onednn && T >= 8) {
      attention_backward_onednn(mm, q_grad, k_grad, v_grad, dout, q + s0 * Q * D, k + s0 * KV * D,
                                v + s0 * KV * D, T, Q, KV, D, cfg.sliding_window,
                                attention_precision(*c.m.base));
    } else {
      attention_backward(q_grad, k_grad, v_grad, dout, q + s0 * Q * D, k + s0 * KV * D, v + s0 * KV * D, T, Q,
                         KV, D, cfg.sliding_window);
    }
  }
}

// x (N, C) -> out (N, C) through layer L, keeping what the backward needs in A.
void layer_forward(trainer_context& c, size_t L, float* out, const float* x, layer_acts& a) {
  const transformer& base = *c.m.base;
  const model_config& cfg = base.config;
  const transformer_layer& l = base.layers[L];
  const int64_t N = static_cast<int64_t>(c.batch.ids.size()), C = cfg.hidden_size, D = cfg.head_dim;
  const int64_t Q = cfg.num_attention_heads, KV = cfg.num_key_value_heads, I = cfg.intermediate_size;
  const float eps = static_cast<float>(cfg.rms_norm_eps);
  const int64_t* pos = c.batch.positions.data();

  float* n1 = fit(a.n1, N * C);
  rmsnorm_forward(n1, fit(a.rstd1, N), x, l.input_layernorm.data(), N, C, eps);
  float* q = fit(a.q, N * Q * D);
  float* k = fit(a.k, N * KV * D);
  float* v = fit(a.v, N * KV * D);
  adapted_linear(c, q, n1, L, lora_target_q, bias_or_null(l.q_bias), N, a);
  adapted_linear(c, k, n1, L, lora_target_k, bias_or_null(l.k_bias), N, a);
  adapted_linear(c, v, n1, L, lora_target_v, bias_or_null(l.v_bias), N, a);
  if (!l.q_norm.empty()) {
    std::copy(q, q + N * Q * D, fit(a.q_pre, N * Q * D));
    std::copy(k, k + N * KV * D, fit(a.k_pre, N * KV * D));
    rmsnorm_forward(q, fit(a.rstd_q, N * Q), a.q_pre.data(), l.q_norm.data(), N * Q, D, eps);
    rmsnorm_forward(k, fit(a.rstd_k, N * KV), a.k_pre.data(), l.k_norm.data(), N * KV, D, eps);
  }
  rope_forward(q, pos, base.inv_freq.data(), N, Q, D);
  rope_forward(k, pos, base.inv_freq.data(), N, KV, D);
  float* att = fit(a.att, N * Q * D);
  attention_segments(c, att, q, k, v);
  float* h = fit(a.h, N * C);
  adapted_linear(c, h, att, L, lora_target_o, bias_or_null(l.o_bias), N, a);
  residual_forward(h, x, N * C);

  float* n2 = fit(a.n2, N * C);
  rmsnorm_forward(n2, fit(a.rstd2, N), h, l.post_attention_layernorm.data(), N, C, eps);
  float* gate = fit(a.gate, N * I);
  float* up = fit(a.up, N * I);
  adapted_linear(c, gate, n2, L, lora_target_gate, nullptr, N, a);
  adapted_linear(c, up, n2, L, lora_target_up, nullptr, N, a);
  float* act = fit(a.act, N * I);
  swiglu_forward(act, gate, up, N * I);
  adapted_linear(c, out, act, L, lora_target_down, nullptr, N, a);
  residual_forward(out, h, N * C);
}

// dx (N, C) = gradient at layer L's input, given dout (N, C) at its output and the layer's input x.
void layer_backward(trainer_context& c, size_t L, float* dx, const float* dout, const float* x, layer_acts& a,
                    layer_grads& g) {
  const transformer& base = *c.m.base;
  const model_config& cfg = base.config;
  const transformer_layer& l = base.layers[L];
  const int64_t N = static_cast<int64_t>(c.batch.ids.size()), C = cfg.hidden_size, D = cfg.head_dim;
  const int64_t Q = cfg.num_attention_heads, KV = cfg.num_key_value_heads, I = cfg.intermediate_size;
  const int64_t* pos = c.batch.positions.data();

  // MLP: out = h + down(act)
  float* dact = fit(g.dact, N * I);
  adapted_linear_backward(c, dact, dout, a.act.data(), L, lora_target_down, N, a, false);
  float* dgate = zeroed(g.dgate, N * I);
  float* dup = zeroed(g.dup, N * I);
  swiglu_backward(dgate, dup, dact, a.gate.data(), a.up.data(), N * I);
  float* dn2 = fit(g.dn2, N * C);
  adapted_linear_backward(c, dn2, dgate, a.n2.data(), L, lora_target_gate, N, a, false);
  adapted_linear_backward(c, dn2, dup, a.n2.data(), L, lora_target_up, N, a, true);
  float* dh = fit(g.dh, N * C);
  std::copy(dout, dout + N * C, dh);
  rmsnorm_backward(dh, dn2, a.h.data(), l.post_attention_layernorm.data(), a.rstd2.data(), N, C);

  // Attention: h = x + o(att)
  float* datt = fit(g.datt, N * Q * D);
  adapted_linear_backward(c, datt, dh, a.att.data(), L, lora_target_o, N, a, false);
  float* dq = zeroed(g.dq, N * Q * D);
  float* dk = zeroed(g.dk, N * KV * D);
  float* dv = zeroed(g.dv, N * KV * D);
  attention_segments_backward(c, dq, dk, dv, datt, a.q.data(), a.k.data(), a.v.data());
  rope_backward(dq, pos, base.inv_freq.data(), N, Q, D);
  rope_backward(dk, pos, base.inv_freq.data(), N, KV, D);
  if (!l.q_norm.empty()) {
    float* dq_pre = zeroed(g.dq_pre, N * Q * D);
    float* dk_pre = zeroed(g.dk_pre, N * KV * D);
    rmsnorm_backward(dq_pre, dq, a.q_pre.data(), l.q_norm.data(), a.rstd_q.data(), N * Q, D);
    rmsnorm_backward(dk_pre, dk, a.k_pre.data(), l.k_norm.data(), a.rstd_k.data(), N * KV, D);
    dq = dq_pre;
    dk = dk_pre;
  }
  float* dn1 = fit(g.dn1, N * C);
  adapted_linear_backward(c, dn1, dq, a.n1.data(), L, lora_target_q, N, a, false);
  adapted_linear_backward(c, dn1, dk, a.n1.data(), L, lora_target_k, N, a, true);
  adapted_linear_backward(c, dn1, dv, a.n1.data(), L, lora_target_v, N, a, true);
  std::copy(dh, dh + N * C, dx);
  rmsnorm_backward(dx, dn1, x, l.input_layernorm.data(), a.rstd1.data(), N, C);
}

status check_batch(const lora_model& m, const packed_batch& b) {
  const int64_t V = m.base->config.vocab_size;
  if (b.ids.empty()) return make_error("training batch has no tokens");
  for (int32_t id : b.ids)
    if (id < 0 || id >= V)
      return make_error(fmt::format("token id {} is outside the model's vocabulary (size {})", id, V));
  for (int32_t id : b.labels)
    if (id >= V)
      return make_error(fmt::format("label id {} is outside the model's vocabulary (size {})", id, V));
  return {};
}

// Final norm + chunked cross-entropy at labelled rows of x (N, C). With dx, writes the gradient
// (grad_scale · d sum / dx) into dx (N, C), zero at unlabelled rows.
double loss_head(trainer_context& c, float* dx, const float* x, float grad_scale) {
  const transformer& base = *c.m.base;
  const int64_t C = base.config.hidden_size, N = static_cast<int64_t>(c.batch.ids.size());
  const float eps = static_cast<float>(base.config.rms_norm_eps);
  std::vector<int64_t> rows;
  std::vector<int32_t> labels;
  for (int64_t p = 0; p < N; ++p)
    if (c.batch.labels[p] >= 0) rows.push_back(p), labels.push_back(c.batch.labels[p]);
  const int64_t R = static_cast<int64_t>(rows.size());
  if (dx) std::memset(dx, 0, sizeof(float) * static_cast<size_t>(N * C));
  if (R == 0) return 0;
  std::vector<float> gathered(static_cast<size_t>(R * C)), normed(static_cast<size_t>(R * C)), rstd(R);
  for (int64_t r = 0; r < R; ++r) std::copy(x + rows[r] * C, x + (rows[r] + 1) * C, gathered.data() + r * C);
  rmsnorm_forward(normed.data(), rstd.data(), gathered.data(), base.norm.data(), R, C, eps);
  (void)eps;
  std::vector<float> dnormed(dx ? static_cast<size_t>(R * C) : 0);
  double sum = cross_entropy_forward_backward(*base.matmul, dx ? dnormed.data() : nullptr, normed.data(),
                                              labels.data(), base.lm_head, R, grad_scale);
  if (dx) {
    std::vector<float> dgathered(static_cast<size_t>(R * C), 0.0f);
    rmsnorm_backward(dgathered.data(), dnormed.data(), gathered.data(), base.norm.data(), rstd.data(), R, C);
    for (int64_t r = 0; r < R; ++r)
      std::copy(dgathered.data() + r * C, dgathered.data() + (r + 1) * C, dx + rows[r] * C);
  }
  return sum;
}

}  // namespace

lora_model lora_model_create(transformer& base, const lora_options& options) {
  lora_model m;
  m.base = &base;
  m.options = options;
  std::mt19937_64 rng(options.seed);
  m.layers.resize(base.layers.size());
  for (size_t l = 0; l < base.layers.size(); ++l) {
    for (int t = 0; t < lora_target_count; ++t) {
      if (!options.targets[t]) continue;
      const weight_matrix& w = target_weight(base.layers[l], static_cast<lora_target>(t));
      lora_param p;
      p.w = lora_create(options.rank, w.cols, w.rows, options.scale(), rng);
      p.dA.assign(p.w.A.size(), 0.0f);
      p.dB.assign(p.w.B.size(), 0.0f);
      m.layers[l][t] = std::move(p);
    }
  }
  return m;
}

int64_t packed_batch::label_count() const {
  return std::count_if(labels.begin(), labels.end(), [](int32_t l) { return l >= 0; });
}

void packed_batch_add(packed_batch& batch, const std::vector<int32_t>& ids,
                      const std::vector<uint8_t>& trained) {
  if (batch.sample_starts.empty()) batch.sample_starts.push_back(0);
  for (size_t i = 0; i < ids.size(); ++i) {
    batch.ids.push_back(ids[i]);
    batch.positions.push_back(static_cast<int64_t>(i));
    batch.labels.push_back(i + 1 < ids.size() && trained[i + 1] ? ids[i + 1] : -1);
  }
  batch.sample_starts.push_back(static_cast<int64_t>(batch.ids.size()));
}

void lora_model_zero_grads(lora_model& model) {
  for (auto& layer : model.layers)
    for (auto& p : layer)
      if (p) std::fill(p->dA.begin(), p->dA.end(), 0.0f), std::fill(p->dB.begin(), p->dB.end(), 0.0f);
}

std::vector<adamw_group> lora_model_parameters(lora_model& model) {
  std::vector<adamw_group> groups;
  for (auto& layer : model.layers)
    for (auto& p : layer)
      if (p) {
        groups.push_back({p->w.A.data(), p->dA.data(), p->w.A.size()});
        groups.push_back({p->w.B.data(), p->dB.data(), p->w.B.size()});
      }
  return groups;
}

// Buffers of the training forward and backward, kept from step to step so a step does not fault
// in fresh pages for its activations.
struct lora_scratch {
  std::vector<std::vector<float>> inputs;  // each layer's input
  std::vector<layer_acts> acts;            // every layer's, or only acts[0] when recomputing
  layer_grads grads;
  std::vector<float> x, next, dx, dprev;
};

result<loss_sum> lora_model_forward_backward(lora_model& model, const packed_batch& batch, float grad_scale,
                                             uint64_t dropout_seed) {
  if (auto s = check_batch(model, batch); !s) return s.err();
  trainer_context c{model, batch, static_cast<float>(model.options.dropout), dropout_seed};
  const transformer& base = *model.base;
  const int64_t N = static_cast<int64_t>(batch.ids.size()), C = base.config.hidden_size;
  const size_t L = base.layers.size();
  if (!model.scratch) model.scratch = std::make_shared<lora_scratch>();
  lora_scratch& w = *model.scratch;

  // Forward, keeping each layer's input, and all of every layer's activations when they fit in
  // model.activation_budget (known after layer 0); otherwise only the last layer's.
  w.inputs.resize(L);
  float* x = fit(w.x, N * C);
  float* next = fit(w.next, N * C);
  embedding_forward(x, base.embed_tokens, batch.ids.data(), N);
  if (w.acts.empty()) w.acts.resize(1);
  bool keep_all = false;
  for (size_t l = 0; l < L; ++l) {
    std::copy(x, x + N * C, fit(w.inputs[l], N * C));
    if (keep_all && w.acts.size() <= l) w.acts.resize(l + 1);
    layer_acts& a = w.acts[keep_all ? l : 0];
    layer_forward(c, l, next, x, a);
    if (l == 0) {
      keep_all = a.bytes() * static_cast<int64_t>(L) <= model.activation_budget;
      if (!keep_all) w.acts.resize(1);  // an earlier, smaller batch kept them all; this one cannot
    }
    std::swap(x, next);
  }
  loss_sum out;
  out.count = batch.label_count();
  float* dx = fit(w.dx, N * C);
  float* dprev = fit(w.dprev, N * C);
  out.sum = loss_head(c, dx, x, grad_scale);

  // Backward, recomputing each layer's activations from its saved input unless they were kept. The
  // last layer's are still there from the forward.
  for (size_t l = L; l-- > 0;) {
    layer_acts& a = w.acts[keep_all ? l : 0];
    if (!keep_all && l + 1 < L) layer_forward(c, l, next, w.inputs[l].data(), a);
    layer_backward(c, l, dprev, dx, w.inputs[l].data(), a, w.grads);
    std::swap(dx, dprev);
  }
  return out;
}

result<loss_sum> lora_model_loss(lora_model& model, const packed_batch& batch) {
  if (auto s = check_batch(model, batch); !s) return s.err();
  trainer_context c{model, batch, 0.0f, 0};
  const transformer& base = *model.base;
  const int64_t N = static_cast<int64_t>(batch.ids.size()), C = base.config.hidden_size;
  std::vector<float> x(static_cast<size_t>(N * C)), next(static_cast<size_t>(N * C));
  embedding_forward(x.data(), base.embed_tokens, batch.ids.data(), N);
  layer_acts acts;
  for (size_t l = 0; l < base.layers.size(); ++l) {
    layer_forward(c, l, next.data(), x.data(), acts);
    std::swap(x, next);
  }
  loss_sum out;
  out.count = batch.label_count();
  out.sum = loss_head(c, nullptr, x.data(), 0.0f);
  return out;
}

}  // namespace smelt
