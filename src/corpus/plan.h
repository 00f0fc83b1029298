// The corpus plan: documents -> units of source text (structure-aware chunks, or whole documents cut
// at the spec's character cap in seed mode) -> a pair quota per unit, and the rendering of one request
// for a unit (messages, journal key). Sending requests, checking answers and writing files are the
// builder's (builder.h); prompt texts come from prompts.h / dify_workflow.h.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "core/chat_message.h"
#include "core/result.h"
#include "corpus/prompt_spec.h"
#include "extract/document.h"

namespace smelt {

enum class quota_mode {
  per_chunk,     // value pairs for every unit
  per_1k_chars,  // value pairs per 1,000 characters, as a total spread like quota_mode::total
  total,         // value pairs in all, spread over units in proportion to their size
};

struct quota_options {
  quota_mode mode = quota_mode::per_chunk;
  double value = 3;
};

struct plan_settings {
  prompt_spec spec;
  std::string trigger;            // the system message of every training line
  std::string model;              // the model asked (already resolved from --model / the spec)
  size_t chunk_size = 1500;       // chunk budget in characters (code points)
  std::string language = "auto";  // auto | zh | en
  quota_options quota;
};

struct plan_document {
  std::string file;  // the path as the user gave it (or as found in a directory)
  document doc;
  std::string rendered;      // document_render(doc, markdown).text; offsets refer to it
  std::string content_hash;  // journal_key({rendered})
};

struct plan_unit {
  size_t document = 0;   // index into corpus_plan::documents
  std::string chunk_id;  // "c0003"; "doc" in whole_document mode
  std::string key;       // journal_key({content_hash, chunk_id}): the unit's identity across runs
  std::string heading;   // breadcrumb "A > B"; empty in whole_document mode
  std::string text;      // what {{text}} becomes: rendered[begin, begin + text.size())
  size_t begin = 0;      // byte offset of text in the document's rendered text
  int page_first = 0;    // 0 when the document has no pages
  int page_last = 0;
  size_t chars = 0;      // code points in text
  size_t quota = 0;      // pairs wanted from this unit
  bool chinese = false;  // {{language}}: from --language, else detected from text
};

struct corpus_plan {
  std::vector<plan_document> documents;
  std::vector<plan_unit> units;       // in document order, then reading order
  std::vector<std::string> problems;  // "FILE: reason" for inputs that were skipped
};

// Extracts and plans. In whole_document mode (the seed preset) all documents are joined into one
// text before the cap, as the seed workflow does. Files that fail or have no text are skipped with a problem
// line; an error when no input has any text.
result<corpus_plan> plan_build(const std::vector<std::filesystem::path>& inputs,
                               const plan_settings& settings);
// The same from documents already extracted (each with doc.source set); used by plan_build and tests.
result<corpus_plan> plan_from_documents(std::vector<document> docs, const plan_settings& settings);

// Sets every unit's quota. total/per_1k_chars: largest remainder over unit sizes (code points),
// ties to the earlier unit, so the result is deterministic and sums exactly to the total.
void plan_assign_quotas(std::vector<plan_unit>& units, const quota_options& quota);
// count split into requests of at most per_request pairs: (25, 10) -> {10, 10, 5}.
std::vector<size_t> plan_split_count(size_t count, size_t per_request);

// One request, ready to send. phase/round/part place it in the run (builder.h); they are part of
// the journal key, so a rerun finds it again.
struct plan_request {
  size_t unit = 0;
  int phase = 0;
  int round = 0;  // 0 = first ask, >0 = top-up
  int part = 0;
  size_t count = 0;
  std::vector<chat_message> messages;
  std::string key;  // journal_key({content hash, chunk id, rendered prompt, model, sampling, place})
};

plan_request plan_render_request(const corpus_plan& plan, const plan_settings& settings, size_t unit,
                                 int phase, int round, int part, size_t count,
                                 const std::vector<std::string>& avoid);

// "temperature=0.3 top_p=- frequency_penalty=0.5 max_tokens=4096": the sampling part of keys.
std::string plan_sampling_string(const prompt_spec& spec);
// Hash of the prompt templates and answer format (the provenance's prompt hash).
std::string plan_prompt_hash(const prompt_spec& spec);

struct plan_estimate {
  size_t units = 0;
  size_t pairs = 0;
  size_t requests = 0;
  size_t tokens_in = 0;   // chunk_estimate_tokens over every first-round prompt
  size_t tokens_out = 0;  // pairs * plan_tokens_per_pair, capped by max_tokens per request
};
// A guess at the completion tokens one pair costs (question + answer + quote as JSON).
inline constexpr size_t plan_tokens_per_pair = 160;
plan_estimate plan_estimate_tokens(const corpus_plan& plan, const plan_settings& settings);

}  // namespace smelt
