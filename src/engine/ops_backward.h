// Backward passes of the ops in ops.h, same argument order as llm.c: gradients first, then the
// upstream gradient, then what the forward saw. Gradients of inputs are ACCUMULATED (+=) so
// residual branches add up without copies; the caller zeroes them. Frozen weights get no gradient.
#pragma once

#include <cstdint>

namespace smelt {

// rmsnorm_forward backward: dinp (N, C) += d/dinp of out = inp * rstd * weight, given dout (N, C),
// the forward's inp and rstd (N). The weight is frozen.
void rmsnorm_backward(float* dinp, const float* dout, const float* inp, const float* weight,
                      const float* rstd, int64_t N, int64_t C);

// rope_forward backward, in place on dx (T, H, D): the rotation by -angle (RoPE is orthogonal).
void rope_backward(float* dx, const int64_t* positions, const float* inv_freq, int64_t T, int64_t H,
                   int64_t D);

// Causal GQA attention of ONE sequence of T tokens starting at position 0 (training; packed
// samples are separate calls): forward out (T, Q*D) from q (T, Q, D), k, v (T, KV, D), WINDOW as in
// attention_forward. Backward: dq (T, Q, D), dk, dv (T, KV, D) += gradients given dout (T, Q*D);
// the softmax is recomputed from q and k (nothing saved beyond the inputs).
void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                        const float* v, int64_t T, int64_t Q, int64_t KV, int64_t D, int64_t window);

// swiglu_forward backward: dgate, dup (n) += gradients given dout (n) and the forward's gate, up.
void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up,
                     int64_t n);

}  // namespace smelt
