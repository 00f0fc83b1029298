// Prefill attention through oneDNN batched fp32 matmuls: the same function as attention_forward
// (ops.h), computed a block of queries at a time as scores = Q·Kᵀ per KV head group, a masked
// fp32 softmax, then P·V. Used for prompts; single-token decoding keeps the plain loop. The
// training backward recomputes the softmax the same way.
#pragma once

#include <cstdint>

#include "engine/matmul.h"

namespace smelt {

// What the score and value matmuls multiply: the fp32 values, or their bf16 roundings (fp32
// accumulation, softmax in fp32) as PyTorch's bf16 autocast does; training a bf16 model uses bf16.
// In the backward the dk and dv products stay fp32 either way. On CPUs where oneDNN has no bf16
// matmul (AVX2; cpu_isa.h) the bf16 roundings are multiplied as fp32 values: the same numbers.
enum attention_inputs { attention_inputs_f32, attention_inputs_bf16 };

// Shapes and meaning as attention_forward: q (T, Q, D), k/v (P+T, KV, D), out (T, Q*D).
void attention_forward_onednn(matmul_context& ctx, float* out, const float* q, const float* k, const float* v,
                              int64_t T, int64_t P, int64_t Q, int64_t KV, int64_t D, int64_t window,
                              attention_inputs inputs = attention_inputs_f32);

// attention_backward (ops_backward.h) through oneDNN batched matmuls, a block of queries at a time:
// S = Q·Kᵀ·scale per KV group, P = masked softmax, dP = dO·Vᵀ, dS = P ⊙ (dP - rowsum(P ⊙ dP)),
// dq += scale·dS·K, dk += scale·dSᵀ·Q (summed over the group), dv += Pᵀ·dO. One sequence from 0.
void attention_backward_onednn(matmul_context& ctx, float* dq, float* dk, float* dv, const float* dout,
                               const float* q, const float* k, const float* v, int64_t T, int64_t Q,
                               int64_t KV, int64_t D, int64_t window,
                               attention_inputs inputs = attention_inputs_f32);

}  // namespace smelt
