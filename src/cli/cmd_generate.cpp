// `smelt generate` (one prompt, printed or as JSON) and `smelt chat` (streaming REPL), each with
// an optional LoRA adapter applied unmerged: option tables and calls into src/engine
// (model_runtime.h, generate.h). Shared sampling options and their parsing: generation_args.h.
#include <fmt/format.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <optional>

#include "cli/commands.h"
#include "cli/generation_args.h"
#include "core/log.h"
#include "engine/model_runtime.h"

namespace smelt {

namespace {

std::vector<option_spec> with(std::vector<option_spec> a, std::vector<option_spec> b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// The options of generate and chat: the shared generation options plus --adapter.
std::vector<option_spec> sampling_options() {
  return with({{"adapter", 'a', "DIR", "",
                "PEFT LoRA adapter applied unmerged (e.g. runs/NAME/checkpoints/step-N or final)"}},
              generation_option_specs());
}

// The runtime, its generation setup and the --adapter (when given), or a logged error and exit code.
struct opened {
  model_runtime rt;
  generation_setup setup;
  std::optional<lora_adapter_set> adapter;
};

result<opened> open_all(const parsed_args& args, const char* command, int& code) {
  code = exit_failed;
  auto rt = generation_open_runtime(args, args.positional[0]);
  if (!rt) return make_error(fmt::format("smelt {}: {}", command, rt.message()));
  opened o{std::move(*rt), {}, std::nullopt};
  auto setup = generation_setup_from_args(args, o.rt);
  if (!setup) {
    code = exit_usage;
    return make_error(fmt::format("smelt {}: {}", command, setup.message()));
  }
  o.setup = std::move(*setup);
  if (args.was_given("adapter")) {
    auto a = model_runtime_load_adapter(o.rt, args.get("adapter"));
    if (!a) return make_error(fmt::format("smelt {}: {}", command, a.message()));
    o.adapter = std::move(*a);
  }
  return o;
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
    "{\"text\", \"ids\", \"prompt_ids\", \"finish_reason\", \"prompt_tokens\", \"generated_tokens\"}.\n"
    "--adapter DIR adds a PEFT LoRA adapter (checked against the model; a mismatch is an error).",
    with({{"prompt", 'p', "TEXT", "", "the prompt; standard input when absent"},
          {"raw", 0, "", "", "no chat template: tokenize the prompt as is"},
          {"json", 0, "", "", "print the result as one JSON object"}},
         sampling_options()),
    1,
};

int generate_run(const parsed_args& args) {
  int code = exit_ok;
  auto all = open_all(args, "generate", code);
  if (!all) {
    log_error("{}", all.message());
    return code;
  }
  model_runtime* rt = &all->rt;
  generation_setup* setup = &all->setup;
  setup->gen.adapter = all->adapter ? &*all->adapter : nullptr;
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
  if (args.flag("stats")) generation_print_stats(*r);
  return exit_ok;
}

const command_spec chat_spec = {
    "chat",
    "MODEL_DIR",
    "talk with a model in the terminal, replies streamed as they are generated",
    "Each line read from standard input is a user turn; the whole conversation is rendered by the\n"
    "model's chat template and the KV cache keeps what earlier turns already computed. Commands:\n"
    "/reset forgets the conversation, /exit (or end of input) quits. Ctrl-C stops a reply early.\n"
    "--adapter DIR chats with a PEFT LoRA adapter (e.g. runs/NAME/checkpoints/step-N) on the model.",
    sampling_options(),
    1,
};

int chat_run(const parsed_args& args) {
  int code = exit_ok;
  auto all = open_all(args, "chat", code);
  if (!all) {
    log_error("{}", all.message());
    return code;
  }
  model_runtime* rt = &all->rt;
  generation_setup* setup = &all->setup;
  setup->gen.adapter = all->adapter ? &*all->adapter : nullptr;
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
    if (args.flag("stats")) generation_print_stats(*r);
    messages.push_back({"assistant", r->text});
  }
  return exit_ok;
}

}  // namespace smelt
