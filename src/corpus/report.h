// What a corpus run reports: coverage per document, requests, tokens, cost, rejections by reason and
// the concurrency reached, as OUT.report.json and as a short printed summary. Also the price table
// (--price-table FILE). Counting happens in the builder (builder.h); this file only holds and formats.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace smelt {

struct corpus_price {
  double input_per_1m = 0;  // currency units per million prompt tokens
  double output_per_1m = 0;
};

// {"MODEL": {"input_per_1m": x, "output_per_1m": y}, ...}. Errors name the file and the entry.
result<std::map<std::string, corpus_price>> corpus_price_table_load(const std::filesystem::path& path);
double corpus_cost(const corpus_price& price, long long tokens_in, long long tokens_out);

struct corpus_coverage {
  std::string file;
  size_t chunks = 0;
  size_t pairs_wanted = 0;  // the quota
  size_t pairs_asked = 0;   // summed over requests processed (top-ups included)
  size_t pairs_accepted = 0;
};

struct corpus_rejection {
  std::string file;
  std::string chunk_id;
  std::string reason;  // e.g. "ungrounded", "answer_unsupported", "near_duplicate", "malformed"
  std::string detail;
  std::string question;
};

struct corpus_report {
  std::string generator;  // "llm" | "template"
  std::string model;
  std::string prompt;  // the prompt_spec's name
  std::string prompt_hash;
  std::vector<corpus_coverage> documents;
  std::vector<std::string> skipped;  // inputs without text or that failed to extract
  size_t requests_planned = 0;       // requests the run reached (first asks and top-ups)
  size_t requests_sent = 0;
  size_t requests_replayed = 0;  // answered from the journal
  size_t requests_failed = 0;
  long long tokens_in = 0;  // sent in this run (server-reported usage, estimated when absent)
  long long tokens_out = 0;
  size_t usage_estimated = 0;  // answers without usage whose tokens were estimated
  std::optional<corpus_price> price;
  std::map<std::string, size_t> rejections;  // by reason
  // Accepted pairs by how they were grounded: "quote" (found in the chunk), "answer" (no quote; the
  // answer's own content is supported by the chunk), "none" (grounding off or not asked for).
  std::map<std::string, size_t> grounded_by;
  std::vector<corpus_rejection> rejected;
  int concurrency = 0;
  int peak_in_flight = 0;
  double elapsed_seconds = 0;
  size_t lines_total = 0;         // lines in OUT.jsonl after the run
  size_t lines_new = 0;           // of those, written by this run
  std::string stop = "complete";  // complete | budget | cancelled | failed | nothing_accepted
  std::string message;            // why it stopped, when not complete
};

nlohmann::ordered_json corpus_report_to_json(const corpus_report& report);
// A few lines for the terminal: pairs written, coverage, requests, tokens, cost, rejections.
std::string corpus_report_summary(const corpus_report& report);
// For a run that accepted no pair: "0 of N wanted pairs accepted; most rejections: REASON (n) —
// what to change (a flag, the prompt or the model); ..." naming where the details are.
std::string corpus_report_nothing_accepted(const corpus_report& report, const std::string& report_path,
                                           const std::string& journal_path);

}  // namespace smelt
