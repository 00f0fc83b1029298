// The transformer's elementwise and attention ops on fp32 activations, as plain functions in the
// llm.c style: outputs first, shapes in comments. They are the CPU specification that faster
// kernels are tested against; matmuls live in matmul.h, backward passes arrive with training.
#pragma once

#include <cstdint>

#include "engine/matmul.h"

namespace smelt {

// out (T, C) = rows IDS of TABLE (V, C), widened to fp32.
void embedding_forward(float* out, const weight_matrix& table, const int32_t* ids, int64_t T);

// out (N, C) = inp (N, C) / sqrt(mean(inp²) + eps) * weight (C). RSTD (N) receives the reciprocal
// root when not null. OUT may be INP.
void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, int64_t N, int64_t C,
                     float eps);

// Rotary embedding in place on x (T, H, D), the "rotate half" layout of Hugging Face models: element
// i < D/2 pairs with i + D/2, rotated by angle positions[t] * inv_freq[i] (inv_freq has D/2 entries).
void rope_forward(float* x, const int64_t* positions, const float* inv_freq, int64_t T, int64_t H, int64_t D);

// Causal grouped-query attention. q (T, Q, D) for absolute positions P..P+T-1; k, v (P+T, KV, D)
// hold every key/value from position 0; out (T, Q*D). Query head h reads KV head h / (Q / KV).
// WINDOW > 0 limits a query at position i to keys j with i - j < WINDOW (Mistral's sliding window).
void attention_forward(float* out, const float* q, const float* k, const float* v, int64_t T, int64_t P,
                       int64_t Q, int64_t KV, int64_t D, int64_t window);

// out (n) = silu(gate) * up, silu(x) = x / (1 + e^-x). OUT may be GATE.
void swiglu_forward(float* out, const float* gate, const float* up, int64_t n);

// x (n) += delta (n).
void residual_forward(float* x, const float* delta, int64_t n);

// RoPE inverse frequencies (D/2) for head size D and base THETA, with Llama 3.1's "llama3"
// rescaling when FACTOR > 0 (low/high frequency factors and original context as in its config).
struct rope_llama3_scaling {
  double factor = 0;
  double low_freq_factor = 1;
  double high_freq_factor = 1;
  double original_max_position_embeddings = 0;
};
void rope_inv_freq(float* inv_freq, int64_t D, double theta, const rope_llama3_scaling& scaling);

}  // namespace smelt
