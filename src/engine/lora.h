// LoRA as PEFT defines it, for one adapted linear y = W x: y += scale · B (A dropout(x)), with
// A (r, in) Kaiming-uniform (a = sqrt(5), as nn.Linear's default init), B (out, r) zero, scale =
// alpha / r (alpha / sqrt(r) with rsLoRA), dropout on A's input. Parameters and gradients fp32.
// Which linears are adapted and how adapters are stored on disk are the trainer's and
// model/adapter.h's business.
#pragma once

#include <array>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "core/result.h"
#include "engine/matmul.h"

namespace smelt {

// The linears of a layer LoRA may adapt, in PEFT's module order.
enum lora_target {
  lora_target_q,
  lora_target_k,
  lora_target_v,
  lora_target_o,
  lora_target_gate,
  lora_target_up,
  lora_target_down,
  lora_target_count
};
const char* lora_target_name(lora_target t);  // PEFT's module name: "q_proj", ..., "down_proj"
// PEFT module name ("q_proj") -> target; lora_target_count when unknown.
lora_target lora_target_from_module(const std::string& module);
// "q,k,v,o,gate,up,down" or PEFT names ("q_proj,v_proj"), or "all" -> the set; errors name the bad entry.
result<std::array<bool, lora_target_count>> lora_targets_parse(const std::string& text);

struct lora_weights {
  int64_t rank = 0, in = 0, out = 0;
  float scale = 1.0f;
  std::vector<float> A;  // (rank, in)   PEFT: ...lora_A.weight
  std::vector<float> B;  // (out, rank)  PEFT: ...lora_B.weight
};

// A ~ Kaiming-uniform as torch.nn.init.kaiming_uniform_(A, a=sqrt(5)): U(-1/sqrt(in), 1/sqrt(in));
// B = 0. RNG: the caller's generator, so a seed reproduces an adapter.
lora_weights lora_create(int64_t rank, int64_t in, int64_t out, float scale, std::mt19937_64& rng);

// What the forward keeps for the backward of one call over M rows.
struct lora_saved {
  std::vector<float> h;       // (M, rank) = dropout(x) · Aᵀ
  std::vector<uint8_t> keep;  // (M, in) dropout mask, empty without dropout
  float keep_scale = 1.0f;    // 1 / (1 - p)
};

// y (M, out) += scale · (dropout(x) · Aᵀ) · Bᵀ for x (M, in). DROPOUT in [0, 1): the mask is drawn
// from RNG (only when dropout > 0) and saved.
void lora_forward(matmul_context& ctx, float* y, const float* x, const lora_weights& w, int64_t M,
                  float dropout, std::mt19937_64& rng, lora_saved& saved);

// Given dy (M, out): dA (rank, in) += and dB (out, rank) += the parameter gradients; dx (M, in) +=
// the input gradient through the LoRA branch (the frozen W's part is linear_backward_input's).
void lora_backward(matmul_context& ctx, float* dx, float* dA, float* dB, const float* dy, const float* x,
                   const lora_weights& w, const lora_saved& saved, int64_t M);

}  // namespace smelt
