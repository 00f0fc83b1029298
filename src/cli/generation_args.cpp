// generation_args.h: the shared generation options, parsed over the model's defaults.
#include "cli/generation_args.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>

#include "engine/stop_strings.h"

namespace smelt {

std::vector<option_spec> generation_option_specs() {
  return {
      {"system", 's', "TEXT", "", "system message (chat-templated prompts only)"},
      {"max-tokens", 'n', "N", "256", "most tokens to generate"},
      {"temperature", 0, "T", "model",
       "0 is greedy; model: generation_config.json (greedy unless do_sample)"},
      {"top-k", 0, "K", "model", "keep the K most likely tokens; 0 is off"},
      {"top-p", 0, "P", "model", "nucleus sampling; 1 is off"},
      {"min-p", 0, "P", "model", "drop tokens below P times the top probability; 0 is off"},
      {"repetition-penalty", 0, "R", "model", "HF repetition penalty over prompt and output; 1 is off"},
      {"frequency-penalty", 0, "F", "0", "OpenAI frequency penalty over generated tokens"},
      {"presence-penalty", 0, "F", "0", "OpenAI presence penalty over generated tokens"},
      {"seed", 0, "N", "0", "random seed (same seed, same prompt: same output)"},
      {"stop", 0, "TEXT", "", "stop before this text"},
      {"thinking", 0, "on|off|trained", "trained",
       "Qwen3's enable_thinking switch; trained: open the reply as training renders an assistant turn "
       "(Qwen3: as off)"},
      {"context", 0, "N", "model", "KV cache positions; model: max_position_embeddings, at most 32768"},
      {"backend", 0, "onednn|reference", "onednn", "matmul backend (reference is slow; for checks)"},
      {"stats", 0, "", "", "print prompt/generated token counts and tokens/s to standard error"},
  };
}

result<model_runtime> generation_open_runtime(const parsed_args& args, const std::string& model_dir) {
  std::string backend = args.get("backend");
  if (backend != "onednn" && backend != "reference")
    return make_error(fmt::format("--backend: expected onednn|reference, got '{}'", backend));
  return model_runtime_open(model_dir,
                            backend == "reference" ? matmul_backend_reference : matmul_backend_onednn);
}

result<generation_setup> generation_setup_from_args(const parsed_args& args, const model_runtime& rt) {
  generation_setup s;
  s.gen.sampling = model_runtime_sampling_defaults(rt);
  s.gen.stop_ids = rt.stop_ids;
  auto real = [&](const char* name, double& target) -> status {
    if (args.get(name) == "model") return {};
    auto v = args.get_double(name);
    if (!v) return make_error(fmt::format("--{}: expected a number, got '{}'", name, args.get(name)));
    target = *v;
    return {};
  };
  for (auto [name, target] :
       {std::pair{"temperature", &s.gen.sampling.temperature}, std::pair{"top-p", &s.gen.sampling.top_p},
        std::pair{"min-p", &s.gen.sampling.min_p},
        std::pair{"repetition-penalty", &s.gen.sampling.repetition_penalty},
        std::pair{"frequency-penalty", &s.gen.sampling.frequency_penalty},
        std::pair{"presence-penalty", &s.gen.sampling.presence_penalty}})
    if (auto st = real(name, *target); !st) return st.err();
  if (args.get("top-k") != "model") {
    auto k = args.get_int("top-k");
    if (!k || *k < 0)
      return make_error(fmt::format("--top-k: expected a count >= 0, got '{}'", args.get("top-k")));
    s.gen.sampling.top_k = *k;
  }
  auto seed = args.get_int("seed");
  if (!seed || *seed < 0)
    return make_error(fmt::format("--seed: expected an integer >= 0, got '{}'", args.get("seed")));
  s.gen.sampling.seed = static_cast<uint64_t>(*seed);
  if (auto st = sampling_params_check(s.gen.sampling); !st) return make_error("sampling: " + st.message());
  auto max_tokens = args.get_int("max-tokens");
  if (!max_tokens || *max_tokens < 1)
    return make_error(fmt::format("--max-tokens: expected a count >= 1, got '{}'", args.get("max-tokens")));
  s.gen.max_new_tokens = *max_tokens;
  if (args.was_given("stop")) s.gen.stop_strings.push_back(args.get("stop"));
  if (auto st = stop_strings_check(s.gen.stop_strings); !st) return make_error("--stop: " + st.message());
  const std::string thinking = args.get("thinking");
  if (thinking == "on" || thinking == "off") {
    s.render.enable_thinking = thinking == "on";
  } else if (thinking != "trained") {
    return make_error(fmt::format("--thinking: expected on|off|trained, got '{}'", thinking));
  }
  const int64_t model_max = rt.model->config.max_position_embeddings;
  s.context = std::min<int64_t>(model_max > 0 ? model_max : 32768, 32768);
  if (args.get("context") != "model") {
    auto c = args.get_int("context");
    if (!c || *c < 2)
      return make_error(fmt::format("--context: expected a count >= 2, got '{}'", args.get("context")));
    s.context = *c;
  }
  return s;
}

void generation_print_stats(const generate_result& r) {
  int64_t generated = static_cast<int64_t>(r.ids.size());
  double prefill = r.prefill_seconds > 0 ? double(r.prompt_tokens - r.cached_tokens) / r.prefill_seconds : 0;
  double decode = r.decode_seconds > 0 && generated > 1 ? double(generated - 1) / r.decode_seconds : 0;
  std::fprintf(stderr,
               "prompt %lld tokens (%lld cached), %.1f tokens/s; generated %lld tokens, %.1f tokens/s; %s\n",
               static_cast<long long>(r.prompt_tokens), static_cast<long long>(r.cached_tokens), prefill,
               static_cast<long long>(generated), decode, r.finish_reason.c_str());
}

}  // namespace smelt
