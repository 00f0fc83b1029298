// `smelt corpus build`: documents -> grounded Q&A chat JSONL through an OpenAI-compatible LLM or the
// offline template generator. This file turns options into a plan_settings / corpus_options, owns the
// SIGINT handler and the exit codes; planning and running are corpus/plan.h and corpus/builder.h.
// Exit codes: 0 done, 1 failed (also: no pair accepted at all), 2 usage or configuration, 3 stopped
// early (token budget), 130 Ctrl-C.
#include <fmt/format.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>

#include "cli/commands.h"
#include "core/files.h"
#include "core/log.h"
#include "core/text.h"
#include "corpus/builder.h"
#include "corpus/dify_workflow.h"
#include "corpus/plan.h"
#include "corpus/prompts.h"
#include "llm/api_key.h"

namespace smelt {

namespace fs = std::filesystem;

const command_spec corpus_build_spec = {
    "corpus build",
    "DOCS...",
    "generate grounded question/answer training lines from documents with an LLM",
    "Each document is cut into structure-aware chunks; every chunk gets a quota of pairs, asked of an\n"
    "OpenAI-compatible endpoint (--base-url, key in $SMELT_API_KEY). Answers must quote their chunk, or\n"
    "without a quote be supported by it. A run that accepts no pair fails and says what to change.\n"
    "Writes OUT.jsonl (training lines), OUT.provenance.jsonl, OUT.report.json and OUT.journal.jsonl;\n"
    "rerunning resumes from the journal and appends only what is missing. Without an endpoint the\n"
    "offline template generator (lower quality) is used.",
    {
        {"trigger", 't', "TEXT", "",
         "required: the system message of every training line (e.g. 你是消防系统专家)"},
        {"out", 'o', "OUT.jsonl", "", "required: where the training lines go"},
        {"base-url", 0, "URL", "$SMELT_BASE_URL",
         "OpenAI-compatible endpoint, e.g. https://api.siliconflow.cn/v1"},
        {"model", 'm', "NAME", "the preset's or the Dify app's", "model name the endpoint serves"},
        {"api-key-env", 0, "VAR", "SMELT_API_KEY",
         "environment variable holding the API key (optional for 127.0.0.1/localhost)"},
        {"pairs-per-chunk", 0, "N", "3",
         "pairs per chunk (with --preset dify-seed: per joined text of all documents, 10)"},
        {"per-1k-chars", 0, "R", "", "instead: R pairs per 1,000 characters, spread by chunk size"},
        {"total", 0, "N", "", "instead: N pairs in all, spread by chunk size"},
        {"concurrency", 'j', "N", "8", "requests in flight at once"},
        {"temperature", 0, "T", "the prompt's, 0.3", "sampling temperature"},
        {"frequency-penalty", 0, "P", "the prompt's, 0.5", "frequency penalty"},
        {"max-tokens", 0, "N", "the prompt's, 4096", "completion token cap per request"},
        {"prompt", 0, "FILE", "",
         "user prompt template with {{text}} {{count}} {{trigger}} {{heading}} {{avoid}} {{language}}"},
        {"language", 0, "auto|zh|en", "auto", "language of the questions (auto: from each chunk's text)"},
        {"dry-run", 'n', "", "", "print the plan and a token/cost estimate; send nothing"},
        {"budget-tokens", 0, "N", "0",
         "stop cleanly once this many tokens (prompt + completion) are used; 0 = no cap"},
        {"price-table", 0, "FILE", "",
         "JSON {\"MODEL\": {\"input_per_1m\": X, \"output_per_1m\": Y}} for cost"},
        {"generator", 0, "llm|template", "llm with a base URL, else template",
         "llm, or the offline template generator (lower quality)"},
        {"preset", 0, "default|dify-seed", "default",
         "dify-seed: the seed Dify workflow (whole documents, 80,000 "
         "characters, 10 questions per call)"},
        {"dify-workflow", 0, "FILE", "", "run a Dify app export (YAML DSL) natively"},
        {"chunk-size", 0, "N", "1500", "chunk budget in characters"},
        {"no-grounding", 0, "", "", "keep pairs without checking their quote or answer against the chunk"},
        {"grounding-threshold", 0, "X", "0.85", "how closely a quote must match its chunk, 0..1"},
        {"answer-support", 0, "X", "0.5",
         "share of a quote-less answer's content that must be found in its chunk, 0..1"},
        {"timeout", 0, "SECONDS", "120", "per-request timeout"},
        {"max-retries", 0, "N", "6", "retries on 429, 5xx, timeouts and dropped connections"},
        {"quiet", 'q', "", "", "print errors and the summary only"},
    },
    1,
};

namespace {

constexpr int exit_incomplete = 3;
constexpr int exit_interrupted = 130;

std::atomic<bool> interrupted{false};

extern "C" void corpus_on_sigint(int) {
  interrupted.store(true);
}

// Installs the SIGINT handler for the life of the object; a second Ctrl-C kills as usual.
class sigint_guard {
 public:
  sigint_guard() {
    struct sigaction sa {};
    sa.sa_handler = corpus_on_sigint;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_);
  }
  ~sigint_guard() { sigaction(SIGINT, &old_, nullptr); }

 private:
  struct sigaction old_ {};
};

bool url_is_loopback(const std::string& url) {
  for (const char* host : {"://127.0.0.1", "://localhost", "://[::1]"})
    if (url.find(host) != std::string::npos) return true;
  return false;
}

result<quota_options> corpus_quota(const parsed_args& args, const prompt_spec& spec) {
  int given = args.was_given("pairs-per-chunk") + args.was_given("per-1k-chars") + args.was_given("total");
  if (given > 1) return make_error("--pairs-per-chunk, --per-1k-chars and --total: give one of them");
  quota_options q;
  if (args.was_given("per-1k-chars")) {
    auto v = args.get_double("per-1k-chars");
    if (!v.ok()) return make_error(v.message());
    if (*v <= 0) return make_error(fmt::format("--per-1k-chars: expected a number above 0, got {}", *v));
    q.mode = quota_mode::per_1k_chars;
    q.value = *v;
  } else if (args.was_given("total")) {
    auto v = args.get_int("total");
    if (!v.ok()) return make_error(v.message());
    if (*v < 1) return make_error(fmt::format("--total: expected at least 1, got {}", *v));
    q.mode = quota_mode::total;
    q.value = static_cast<double>(*v);
  } else if (args.was_given("pairs-per-chunk")) {
    auto v = args.get_int("pairs-per-chunk");
    if (!v.ok()) return make_error(v.message());
    if (*v < 1) return make_error(fmt::format("--pairs-per-chunk: expected at least 1, got {}", *v));
    q.value = static_cast<double>(*v);
  } else {
    q.value = spec.whole_document ? spec.pairs_per_request : 3;
  }
  return q;
}

// The prompt spec from --preset / --dify-workflow, with --prompt and sampling overrides applied.
result<prompt_spec> corpus_spec(const parsed_args& args, std::string& trigger) {
  prompt_spec spec;
  if (args.was_given("dify-workflow")) {
    if (args.was_given("preset")) return make_error("--preset and --dify-workflow: give one of them");
    auto imported = dify_workflow_load(args.get("dify-workflow"));
    if (!imported.ok()) return make_error(imported.message());
    for (const auto& note : imported->notes) log_info("{}: {}", args.get("dify-workflow"), note);
    if (trigger.empty() && imported->trigger_default) trigger = *imported->trigger_default;
    spec = std::move(imported->spec);
  } else {
    spec = args.get("preset") == "dify-seed" ? corpus_prompt_dify_seed() : corpus_prompt_default();
  }
  if (args.was_given("prompt")) {
    auto text = file_read(args.get("prompt"));
    if (!text.ok()) return make_error(fmt::format("--prompt: {}", text.message()));
    spec.user_template = *text;
  }
  if (args.was_given("temperature")) {
    auto v = args.get_double("temperature");
    if (!v.ok()) return make_error(v.message());
    spec.temperature = *v;
  }
  if (args.was_given("frequency-penalty")) {
    auto v = args.get_double("frequency-penalty");
    if (!v.ok()) return make_error(v.message());
    spec.frequency_penalty = *v;
  }
  if (args.was_given("max-tokens")) {
    auto v = args.get_int("max-tokens");
    if (!v.ok()) return make_error(v.message());
    if (*v < 1) return make_error(fmt::format("--max-tokens: expected at least 1, got {}", *v));
    spec.max_tokens = static_cast<int>(*v);
  }
  return spec;
}

void corpus_print_plan(const corpus_plan& plan, const plan_settings& settings,
                       const std::optional<corpus_price>& price, const std::string& generator) {
  plan_estimate e = plan_estimate_tokens(plan, settings);
  std::string out =
      fmt::format("plan: {} document{}, {} chunk{}, {} pairs in {} requests (prompt {}, model {})\n",
                  plan.documents.size(), plan.documents.size() == 1 ? "" : "s", plan.units.size(),
                  plan.units.size() == 1 ? "" : "s", e.pairs, e.requests, settings.spec.name,
                  settings.model.empty() ? "-" : settings.model);
  for (size_t d = 0; d < plan.documents.size(); ++d) {
    size_t chunks = 0, pairs = 0, chars = 0;
    for (const auto& u : plan.units)
      if (u.document == d) ++chunks, pairs += u.quota, chars += u.chars;
    out += fmt::format("  {}: {} characters, {} chunk{}, {} pairs\n", plan.documents[d].file, chars, chunks,
                       chunks == 1 ? "" : "s", pairs);
  }
  for (const auto& p : plan.problems) out += fmt::format("  skipped: {}\n", p);
  if (generator == "llm") {
    out += fmt::format("estimated tokens: ~{} in, ~{} out (about {} per pair; top-ups not counted)\n",
                       e.tokens_in, e.tokens_out, plan_tokens_per_pair);
    out += price ? fmt::format("estimated cost: {:.4f}\n",
                               corpus_cost(*price, static_cast<long long>(e.tokens_in),
                                           static_cast<long long>(e.tokens_out)))
                 : std::string("estimated cost: unknown (no --price-table entry for this model)\n");
  } else {
    out += "generator: offline templates (no tokens, no cost)\n";
  }
  out += "nothing was sent (--dry-run)\n";
  std::fputs(out.c_str(), stdout);
}

}  // namespace

int corpus_build_run(const parsed_args& args) {
  if (args.flag("quiet")) log_set_level(log_level::warn);
  const std::string cmd = "smelt corpus build";
  std::string trigger = args.get("trigger");
  auto spec = corpus_spec(args, trigger);
  if (!spec.ok()) {
    log_error("{}: {}", cmd, spec.message());
    return exit_usage;
  }
  if (text_trim(trigger).empty()) {
    log_error(
        "{}: --trigger: give the system message every training line carries (e.g. --trigger "
        "你是消防系统专家)",
        cmd);
    return exit_usage;
  }
  if (args.get("out").empty()) {
    log_error("{}: --out: give the output file (e.g. --out train.jsonl)", cmd);
    return exit_usage;
  }
  auto quota = corpus_quota(args, *spec);
  if (!quota.ok()) {
    log_error("{}: {}", cmd, quota.message());
    return exit_usage;
  }
  auto chunk_size = args.get_int("chunk-size");
  auto concurrency = args.get_int("concurrency");
  auto budget = args.get_int("budget-tokens");
  auto threshold = args.get_double("grounding-threshold");
  auto support = args.get_double("answer-support");
  auto timeout = args.get_double("timeout");
  auto retries = args.get_int("max-retries");
  for (const std::string* m :
       {chunk_size.ok() ? nullptr : &chunk_size.message(),
        concurrency.ok() ? nullptr : &concurrency.message(), budget.ok() ? nullptr : &budget.message(),
        threshold.ok() ? nullptr : &threshold.message(), support.ok() ? nullptr : &support.message(),
        timeout.ok() ? nullptr : &timeout.message(), retries.ok() ? nullptr : &retries.message()})
    if (m) {
      log_error("{}: {}", cmd, *m);
      return exit_usage;
    }
  if (*chunk_size < 100 || *concurrency < 1 || *concurrency > 1024 || *budget < 0 || *threshold < 0 ||
      *threshold > 1 || *support < 0 || *support > 1 || *timeout <= 0 || *retries < 0) {
    log_error(
        "{}: out of range: --chunk-size at least 100, --concurrency 1-1024, --budget-tokens 0 or more, "
        "--grounding-threshold and --answer-support 0-1, --timeout above 0, --max-retries 0 or more",
        cmd);
    return exit_usage;
  }

  // Endpoint and generator: llm when a base URL is configured (or asked for), else the template generator.
  std::string base_url = args.was_given("base-url") ? args.get("base-url") : "";
  if (base_url.empty())
    if (const char* env = std::getenv("SMELT_BASE_URL")) base_url = env;
  std::string generator = args.was_given("generator") ? args.get("generator") : "";
  if (generator.empty()) {
    generator = base_url.empty() ? "template" : "llm";
    if (generator == "template")
      log_warn(
          "no --base-url or $SMELT_BASE_URL: using the offline template generator (lower quality: formulaic "
          "questions, answers quoted from the text)");
  } else if (generator == "template") {
    log_warn("offline template generator (lower quality: formulaic questions, answers quoted from the text)");
  }
  bool dry_run = args.flag("dry-run");

  plan_settings settings;
  settings.spec = *spec;
  settings.trigger = trigger;
  settings.chunk_size = static_cast<size_t>(*chunk_size);
  settings.language = args.get("language");
  settings.quota = *quota;
  settings.model = args.was_given("model") ? args.get("model") : spec->model;
  if (generator == "template") settings.model = "template";

  llm_config llm;
  llm.base_url = base_url;
  llm.concurrency = static_cast<int>(*concurrency);
  llm.timeout_seconds = *timeout;
  llm.max_retries = static_cast<int>(*retries);
  llm.api_key_env = args.get("api-key-env");
  if (generator == "llm" && !dry_run) {
    if (base_url.empty()) {
      log_error("{}: --generator llm needs an endpoint: give --base-url URL or set $SMELT_BASE_URL", cmd);
      return exit_usage;
    }
    if (settings.model.empty()) {
      log_error("{}: --model: give the model name the endpoint serves (e.g. Qwen/Qwen2.5-7B-Instruct)", cmd);
      return exit_usage;
    }
    auto key = llm_api_key_from_env(llm.api_key_env);
    if (key.ok()) {
      llm.api_key = *key;
    } else if (args.was_given("api-key-env") || !url_is_loopback(base_url)) {
      log_error("{}: {}", cmd, key.message());
      return exit_usage;
    }
  }

  std::optional<corpus_price> price;
  if (args.was_given("price-table")) {
    auto table = corpus_price_table_load(args.get("price-table"));
    if (!table.ok()) {
      log_error("{}: {}", cmd, table.message());
      return exit_usage;
    }
    auto it = table->find(settings.model);
    if (it != table->end())
      price = it->second;
    else
      log_warn("{}: no price for model '{}'; cost not estimated", args.get("price-table"), settings.model);
  }

  std::vector<fs::path> inputs(args.positional.begin(), args.positional.end());
  auto plan = plan_build(inputs, settings);
  if (!plan.ok()) {
    log_error("{}: {}", cmd, plan.message());
    return exit_failed;
  }
  for (const auto& p : plan->problems) log_warn("{}", p);
  if (dry_run) {
    corpus_print_plan(*plan, settings, price, generator);
    return exit_ok;
  }

  corpus_options options;
  options.settings = settings;
  options.out = args.get("out");
  options.generator = generator == "llm" ? corpus_generator::llm : corpus_generator::template_rules;
  options.llm = llm;
  options.checks.grounding = !args.flag("no-grounding");
  options.checks.grounding_threshold = *threshold;
  options.checks.answer_support_threshold = *support;
  options.budget_tokens = *budget;
  options.price = price;
  options.show_progress = !args.flag("quiet");
  options.cancel = &interrupted;
  if (options.out.has_parent_path()) {
    std::error_code ec;
    fs::create_directories(options.out.parent_path(), ec);
  }

  interrupted.store(false);
  sigint_guard guard;
  auto report = corpus_build(*plan, options);
  if (!report.ok()) {
    log_error("{}: {}", cmd, report.message());
    return exit_failed;
  }
  std::fputs(corpus_report_summary(*report).c_str(), stdout);
  std::fflush(stdout);
  if (report->stop == "complete") return exit_ok;
  if (report->stop == "nothing_accepted") {
    log_error("{}: {}", cmd, report->message);
    return exit_failed;
  }
  log_error("{}: stopped ({}): {}", cmd, report->stop, report->message);
  if (report->stop == "cancelled") return exit_interrupted;
  if (report->stop == "budget") return exit_incomplete;
  return exit_failed;
}

}  // namespace smelt
