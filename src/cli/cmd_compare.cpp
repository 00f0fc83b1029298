// `smelt compare`: the base model and each LoRA adapter answer the same prompts with the same seed
// and sampling options; answers are printed per prompt on the terminal and written as PREFIX.json
// (structured) and PREFIX.md (for reading). Generation itself is src/engine's (generate.h); the
// shared sampling options are generation_args.h's. File formats are described in compare_spec.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/generation_args.h"
#include "core/files.h"
#include "core/log.h"
#include "core/text.h"

namespace smelt {

namespace {

using ordered_json = nlohmann::ordered_json;

struct compare_prompt {
  size_t line = 0;                       // 1-based line in the prompts file
  std::string system;                    // empty: none
  std::string user;                      // the prompt
  std::optional<std::string> reference;  // the dataset's assistant answer (chat JSONL only)
};

struct compare_model {
  std::string label;  // "base" or the adapter directory's name
  std::string adapter_dir;
  std::optional<lora_adapter_set> adapter;
  double seconds = 0;
  int64_t generated_tokens = 0;
};

struct compare_answer {
  generate_result r;
};

// Chat JSONL line -> prompt: the first user message, a system message before it, and the first
// assistant message after it as the reference. WHERE is "FILE:LINE".
result<compare_prompt> prompt_from_json(std::string_view text, const std::string& where) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return make_error(where + ": not a JSON object");
  auto it = j.find("messages");
  if (it == j.end() || !it->is_array())
    return make_error(where + ": messages: expected an array of {\"role\", \"content\"}");
  compare_prompt p;
  bool have_user = false;
  for (size_t i = 0; i < it->size(); ++i) {
    const auto& m = (*it)[i];
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string() || !m.contains("content") ||
        !m["content"].is_string())
      return make_error(
          fmt::format("{}: messages[{}]: expected {{\"role\": string, \"content\": string}}", where, i));
    const std::string role = m["role"].get<std::string>();
    const std::string content = m["content"].get<std::string>();
    if (!have_user && role == "system" && p.system.empty()) {
      p.system = content;
    } else if (!have_user && role == "user") {
      p.user = content;
      have_user = true;
    } else if (have_user && role == "assistant") {
      p.reference = content;
      break;
    }
  }
  if (!have_user) return make_error(where + ": messages: no user message");
  return p;
}

// A file of prompts: chat JSONL when its first non-empty line starts with '{', else one prompt per
// non-empty line. Errors name the file and line.
result<std::vector<compare_prompt>> prompts_read(const std::filesystem::path& path) {
  auto text = file_read(path);
  if (!text) return text.err();
  size_t bad = 0;
  if (!utf8_is_valid(*text, &bad))
    return make_error(fmt::format("{}: not valid UTF-8 (byte {})", path.string(), bad));
  std::vector<std::string_view> lines = text_split_lines(*text);
  bool jsonl = false;
  for (std::string_view l : lines) {
    std::string_view t = text_trim(l);
    if (t.empty()) continue;
    jsonl = t.front() == '{';
    break;
  }
  std::vector<compare_prompt> out;
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string_view t = text_trim(lines[i]);
    if (i == 0 && text_starts_with(t, "\xEF\xBB\xBF")) t = text_trim(t.substr(3));
    if (t.empty()) continue;
    if (jsonl) {
      auto p = prompt_from_json(t, fmt::format("{}:{}", path.string(), i + 1));
      if (!p) return p.err();
      p->line = i + 1;
      out.push_back(std::move(*p));
    } else {
      compare_prompt p;
      p.line = i + 1;
      p.user = std::string(t);
      out.push_back(std::move(p));
    }
  }
  if (out.empty()) return make_error(fmt::format("{}: no prompts", path.string()));
  return out;
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at <= s.size()) {
    size_t comma = s.find(',', at);
    if (comma == std::string::npos) comma = s.size();
    std::string item(text_trim(std::string_view(s).substr(at, comma - at)));
    if (!item.empty()) out.push_back(item);
    at = comma + 1;
  }
  return out;
}

std::string adapter_label(const std::string& dir) {
  std::filesystem::path p(dir);
  if (!p.has_filename()) p = p.parent_path();
  return p.filename().string();
}

// "> " before every line: a Markdown block quote that keeps the text's own line breaks.
std::string md_quote(std::string_view text) {
  std::string out;
  for (std::string_view l : text_split_lines(text)) {
    out += l.empty() ? ">" : "> ";
    out += l;
    out += "  \n";
  }
  if (out.empty()) out = "> *(empty)*\n";
  return out;
}

std::string one_line(std::string_view text, size_t max_bytes) {
  std::string s = text_collapse_spaces(text);
  if (s.size() <= max_bytes) return s;
  return std::string(utf8_truncate(s, max_bytes)) + "…";
}

// An answer as printed: one made only of whitespace (a random or broken model's newlines) is
// shown escaped, so it does not read as blank lines.
std::string shown_answer(const std::string& text) {
  if (text.empty() || text.find_first_not_of(" \t\r\n") != std::string::npos) return text;
  std::string head = nlohmann::json(text.substr(0, 24)).dump();
  return fmt::format("(whitespace only: {}{})", head, text.size() > 24 ? "…" : "");
}

double tokens_per_second(int64_t tokens, double seconds) {
  return seconds > 0 ? double(tokens) / seconds : 0.0;
}

std::string markdown_report(const std::string& model_dir, const std::vector<compare_model>& models,
                            const std::vector<compare_prompt>& prompts,
                            const std::vector<std::vector<compare_answer>>& answers, uint64_t seed) {
  std::string md = "# smelt compare\n\n";
  md += fmt::format("Model `{}`, seed {}, {} prompt(s).\n\n", model_dir, seed, prompts.size());
  md += "| model | adapter | generated tokens | seconds | tokens/s |\n|---|---|---:|---:|---:|\n";
  for (const compare_model& m : models)
    md += fmt::format("| {} | {} | {} | {:.2f} | {:.1f} |\n", m.label,
                      m.adapter_dir.empty() ? "—" : "`" + m.adapter_dir + "`", m.generated_tokens, m.seconds,
                      tokens_per_second(m.generated_tokens, m.seconds));
  for (size_t i = 0; i < prompts.size(); ++i) {
    const compare_prompt& p = prompts[i];
    md += fmt::format("\n## {}. {}\n\n", i + 1, one_line(p.user, 80));
    if (!p.system.empty()) md += "**system**\n\n" + md_quote(p.system) + "\n";
    md += "**prompt**\n\n" + md_quote(p.user) + "\n";
    if (p.reference) md += "**reference**\n\n" + md_quote(*p.reference) + "\n";
    for (size_t k = 0; k < models.size(); ++k) {
      const generate_result& r = answers[i][k].r;
      md += fmt::format("**{}** ({} tokens, {})\n\n", models[k].label, r.ids.size(), r.finish_reason);
      md += md_quote(shown_answer(r.text)) + "\n";
    }
  }
  return md;
}

ordered_json json_report(const std::string& model_dir, const std::string& prompts_file,
                         const std::vector<compare_model>& models, const std::vector<compare_prompt>& prompts,
                         const std::vector<std::vector<compare_answer>>& answers,
                         const generation_setup& setup) {
  ordered_json j;
  j["model"] = model_dir;
  j["prompts_file"] = prompts_file;
  const sampling_params& s = setup.gen.sampling;
  j["options"] = {{"seed", s.seed},
                  {"max_tokens", setup.gen.max_new_tokens},
                  {"temperature", s.temperature},
                  {"top_k", s.top_k},
                  {"top_p", s.top_p},
                  {"min_p", s.min_p},
                  {"repetition_penalty", s.repetition_penalty},
                  {"frequency_penalty", s.frequency_penalty},
                  {"presence_penalty", s.presence_penalty},
                  {"stop", setup.gen.stop_strings}};
  j["models"] = ordered_json::array();
  for (const compare_model& m : models) {
    ordered_json e;
    e["label"] = m.label;
    e["adapter"] = m.adapter_dir.empty() ? ordered_json(nullptr) : ordered_json(m.adapter_dir);
    if (m.adapter) {
      const auto& first = m.adapter->layers;
      int64_t rank = 0;
      for (const auto& layer : first)
        for (const lora_weights& w : layer) rank = std::max(rank, w.rank);
      e["rank"] = rank;
    }
    e["generated_tokens"] = m.generated_tokens;
    e["seconds"] = m.seconds;
    e["tokens_per_second"] = tokens_per_second(m.generated_tokens, m.seconds);
    j["models"].push_back(e);
  }
  j["prompts"] = ordered_json::array();
  for (size_t i = 0; i < prompts.size(); ++i) {
    const compare_prompt& p = prompts[i];
    ordered_json e;
    e["line"] = p.line;
    e["prompt"] = p.user;
    if (!p.system.empty()) e["system"] = p.system;
    e["reference"] = p.reference ? ordered_json(*p.reference) : ordered_json(nullptr);
    e["answers"] = ordered_json::array();
    for (size_t k = 0; k < models.size(); ++k) {
      const generate_result& r = answers[i][k].r;
      e["answers"].push_back({{"model", models[k].label},
                              {"text", r.text},
                              {"finish_reason", r.finish_reason},
                              {"prompt_tokens", r.prompt_tokens},
                              {"generated_tokens", r.ids.size()},
                              {"prefill_seconds", r.prefill_seconds},
                              {"decode_seconds", r.decode_seconds}});
    }
    j["prompts"].push_back(e);
  }
  return j;
}

std::vector<option_spec> compare_options() {
  std::vector<option_spec> o = {
      {"model", 'm', "DIR", "", "the base model directory (required)"},
      {"adapters", 0, "A,B,...", "", "PEFT adapter directories, comma-separated (required)"},
      {"prompts", 0, "FILE", "", "text (one prompt a line) or chat JSONL (required)"},
      {"out", 'o', "PREFIX", "compare", "write PREFIX.json and PREFIX.md"},
      {"raw", 0, "", "", "no chat template: tokenize each prompt as is (base models)"},
  };
  for (option_spec& s : generation_option_specs()) {
    if (s.name == "stats") continue;
    if (s.name == "system") s.help = "system message for prompts that bring none";
    o.push_back(std::move(s));
  }
  return o;
}

}  // namespace

const command_spec compare_spec = {
    "compare",
    "",
    "answer the same prompts with the base model and each LoRA adapter, side by side",
    "Every prompt is answered by the base model and by each adapter (applied unmerged) with the same\n"
    "seed and sampling options, so differences come from the adapters alone; the base answer is\n"
    "what `smelt generate` prints with the same options. --prompts is either plain text, one prompt a\n"
    "line, or chat JSONL ({\"messages\": [...]}, as smelt corpus writes): the first user message is\n"
    "the prompt (with a system message before it), the assistant message after it the reference.\n"
    "Answers are printed per prompt and written to PREFIX.json ({model, prompts_file, options,\n"
    "models: [{label, adapter, generated_tokens, seconds, tokens_per_second}], prompts: [{line,\n"
    "prompt, reference, answers: [{model, text, finish_reason, prompt_tokens, generated_tokens,\n"
    "prefill_seconds, decode_seconds}]}]}) and PREFIX.md.",
    compare_options(),
    0,
};

int compare_run(const parsed_args& args) {
  for (const char* required : {"model", "adapters", "prompts"})
    if (!args.was_given(required)) {
      log_error("smelt compare: --{} is required", required);
      return exit_usage;
    }
  const std::string model_dir = args.get("model");
  std::vector<std::string> adapter_dirs = split_list(args.get("adapters"));
  if (adapter_dirs.empty()) {
    log_error("smelt compare: --adapters: expected one or more directories, got '{}'", args.get("adapters"));
    return exit_usage;
  }
  auto prompts = prompts_read(args.get("prompts"));
  if (!prompts) {
    log_error("smelt compare: {}", prompts.message());
    return exit_failed;
  }
  auto rt = generation_open_runtime(args, model_dir);
  if (!rt) {
    log_error("smelt compare: {}", rt.message());
    return exit_failed;
  }
  auto setup = generation_setup_from_args(args, *rt);
  if (!setup) {
    log_error("smelt compare: {}", setup.message());
    return exit_usage;
  }

  std::vector<compare_model> models(1);
  models[0].label = "base";
  for (const std::string& dir : adapter_dirs) {
    auto a = model_runtime_load_adapter(*rt, dir);
    if (!a) {
      log_error("smelt compare: {}", a.message());
      return exit_failed;
    }
    compare_model& m = models.emplace_back();
    m.label = adapter_label(dir);
    m.adapter_dir = dir;
    m.adapter = std::move(*a);
  }
  // Two adapters named alike (step-10 of two runs) are labelled by their full paths instead.
  std::vector<std::string> labels;
  for (const compare_model& m : models) labels.push_back(m.label);
  for (size_t k = 1; k < models.size(); ++k)
    if (std::count(labels.begin(), labels.end(), labels[k]) > 1) models[k].label = models[k].adapter_dir;

  // Prompt ids once per prompt: every model sees exactly the same tokens.
  std::vector<std::vector<int32_t>> ids;
  for (const compare_prompt& p : *prompts) {
    if (args.flag("raw")) {
      ids.push_back(tokenizer_encode(rt->tok, p.user, true));
      continue;
    }
    std::vector<chat_message> messages;
    if (!p.system.empty())
      messages.push_back({"system", p.system});
    else if (args.was_given("system"))
      messages.push_back({"system", args.get("system")});
    messages.push_back({"user", p.user});
    auto r = model_runtime_chat_prompt(*rt, messages, setup->render);
    if (!r) {
      log_error("smelt compare: {}:{}: {}", args.get("prompts"), p.line, r.message());
      return exit_failed;
    }
    ids.push_back(std::move(*r));
  }

  kv_cache cache = kv_cache_create(rt->model->config, setup->context);
  std::vector<std::vector<compare_answer>> answers(prompts->size());
  for (size_t i = 0; i < prompts->size(); ++i) {
    const compare_prompt& p = (*prompts)[i];
    std::string block =
        fmt::format("=== prompt {}/{} (line {}) ===\n{}\n", i + 1, prompts->size(), p.line, p.user);
    if (p.reference) block += fmt::format("--- reference ---\n{}\n", *p.reference);
    for (compare_model& m : models) {
      generate_options gen = setup->gen;
      gen.adapter = m.adapter ? &*m.adapter : nullptr;
      kv_cache_truncate(cache, 0);  // a fresh cache each time, as `smelt generate` starts with
      auto r = generate(*rt->model, rt->tok, cache, ids[i], gen);
      if (!r) {
        log_error("smelt compare: {}:{}: {}: {}", args.get("prompts"), p.line, m.label, r.message());
        return exit_failed;
      }
      m.seconds += r->prefill_seconds + r->decode_seconds;
      m.generated_tokens += static_cast<int64_t>(r->ids.size());
      block += fmt::format("--- {} ({} tokens, {}) ---\n{}\n", m.label, r->ids.size(), r->finish_reason,
                           shown_answer(r->text));
      answers[i].push_back({std::move(*r)});
    }
    block += "\n";
    std::fwrite(block.data(), 1, block.size(), stdout);
    std::fflush(stdout);
  }

  const std::string prefix = args.get("out");
  std::string json = json_report(model_dir, args.get("prompts"), models, *prompts, answers, *setup)
                         .dump(2, ' ', false, nlohmann::json::error_handler_t::replace) +
                     "\n";
  std::string md = markdown_report(model_dir, models, *prompts, answers, setup->gen.sampling.seed);
  for (auto [path, data] : {std::pair{prefix + ".json", &json}, std::pair{prefix + ".md", &md}})
    if (auto s = file_write_atomic(path, *data); !s) {
      log_error("smelt compare: {}", s.message());
      return exit_failed;
    }
  std::fprintf(stderr, "wrote %s.json and %s.md\n", prefix.c_str(), prefix.c_str());
  return exit_ok;
}

}  // namespace smelt
