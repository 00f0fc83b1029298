// `smelt model init`: option table and a call into src/model/model_init. The presets, the
// random stream and the file layout live in the library.
#include <fmt/format.h>

#include <cstdio>

#include "cli/commands.h"
#include "core/log.h"
#include "model/model_init.h"

namespace smelt {

const command_spec model_init_spec = {
    "model init",
    "",
    "write a Hugging Face model directory with random weights of a known shape",
    "Writes config.json, generation_config.json and model.safetensors (bf16 weights drawn from\n"
    "normal(0, 0.02), RMSNorm weights one; the same seed gives the same bytes) and copies\n"
    "tokenizer.json and tokenizer_config.json from --tokenizer. Presets: tiny (hidden 64, 2 layers,\n"
    "4 heads, 2 KV heads, vocabulary from the tokenizer; any --arch), small (hidden 512, 4 layers; the\n"
    "demo size; any --arch), qwen2.5-0.5b, qwen2.5-1.5b,\n"
    "qwen2.5-7b (qwen2) and llama-3.1-8b (llama), with the shapes of the published models; their\n"
    "vocabulary must cover the tokenizer's ids. Large presets are written as a stream.",
    {
        {"arch", 0, "llama|qwen2|qwen3", "", "architecture; none: the preset's own (llama for tiny)"},
        {"preset", 0, "tiny|small|qwen2.5-0.5b|qwen2.5-1.5b|qwen2.5-7b|llama-3.1-8b", "tiny", "model shape"},
        {"tokenizer", 0, "DIR", "", "directory with tokenizer.json (+ tokenizer_config.json), required"},
        {"out", 'o', "DIR", "", "output directory, required (created; must not hold a model yet)"},
        {"seed", 0, "N", "0", "random seed"},
        {"dtype", 0, "bf16|f32", "bf16", "weight dtype (f32 stores the same bf16-exact values)"},
        {"norm-noise", 0, "X", "0", "RMSNorm weights 1 + X * normal(0, 1) instead of ones (for tests)"},
        {"embedding-std", 0, "X", "0.02",
         "std of the embedding and LM head weights (larger: a wider logit range a LoRA can reach)"},
    },
    0,
};

int model_init_run(const parsed_args& args) {
  model_init_options o;
  o.arch = args.get("arch");
  o.preset = args.get("preset");
  o.tokenizer_dir = args.get("tokenizer");
  o.out = args.get("out");
  if (o.tokenizer_dir.empty() || o.out.empty()) {
    log_error("smelt model init: --tokenizer and --out are required");
    return exit_usage;
  }
  auto seed = args.get_int("seed");
  if (!seed.ok() || *seed < 0) {
    log_error("smelt model init: --seed: expected a non-negative integer");
    return exit_usage;
  }
  o.seed = static_cast<uint64_t>(*seed);
  if (args.get("dtype") == "f32") {
    o.dtype = tensor_dtype_f32;
  } else if (args.get("dtype") != "bf16") {
    log_error("smelt model init: --dtype: expected bf16|f32, got '{}'", args.get("dtype"));
    return exit_usage;
  }
  auto noise = args.get_double("norm-noise");
  if (!noise.ok() || *noise < 0) {
    log_error("smelt model init: --norm-noise: expected a non-negative number");
    return exit_usage;
  }
  o.norm_noise = static_cast<float>(*noise);
  auto embedding_std = args.get_double("embedding-std");
  if (!embedding_std.ok() || !(*embedding_std > 0)) {
    log_error("smelt model init: --embedding-std: expected a positive number");
    return exit_usage;
  }
  o.embedding_std = static_cast<float>(*embedding_std);
  if (auto s = model_init(o); !s) {
    log_error("{}", s.message());
    return exit_failed;
  }
  std::fputs(fmt::format("wrote {} ({} preset)\n", o.out.string(), o.preset).c_str(), stdout);
  return exit_ok;
}

}  // namespace smelt
