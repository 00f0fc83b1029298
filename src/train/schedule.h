// Learning-rate schedules exactly as Hugging Face transformers' get_constant_schedule_with_warmup,
// get_linear_schedule_with_warmup and get_cosine_schedule_with_warmup (num_cycles 0.5): a
// multiplier of the base learning rate, linear warmup from 0. Optimizer steps are counted from 0:
// the update of step k uses base_lr · lambda(k), as LambdaLR does. Parsing the --lr-schedule flag
// is the CLI's business.
#pragma once

#include <cstdint>
#include <string>

#include "core/result.h"

namespace smelt {

enum lr_schedule { lr_schedule_constant, lr_schedule_linear, lr_schedule_cosine };

const char* lr_schedule_name(lr_schedule s);  // "constant", "linear", "cosine"
// "constant" | "linear" | "cosine"; the error names the bad value and the choices.
result<lr_schedule> lr_schedule_parse(const std::string& text);

// lambda(step): the multiplier HF's schedule gives optimizer step STEP (0-based).
double lr_multiplier(int64_t step, lr_schedule schedule, int64_t warmup_steps, int64_t total_steps);

// base_lr · lr_multiplier(step, ...).
double lr_at(int64_t step, lr_schedule schedule, double base_lr, int64_t warmup_steps, int64_t total_steps);

}  // namespace smelt
