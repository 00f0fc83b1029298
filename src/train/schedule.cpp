// HF transformers' warmup schedules (optimization.py lr lambdas) transcribed from their formulas:
// warmup step/max(1, warmup); then 1 (constant), max(0, (total-step)/max(1, total-warmup)) (linear)
// or max(0, 0.5·(1 + cos(pi · 2 · 0.5 · progress))) (cosine).
#include "train/schedule.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numbers>

namespace smelt {

const char* lr_schedule_name(lr_schedule s) {
  switch (s) {
    case lr_schedule_constant:
      return "constant";
    case lr_schedule_linear:
      return "linear";
    case lr_schedule_cosine:
      return "cosine";
  }
  return "?";
}

result<lr_schedule> lr_schedule_parse(const std::string& text) {
  for (lr_schedule s : {lr_schedule_constant, lr_schedule_linear, lr_schedule_cosine})
    if (text == lr_schedule_name(s)) return s;
  return make_error(
      fmt::format("unknown learning-rate schedule \"{}\" (expected constant, linear or cosine)", text));
}

double lr_multiplier(int64_t step, lr_schedule schedule, int64_t warmup_steps, int64_t total_steps) {
  if (step < warmup_steps)
    return static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, warmup_steps));
  const double after = static_cast<double>(std::max<int64_t>(1, total_steps - warmup_steps));
  switch (schedule) {
    case lr_schedule_constant:
      return 1.0;
    case lr_schedule_linear:
      return std::max(0.0, static_cast<double>(total_steps - step) / after);
    case lr_schedule_cosine: {
      const double progress = static_cast<double>(step - warmup_steps) / after;
      const double num_cycles = 0.5;
      return std::max(0.0, 0.5 * (1.0 + std::cos(std::numbers::pi * num_cycles * 2.0 * progress)));
    }
  }
  return 1.0;
}

double lr_at(int64_t step, lr_schedule schedule, double base_lr, int64_t warmup_steps, int64_t total_steps) {
  return base_lr * lr_multiplier(step, schedule, warmup_steps, total_steps);
}

}  // namespace smelt
