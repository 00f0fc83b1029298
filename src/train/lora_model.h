// A frozen base transformer plus trainable LoRA adapters on chosen linears, with the training
// forward and backward over a packed batch: per-layer activation recompute (only each layer's input
// is kept across the forward) unless all activations fit a memory budget, loss only at labelled positions
// through chunked cross-entropy, and attention confined to each packed sample. Optimizer, schedule, data and
// checkpoints are elsewhere.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "engine/lora.h"
#include "engine/transformer.h"
#include "train/optimizer.h"

namespace smelt {

struct lora_options {
  int64_t rank = 8;
  double alpha = 32;
  double dropout = 0.05;
  bool rslora = false;  // scale alpha / sqrt(rank) instead of alpha / rank
  std::array<bool, lora_target_count> targets{true, true, true, true, true, true, true};
  uint64_t seed = 0;
  float scale() const;
};

struct lora_param {
  lora_weights w;
  std::vector<float> dA, dB;  // gradients, same shapes as w.A, w.B
};

struct lora_scratch;  // training buffers reused from step to step (lora_model.cpp)

struct lora_model {
  transformer* base = nullptr;  // frozen; not owned
  lora_options options;
  // layers[l][t]: the adapter of target t in layer l, absent when t is not adapted.
  std::vector<std::array<std::optional<lora_param>, lora_target_count>> layers;
  // Bytes the training forward may spend keeping every layer's activations for the backward (a
  // third less compute); a batch that needs more recomputes them layer by layer. 0: always recompute.
  int64_t activation_budget = 0;
  // Created by the first forward_backward. shared_ptr only because lora_scratch is incomplete here;
  // a copied lora_model would share it, so copies must not train concurrently (none do).
  std::shared_ptr<lora_scratch> scratch;
};

// New adapters (A Kaiming-uniform, B zero) drawn from options.seed.
lora_model lora_model_create(transformer& base, const lora_options& options);

// Samples packed back to back. positions restart at 0 in each sample; labels[p] is the id position
// p must predict (ids[p + 1] when that token is trained and in the same sample), or -1.
struct packed_batch {
  std::vector<int32_t> ids;
  std::vector<int64_t> positions;
  std::vector<int32_t> labels;
  std::vector<int64_t> sample_starts;  // offsets of each sample, plus ids.size() at the end
  int64_t label_count() const;
};

// Appends one sample: IDS with TRAINED[i] = 1 when ids[i] is a target.
void packed_batch_add(packed_batch& batch, const std::vector<int32_t>& ids,
                      const std::vector<uint8_t>& trained);

struct loss_sum {
  double sum = 0;     // sum of -log p(label) over labelled positions
  int64_t count = 0;  // labelled positions
};

// Training forward + backward: returns the loss sum and ADDS grad_scale · d(sum)/d(param) to every
// LoRA gradient (grad_scale = 1 / the step's global label count). DROPOUT_SEED fixes the masks so
// the recompute in the backward draws the same ones.
result<loss_sum> lora_model_forward_backward(lora_model& model, const packed_batch& batch, float grad_scale,
                                             uint64_t dropout_seed);

// Forward only, no dropout: the loss sum over labelled positions.
result<loss_sum> lora_model_loss(lora_model& model, const packed_batch& batch);

void lora_model_zero_grads(lora_model& model);

// Every trainable tensor with its gradient, A then B per adapted linear in layer/target order (the
// optimizer's parameter groups; the order is part of its saved state).
std::vector<adamw_group> lora_model_parameters(lora_model& model);

}  // namespace smelt
