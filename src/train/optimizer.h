// AdamW over fp32 parameter buffers owned by others (the LoRA model), exactly as torch.optim.AdamW
// (decoupled weight decay, bias correction), global-norm gradient clipping as
// torch.nn.utils.clip_grad_norm_, and the optimizer state saved to / loaded from safetensors.
// Which buffers are trained, the learning-rate schedule and gradient zeroing are the trainer's.
//
// State file (safetensors): adamw.m.<i>, adamw.v.<i> F32 [n_i] for parameter group i in the order
// given; __metadata__ {"adamw.step": "<steps taken>", "adamw.groups": "<count>"}.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <vector>

#include "core/result.h"

namespace smelt {

// One buffer of N parameters and its gradient (same length); both owned by the caller and must
// outlive the optimizer.
struct adamw_group {
  float* param = nullptr;
  float* grad = nullptr;
  size_t n = 0;
};

struct adamw_options {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;  // decoupled: p -= lr · weight_decay · p (HF Trainer's default is 0)
};

class adamw {
 public:
  adamw(std::vector<adamw_group> groups, adamw_options options);

  // One update with learning rate LR from the current gradients (torch.optim.AdamW.step()).
  void step(double lr);

  int64_t step_count() const { return step_; }
  const adamw_options& options() const { return options_; }
  const std::vector<adamw_group>& groups() const { return groups_; }
  const std::vector<float>& m(size_t group) const { return m_[group]; }
  const std::vector<float>& v(size_t group) const { return v_[group]; }

  // Writes the moments and step count to PATH atomically.
  status save(const std::filesystem::path& path) const;
  // Replaces the state with PATH's; the groups' count and sizes must match (errors name the tensor).
  status load(const std::filesystem::path& path);

 private:
  std::vector<adamw_group> groups_;
  adamw_options options_;
  std::vector<std::vector<float>> m_, v_;  // first and second moments, per group
  int64_t step_ = 0;
};

// Scales every gradient by min(1, max_norm / (norm + 1e-6)) where norm is the L2 norm over all of
// them (torch.nn.utils.clip_grad_norm_), and returns that pre-clip norm. A non-finite norm leaves
// the gradients untouched (the caller should skip the step); torch would multiply them by NaN.
double clip_grad_norm(const std::vector<adamw_group>& groups, double max_norm);

}  // namespace smelt
