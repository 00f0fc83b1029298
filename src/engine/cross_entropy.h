// The language-model loss at trained positions only: logits = hidden · lm_headᵀ are formed a chunk
// of rows at a time (never the whole (N, V) matrix), softmax cross-entropy against the labels, and
// the gradient with respect to hidden. lm_head is frozen (never a LoRA target here).
#pragma once

#include <cstdint>

#include "engine/matmul.h"

namespace smelt {

// hidden (R, C): final-normed hidden states of the R positions that have a label; labels (R).
// Returns the SUM over rows of -log softmax(logits)[label] (double); writes dhidden (R, C) =
// grad_scale · (softmax - onehot(label)) · lm_head, i.e. the gradient of grad_scale · sum. dhidden
// may be null (evaluation). CHUNK rows of logits at a time (memory chunk · V floats).
double cross_entropy_forward_backward(matmul_context& ctx, float* dhidden, const float* hidden,
                                      const int32_t* labels, const weight_matrix& lm_head, int64_t R,
                                      float grad_scale, int64_t chunk = 256);

}  // namespace smelt
