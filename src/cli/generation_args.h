// Options shared by the commands that generate text (`smelt generate`, `smelt chat`,
// `smelt compare`): the sampling/context/backend option table and its parsing into generate_options
// over a model's generation_config.json defaults. Each command's own options stay in its cmd_*.cpp.
#pragma once

#include <string>
#include <vector>

#include "cli/options.h"
#include "engine/generate.h"
#include "engine/model_runtime.h"

namespace smelt {

// system, max-tokens, temperature, top-k, top-p, min-p, repetition/frequency/presence penalties,
// seed, stop, thinking, context, backend, stats.
std::vector<option_spec> generation_option_specs();

struct generation_setup {
  generate_options gen;  // sampling, limits, stop ids/strings; adapter left null
  chat_render_options render;
  int64_t context = 0;  // KV cache positions
};

// Opens MODEL_DIR with the --backend of ARGS.
result<model_runtime> generation_open_runtime(const parsed_args& args, const std::string& model_dir);
// Reads the options of generation_option_specs() over RT's generation defaults. Errors name the option.
result<generation_setup> generation_setup_from_args(const parsed_args& args, const model_runtime& rt);
// "prompt N tokens (C cached), X tokens/s; generated M tokens, Y tokens/s; REASON" to standard error.
void generation_print_stats(const generate_result& r);

}  // namespace smelt
