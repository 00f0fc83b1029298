// The corpus builder: runs a plan (plan.h) through an LLM pool or the offline template generator,
// salvage-parses answers, checks every pair (length, grounding by quote or else by the answer's own
// support in its chunk, duplicates, the siliconflow profile), tops up short chunks, and writes OUT.jsonl,
// OUT.provenance.jsonl, OUT.report.json and the journal OUT.journal.jsonl. Output follows the plan's
// order, so a journal replay reproduces OUT.jsonl byte for byte and appends only what is missing.
// Option parsing, signal handlers and exit codes are the CLI's (cmd_corpus.cpp).
#pragma once

#include <atomic>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "corpus/plan.h"
#include "corpus/report.h"
#include "llm/llm_client.h"

namespace smelt {

enum class corpus_generator { llm, template_rules };

struct corpus_checks {
  // json_fields answers with require_quote: the quote must be found in its chunk; an answer without a
  // quote must itself be supported by the chunk (answer_support.h).
  bool grounding = true;
  double grounding_threshold = 0.85;      // grounding_find's score; see grounding.h for the choice
  double answer_support_threshold = 0.5;  // answer_support_measure's; see answer_support.h
  size_t question_min_chars = 4;          // code points
  size_t question_max_chars = 400;
  size_t answer_min_chars = 2;
  size_t answer_max_chars = 4000;
};

struct corpus_options {
  plan_settings settings;
  std::filesystem::path out;  // OUT.jsonl; the other files sit beside it
  corpus_generator generator = corpus_generator::llm;
  llm_config llm;  // base_url, api_key, model, concurrency, retries; cancel is set from `cancel`
  corpus_checks checks;
  int topup_rounds = 2;         // top-up requests per unit and phase, at most
  long long budget_tokens = 0;  // 0 = no cap; prompt + completion tokens sent in this run
  std::optional<corpus_price> price;
  bool show_progress = true;
  // Set (e.g. by a SIGINT handler) to stop: nothing new is sent, what is done is saved. Not owned.
  const std::atomic<bool>* cancel = nullptr;
};

// OUT.provenance.jsonl, OUT.report.json, OUT.journal.jsonl for OUT.jsonl.
std::filesystem::path corpus_sibling(const std::filesystem::path& out, const std::string& suffix);

// Runs the whole build. Errors (result) are problems found before anything was sent: unreadable or
// mismatched output files, a journal from other settings. Once running, a stop (budget, Ctrl-C, a
// failed request, an output that differs from the replay) is reported in report.stop/message with
// everything done so far saved. A run that ends with no pair accepted at all reports
// stop = "nothing_accepted" and a message naming the main rejection reason and what to change.
result<corpus_report> corpus_build(const corpus_plan& plan, const corpus_options& options);

}  // namespace smelt
