// Planning: extraction, units (chunks or capped whole documents), quotas and request rendering.
// Everything here is deterministic: the same inputs and settings give the same units, quotas and keys.
#include "corpus/plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "core/files.h"
#include "core/text.h"
#include "corpus/journal.h"
#include "corpus/prompts.h"
#include "extract/chunk.h"
#include "extract/extract.h"

namespace smelt {

namespace fs = std::filesystem;

namespace {

// The first max_chars code points of s (all of s when max_chars is 0).
std::string_view cut_chars(std::string_view s, size_t max_chars) {
  if (max_chars == 0) return s;
  size_t i = 0, n = 0;
  while (i < s.size() && n < max_chars) {
    utf8_next(s, i);
    ++n;
  }
  return s.substr(0, i);
}

bool unit_is_chinese(const std::string& language, std::string_view text) {
  if (language == "zh") return true;
  if (language == "en") return false;
  return text_cjk_ratio(text) >= 0.3;
}

std::string join_breadcrumb(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : " > ") + p;
  return out;
}

// Pages of the blocks whose rendered span starts before `end` (whole-document mode).
void whole_document_pages(const plan_document& d, const rendered_document& r, size_t end, plan_unit& u) {
  for (const anchor& a : d.doc.anchors) {
    if (a.kind != anchor_kind::page) continue;
    size_t at = a.block < r.spans.size() ? r.spans[a.block].begin : r.text.size();
    if (at >= end && u.page_first != 0) continue;
    if (u.page_first == 0) u.page_first = a.number;
    if (at < end) u.page_last = std::max(u.page_last, a.number);
  }
  if (u.page_last == 0) u.page_last = u.page_first;
}

// Whole-document mode follows the seed workflow: the texts of all documents are joined into one
// text (and then cut at the character cap), so later documents get nothing once the cap is reached.
std::vector<document> plan_join_documents(std::vector<document> docs, std::vector<std::string>& problems) {
  std::vector<document> with_text;
  for (document& doc : docs) {
    if (text_trim(document_render(doc, render_format::markdown).text).empty()) {
      problems.push_back(fmt::format("{}: no text to build questions from; skipped", doc.source));
      continue;
    }
    with_text.push_back(std::move(doc));
  }
  if (with_text.size() <= 1) return with_text;
  document joined;
  for (const document& doc : with_text) {
    joined.source += (joined.source.empty() ? "" : " + ") + doc.source;
    document_append(joined, doc);
  }
  joined.format = "joined";
  std::vector<document> out;
  out.push_back(std::move(joined));
  return out;
}

}  // namespace

std::vector<size_t> plan_split_count(size_t count, size_t per_request) {
  std::vector<size_t> parts;
  if (per_request == 0) per_request = 1;
  while (count > 0) {
    size_t n = std::min(count, per_request);
    parts.push_back(n);
    count -= n;
  }
  return parts;
}

void plan_assign_quotas(std::vector<plan_unit>& units, const quota_options& quota) {
  if (quota.mode == quota_mode::per_chunk) {
    size_t each = quota.value > 0 ? static_cast<size_t>(std::llround(quota.value)) : 0;
    for (auto& u : units) u.quota = each;
    return;
  }
  size_t chars = 0;
  for (const auto& u : units) chars += u.chars;
  double wanted =
      quota.mode == quota_mode::total ? quota.value : quota.value * static_cast<double>(chars) / 1000.0;
  size_t total = wanted > 0 ? static_cast<size_t>(std::llround(wanted)) : 0;
  if (units.empty()) return;
  if (chars == 0) chars = 1;
  // Largest remainder: floor shares first, then one more to the largest remainders (earlier wins ties).
  std::vector<std::pair<double, size_t>> remainders;
  size_t given = 0;
  for (size_t i = 0; i < units.size(); ++i) {
    double exact =
        static_cast<double>(total) * static_cast<double>(units[i].chars) / static_cast<double>(chars);
    units[i].quota = static_cast<size_t>(std::floor(exact));
    given += units[i].quota;
    remainders.push_back({exact - std::floor(exact), i});
  }
  std::stable_sort(remainders.begin(), remainders.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t k = 0; given < total && k < remainders.size(); ++k, ++given)
    ++units[remainders[k].second].quota;
}

result<corpus_plan> plan_from_documents(std::vector<document> docs, const plan_settings& settings) {
  corpus_plan plan;
  if (settings.spec.whole_document) docs = plan_join_documents(std::move(docs), plan.problems);
  chunk_options chunking;
  chunking.budget = std::max<size_t>(1, settings.chunk_size);
  chunking.unit = chunk_unit::chars;
  chunking.format = render_format::markdown;
  for (document& doc : docs) {
    plan_document d;
    d.file = doc.source;
    rendered_document r = document_render(doc, render_format::markdown);
    if (text_trim(r.text).empty()) {
      plan.problems.push_back(fmt::format("{}: no text to build questions from; skipped", doc.source));
      continue;
    }
    d.rendered = r.text;
    d.content_hash = journal_key({d.rendered});
    d.doc = std::move(doc);
    size_t index = plan.documents.size();
    if (settings.spec.whole_document) {
      plan_unit u;
      u.document = index;
      u.chunk_id = "doc";
      u.text = std::string(cut_chars(d.rendered, settings.spec.char_cap));
      u.begin = 0;
      u.chars = utf8_length(u.text);
      u.chinese = unit_is_chinese(settings.language, u.text);
      u.key = journal_key({d.content_hash, u.chunk_id});
      whole_document_pages(d, r, u.text.size(), u);
      plan.units.push_back(std::move(u));
    } else {
      for (chunk& c : chunk_document(d.doc, chunking)) {
        if (text_trim(c.text).empty()) continue;
        plan_unit u;
        u.document = index;
        u.chunk_id = c.id;
        u.heading = join_breadcrumb(c.breadcrumb);
        // Overlap is off, so the text is exactly rendered[begin, end).
        u.text = std::move(c.text);
        u.begin = c.begin;
        u.page_first = c.page_first;
        u.page_last = c.page_last;
        u.chars = utf8_length(u.text);
        u.chinese = unit_is_chinese(settings.language, u.text);
        u.key = journal_key({d.content_hash, u.chunk_id});
        plan.units.push_back(std::move(u));
      }
    }
    plan.documents.push_back(std::move(d));
  }
  if (plan.units.empty()) {
    std::string why = plan.problems.empty() ? "no input documents" : plan.problems.front();
    return make_error(fmt::format("no document has any text to build questions from ({})", why));
  }
  plan_assign_quotas(plan.units, settings.quota);
  return plan;
}

result<corpus_plan> plan_build(const std::vector<fs::path>& inputs, const plan_settings& settings) {
  std::vector<std::string> problems;
  std::vector<document> docs;
  for (const auto& root : inputs) {
    walk_result walked = files_walk({root});
    for (const auto& p : walked.problems)
      problems.push_back(fmt::format("{}: {}", p.path.string(), p.reason));
    bool is_dir = fs::is_directory(root);
    for (const auto& f : walked.files) {
      if (is_dir && extract_detect_format(f, {}).empty()) continue;
      auto doc = extract_file(f);
      if (!doc.ok()) {
        problems.push_back(doc.message());
        continue;
      }
      doc->source = f.string();
      docs.push_back(std::move(*doc));
    }
  }
  auto plan = plan_from_documents(std::move(docs), settings);
  if (!plan.ok()) {
    if (!problems.empty())
      return make_error(
          fmt::format("no document has any text to build questions from ({})", problems.front()));
    return plan;
  }
  problems.insert(problems.end(), plan->problems.begin(), plan->problems.end());
  plan->problems = std::move(problems);
  return plan;
}

std::string plan_sampling_string(const prompt_spec& spec) {
  auto num = [](const std::optional<double>& v) { return v ? fmt::format("{}", *v) : std::string("-"); };
  return fmt::format("temperature={} top_p={} frequency_penalty={} max_tokens={}", num(spec.temperature),
                     num(spec.top_p), num(spec.frequency_penalty),
                     spec.max_tokens ? std::to_string(*spec.max_tokens) : std::string("-"));
}

std::string plan_prompt_hash(const prompt_spec& spec) {
  return journal_key({spec.system_template, spec.user_template,
                      spec.format == prompt_answer_format::json_fields ? "json_fields" : "seed_messages"});
}

plan_request plan_render_request(const corpus_plan& plan, const plan_settings& settings, size_t unit,
                                 int phase, int round, int part, size_t count,
                                 const std::vector<std::string>& avoid) {
  const plan_unit& u = plan.units[unit];
  const plan_document& d = plan.documents[u.document];
  std::map<std::string, std::string> values = {
      {"trigger", settings.trigger},        {"text", u.text},
      {"count", std::to_string(count)},     {"heading", u.heading},
      {"avoid", corpus_avoid_block(avoid)}, {"language", u.chinese ? "Chinese" : "English"},
  };
  plan_request r;
  r.unit = unit;
  r.phase = phase;
  r.round = round;
  r.part = part;
  r.count = count;
  std::string system = prompt_render(settings.spec.system_template, values);
  std::string user = prompt_render(settings.spec.user_template, values);
  if (!text_trim(system).empty()) r.messages.push_back({"system", system});
  if (!text_trim(user).empty()) r.messages.push_back({"user", user});
  std::string place = fmt::format("phase={} round={} part={}", phase, round, part);
  r.key = journal_key(
      {d.content_hash, u.chunk_id, system, user, settings.model, plan_sampling_string(settings.spec), place});
  return r;
}

plan_estimate plan_estimate_tokens(const corpus_plan& plan, const plan_settings& settings) {
  plan_estimate e;
  for (size_t i = 0; i < plan.units.size(); ++i) {
    const plan_unit& u = plan.units[i];
    if (u.quota == 0) continue;
    ++e.units;
    e.pairs += u.quota;
    std::vector<size_t> parts = plan_split_count(u.quota, settings.spec.pairs_per_request);
    for (size_t p = 0; p < parts.size(); ++p) {
      plan_request r = plan_render_request(plan, settings, i, 0, 0, static_cast<int>(p), parts[p], {});
      ++e.requests;
      for (const auto& m : r.messages) e.tokens_in += chunk_estimate_tokens(m.content);
      size_t out = parts[p] * plan_tokens_per_pair;
      if (settings.spec.max_tokens && *settings.spec.max_tokens > 0)
        out = std::min(out, static_cast<size_t>(*settings.spec.max_tokens));
      e.tokens_out += out;
    }
  }
  return e;
}

}  // namespace smelt
