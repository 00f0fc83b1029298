// Corpus report: price table reading, OUT.report.json, the printed summary and the advice for a run
// that accepted nothing.
#include "corpus/report.h"

#include <fmt/format.h>

#include "core/files.h"

namespace smelt {

result<std::map<std::string, corpus_price>> corpus_price_table_load(const std::filesystem::path& path) {
  auto text = file_read(path);
  if (!text.ok()) return text.err();
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return make_error(
        fmt::format("{}: price table: expected a JSON object {{\"MODEL\": {{\"input_per_1m\": X, "
                    "\"output_per_1m\": Y}}}}",
                    path.string()));
  std::map<std::string, corpus_price> table;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const auto& v = it.value();
    if (!v.is_object() || !v.contains("input_per_1m") || !v["input_per_1m"].is_number() ||
        !v.contains("output_per_1m") || !v["output_per_1m"].is_number())
      return make_error(
          fmt::format("{}: price table: \"{}\": expected {{\"input_per_1m\": number, "
                      "\"output_per_1m\": number}}",
                      path.string(), it.key()));
    table[it.key()] = {v["input_per_1m"].get<double>(), v["output_per_1m"].get<double>()};
  }
  return table;
}

double corpus_cost(const corpus_price& price, long long tokens_in, long long tokens_out) {
  return price.input_per_1m * static_cast<double>(tokens_in) / 1e6 +
         price.output_per_1m * static_cast<double>(tokens_out) / 1e6;
}

nlohmann::ordered_json corpus_report_to_json(const corpus_report& r) {
  nlohmann::ordered_json j;
  j["generator"] = r.generator;
  j["model"] = r.model;
  j["prompt"] = {{"name", r.prompt}, {"hash", r.prompt_hash}};
  j["stop"] = r.stop;
  if (!r.message.empty()) j["message"] = r.message;
  j["lines"] = {{"total", r.lines_total}, {"new", r.lines_new}};
  nlohmann::ordered_json docs = nlohmann::ordered_json::array();
  for (const auto& d : r.documents)
    docs.push_back({{"file", d.file},
                    {"chunks", d.chunks},
                    {"pairs_wanted", d.pairs_wanted},
                    {"pairs_asked", d.pairs_asked},
                    {"pairs_accepted", d.pairs_accepted}});
  j["documents"] = docs;
  j["skipped"] = r.skipped;
  j["requests"] = {{"planned", r.requests_planned},
                   {"sent", r.requests_sent},
                   {"replayed", r.requests_replayed},
                   {"failed", r.requests_failed}};
  j["tokens"] = {{"input", r.tokens_in}, {"output", r.tokens_out}, {"estimated_answers", r.usage_estimated}};
  if (r.price) {
    j["cost"] = {{"input_per_1m", r.price->input_per_1m},
                 {"output_per_1m", r.price->output_per_1m},
                 {"total", corpus_cost(*r.price, r.tokens_in, r.tokens_out)}};
  } else {
    j["cost"] = nullptr;
  }
  nlohmann::ordered_json reasons = nlohmann::ordered_json::object();
  for (const auto& [reason, n] : r.rejections) reasons[reason] = n;
  j["rejections"] = reasons;
  nlohmann::ordered_json grounded = nlohmann::ordered_json::object();
  for (const auto& [how, n] : r.grounded_by) grounded[how] = n;
  j["grounded_by"] = grounded;
  nlohmann::ordered_json rejected = nlohmann::ordered_json::array();
  for (const auto& x : r.rejected)
    rejected.push_back({{"file", x.file},
                        {"chunk_id", x.chunk_id},
                        {"reason", x.reason},
                        {"detail", x.detail},
                        {"question", x.question}});
  j["rejected"] = rejected;
  j["concurrency"] = {{"configured", r.concurrency}, {"peak", r.peak_in_flight}};
  j["elapsed_seconds"] = r.elapsed_seconds;
  return j;
}

std::string corpus_report_summary(const corpus_report& r) {
  std::string out;
  size_t wanted = 0, accepted = 0;
  for (const auto& d : r.documents) wanted += d.pairs_wanted, accepted += d.pairs_accepted;
  out += fmt::format("corpus: {} lines in the output ({} new); {} of {} wanted pairs accepted\n",
                     r.lines_total, r.lines_new, accepted, wanted);
  for (const auto& d : r.documents)
    out += fmt::format("  {}: {} chunk{}, {} asked, {} accepted of {}\n", d.file, d.chunks,
                       d.chunks == 1 ? "" : "s", d.pairs_asked, d.pairs_accepted, d.pairs_wanted);
  for (const auto& s : r.skipped) out += fmt::format("  skipped: {}\n", s);
  if (r.generator == "template") {
    out += "generator: offline templates (lower quality; no requests sent)\n";
    if (r.stop != "complete") out += fmt::format("stopped ({}): {}\n", r.stop, r.message);
    return out;
  }
  out += fmt::format("requests: {} sent, {} replayed from the journal, {} failed\n", r.requests_sent,
                     r.requests_replayed, r.requests_failed);
  out +=
      fmt::format("tokens: {} in, {} out{}", r.tokens_in, r.tokens_out,
                  r.usage_estimated ? fmt::format(" ({} answers without usage, estimated)", r.usage_estimated)
                                    : std::string());
  if (r.price) out += fmt::format("; cost {:.4f}", corpus_cost(*r.price, r.tokens_in, r.tokens_out));
  out += "\n";
  if (!r.rejections.empty()) {
    out += "rejected:";
    for (const auto& [reason, n] : r.rejections) out += fmt::format(" {} {}", reason, n);
    out += "\n";
  }
  if (!r.grounded_by.empty()) {
    out += "grounded by:";
    for (const auto& [how, n] : r.grounded_by) out += fmt::format(" {} {}", how, n);
    out += "\n";
  }
  out += fmt::format("concurrency: peak {} of {}; elapsed {:.1f} s\n", r.peak_in_flight, r.concurrency,
                     r.elapsed_seconds);
  // nothing_accepted is printed by the caller as the error it is.
  if (r.stop != "complete" && r.stop != "nothing_accepted")
    out += fmt::format("stopped ({}): {}\n", r.stop, r.message);
  return out;
}

namespace {

// What to change when most pairs were rejected for `reason`.
std::string corpus_rejection_advice(const std::string& reason) {
  if (reason == "answer_unsupported")
    return "the answers brought no quote and most of their content is not in their chunk: use a prompt "
           "that asks for a \"quote\" copied from the text (the default prompt does) or a model that keeps "
           "to the text; lower --answer-support, or --no-grounding to keep such pairs unchecked";
  if (reason == "ungrounded")
    return "the quotes were not found in their chunks: use a model that copies quotes verbatim, lower "
           "--grounding-threshold, or --no-grounding to keep them unchecked";
  if (reason == "malformed")
    return "the answers were not JSON smelt could read: use a prompt that asks for a JSON array of "
           "{\"question\", \"answer\", \"quote\"} objects (the default prompt does) or a model that "
           "follows the format";
  if (reason == "cut_off")
    return "the answers were cut off at the token cap: raise --max-tokens or lower --pairs-per-chunk";
  if (reason == "duplicate" || reason == "near_duplicate")
    return "the model kept asking the same questions: raise --temperature or --frequency-penalty, or use "
           "another model";
  if (reason == "question_length" || reason == "answer_length" || reason == "invalid")
    return "the pairs broke the length or SiliconFlow rules: change the prompt or the model";
  return "check the prompt and the model";
}

}  // namespace

std::string corpus_report_nothing_accepted(const corpus_report& r, const std::string& report_path,
                                           const std::string& journal_path) {
  size_t wanted = 0;
  for (const auto& d : r.documents) wanted += d.pairs_wanted;
  std::string head = fmt::format("0 of {} wanted pairs accepted", wanted);
  if (r.rejections.empty()) {
    if (r.generator == "template")
      return head +
             "; the template generator found nothing to ask about in the text — use an LLM "
             "(--base-url)";
    return head + fmt::format(
                      "; the answers held no question/answer pairs — use a prompt that asks for a JSON "
                      "array of {{\"question\", \"answer\", \"quote\"}} objects (the default prompt "
                      "does) or another model; the answers are in {}",
                      journal_path);
  }
  // The most frequent reason; ties go to the first in name order.
  auto top = r.rejections.begin();
  for (auto it = r.rejections.begin(); it != r.rejections.end(); ++it)
    if (it->second > top->second) top = it;
  return head + fmt::format("; most rejections: {} ({}) — {}; every rejection is listed in {}", top->first,
                            top->second, corpus_rejection_advice(top->first), report_path);
}

}  // namespace smelt
