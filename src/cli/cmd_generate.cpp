// `smelt generate` (one prompt, printed or as JSON) and `smelt chat` (streaming REPL): option
// tables and calls into src/engine (model_runtime.h, generate.h). Sampling defaults come from the
// model's generation_config.json unless an option overrides them.
#include <fmt/format.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <iterator>

#include "cli/commands.h"
#include "core/log.h"
#include "engine/model_runtime.h"
#include "engine/stop_strings.h"

namespace smelt {

namespace {

// Options shared by generate and chat.
std::vector<option_spec> sampling_options() {
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
      {"thinking", 0, "on|off|model", "model", "Qwen3's enable_thinking switch for the chat template"},
      {"context", 0, "N", "model", "KV cache positions; model: max_position_embeddings, at most 32768"},
      {"backend", 0, "onednn|reference", "onednn", "matmul backend (reference is slow; for checks)"},
      {"stats", 0, "", "", "print prompt/generated token counts and tokens/s to standard error"},
  };
}

std::vector<option_spec> with(std::vector<option_spec> a, std::vector<option_spec> b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

struct run_setup {
  generate_options gen;
  chat_render_options render;
  int64_t context = 0;
};

result<model_runtime> open_runtime(const parsed_args& args) {
  std::string backend = args.get("backend");
  if (backend != "onednn" && backend != "reference")
    return make_error(fmt::format("--backend: expected onednn|reference, got '{}'", backend));
  return model_runtime_open(args.positional[0],
                            backend == "reference" ? matmul_backend_reference : matmul_backend_onednn);
}

result<run_setup> setup_from_args(const parsed_args& args, const model_runtime& rt) {
  run_setup s;
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
  } else if (thinking != "model") {
    return make_error(fmt::format("--thinking: expected on|off|model, got '{}'", thinking));
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

void print_stats(const generate_result& r) {
  int64_t generated = static_cast<int64_t>(r.ids.size());
  double prefill = r.prefill_seconds > 0 ? double(r.prompt_tokens - r.cached_tokens) / r.prefill_seconds : 0;
  double decode = r.decode_seconds > 0 && generated > 1 ? double(generated - 1) / r.decode_seconds : 0;
  std::fprintf(stderr,
               "prompt %lld tokens (%lld cached), %.1f tokens/s; generated %lld tokens, %.1f tokens/s; %s\n",
               static_cast<long long>(r.prompt_tokens), static_cast<long long>(r.cached_tokens), prefill,
               static_cast<long long>(generated), decode, r.finish_reason.c_str());
}

std::atomic<bool> g_interrupted{false};

void on_sigint(int) {
  g_interrupted = true;
}

}  // namespace

const command_spec generate_spec = {
    "generate",
    "MODEL_DIR",
    "generate a reply to one prompt with a Hugging Face model directory",
    "The prompt (--prompt, or standard input) becomes a user message rendered by the model's chat\n"
    "template with the generation prompt; --raw feeds the text as is (with the tokenizer's BOS).\n"
    "The reply streams to standard output; --json prints one object at the end instead:\n"
    "{\"text\", \"ids\", \"prompt_ids\", \"finish_reason\", \"prompt_tokens\", \"generated_tokens\"}.",
    with({{"prompt", 'p', "TEXT", "", "the prompt; standard input when absent"},
          {"raw", 0, "", "", "no chat template: tokenize the prompt as is"},
          {"json", 0, "", "", "print the result as one JSON object"}},
         sampling_options()),
    1,
};

int generate_run(const parsed_args& args) {
  auto rt = open_runtime(args);
  if (!rt) {
    log_error("smelt generate: {}", rt.message());
    return exit_failed;
  }
  auto setup = setup_from_args(args, *rt);
  if (!setup) {
    log_error("smelt generate: {}", setup.message());
    return exit_usage;
  }
  std::string prompt_text = args.get("prompt");
  if (!args.was_given("prompt"))
    prompt_text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  std::vector<int32_t> prompt;
  if (args.flag("raw")) {
    prompt = tokenizer_encode(rt->tok, prompt_text, true);
  } else {
    std::vector<chat_message> messages;
    if (args.was_given("system")) messages.push_back({"system", args.get("system")});
    messages.push_back({"user", prompt_text});
    auto ids = model_runtime_chat_prompt(*rt, messages, setup->render);
    if (!ids) {
      log_error("smelt generate: {}", ids.message());
      return exit_failed;
    }
    prompt = std::move(*ids);
  }
  kv_cache cache = kv_cache_create(rt->model->config, setup->context);
  const bool json = args.flag("json");
  auto r = generate(*rt->model, rt->tok, cache, prompt, setup->gen, [&](std::string_view piece) {
    if (!json) {
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
    }
    return true;
  });
  if (!r) {
    log_error("smelt generate: {}", r.message());
    return exit_failed;
  }
  if (json) {
    nlohmann::ordered_json j;
    j["text"] = r->text;
    j["ids"] = r->ids;
    j["prompt_ids"] = prompt;
    j["finish_reason"] = r->finish_reason;
    j["prompt_tokens"] = r->prompt_tokens;
    j["generated_tokens"] = r->ids.size();
    std::string out = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    std::fwrite(out.data(), 1, out.size(), stdout);
  } else {
    std::fputc('\n', stdout);
  }
  if (args.flag("stats")) print_stats(*r);
  return exit_ok;
}

const command_spec chat_spec = {
    "chat",
    "MODEL_DIR",
    "talk with a model in the terminal, replies streamed as they are generated",
    "Each line read from standard input is a user turn; the whole conversation is rendered by the\n"
    "model's chat template and the KV cache keeps what earlier turns already computed. Commands:\n"
    "/reset forgets the conversation, /exit (or end of input) quits. Ctrl-C stops a reply early.",
    sampling_options(),
    1,
};

int chat_run(const parsed_args& args) {
  auto rt = open_runtime(args);
  if (!rt) {
    log_error("smelt chat: {}", rt.message());
    return exit_failed;
  }
  auto setup = setup_from_args(args, *rt);
  if (!setup) {
    log_error("smelt chat: {}", setup.message());
    return exit_usage;
  }
  if (!rt->tmpl) {
    log_error("smelt chat: {}: the model has no chat template; use smelt generate --raw", args.positional[0]);
    return exit_failed;
  }
  std::signal(SIGINT, on_sigint);
  const bool interactive = isatty(STDIN_FILENO);
  std::vector<chat_message> messages;
  if (args.was_given("system")) messages.push_back({"system", args.get("system")});
  kv_cache cache = kv_cache_create(rt->model->config, setup->context);
  std::string line;
  while (true) {
    if (interactive) std::fputs("> ", stdout), std::fflush(stdout);
    if (!std::getline(std::cin, line) || line == "/exit") break;
    if (line == "/reset") {
      messages.resize(args.was_given("system") ? 1 : 0);
      continue;
    }
    if (line.empty()) continue;
    messages.push_back({"user", line});
    auto prompt = model_runtime_chat_prompt(*rt, messages, setup->render);
    if (!prompt) {
      log_error("smelt chat: {}", prompt.message());
      return exit_failed;
    }
    g_interrupted = false;
    auto r = generate(*rt->model, rt->tok, cache, *prompt, setup->gen, [&](std::string_view piece) {
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
      return !g_interrupted.load();
    });
    std::fputc('\n', stdout);
    std::fflush(stdout);
    if (!r) {
      log_error("smelt chat: {}", r.message());
      messages.pop_back();
      continue;
    }
    if (args.flag("stats")) print_stats(*r);
    messages.push_back({"assistant", r->text});
  }
  return exit_ok;
}

}  // namespace smelt
