// train_data.h: validation through the dataset module (generic profile), rendering and masks
// through model/chat_tokens.h.
#include "train/train_data.h"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>
#include <random>

#include "dataset/jsonl_reader.h"
#include "dataset/validate.h"
#include "model/chat_tokens.h"

namespace smelt {

int64_t train_sample::target_count() const {
  return std::count(trained.begin() + (trained.empty() ? 0 : 1), trained.end(), uint8_t{1});
}

result<train_data> train_data_load(const std::filesystem::path& path, const chat_template& tmpl,
                                   const tokenizer& tok, int64_t max_tokens, overlength_policy policy) {
  const validate_profile* profile = validate_profile_find("generic");
  validate_options vopts;
  vopts.duplicates = false;
  auto report = validate_file(path, *profile, vopts);
  if (!report) return report.err();
  if (!report->ok()) {
    std::string msg =
        fmt::format("{}: {} error(s); fix them first (smelt data check / smelt data fix):", path.string(),
                    report->errors);
    int shown = 0;
    for (const problem& p : report->problems) {
      if (p.severity != problem_severity::error) continue;
      if (shown++ == 5) break;
      msg += "\n  " + problem_format(p, path.string());
    }
    return make_error(msg);
  }

  auto reader = jsonl_reader::open(path);
  if (!reader) return reader.err();
  train_data data;
  jsonl_line line;
  while (reader->next(line)) {
    if (jsonl_line_is_blank(line.text)) continue;
    auto value = jsonl_parse(line.text);
    if (!value) return make_error(fmt::format("{}:{}: {}", path.string(), line.number, value.message()));
    std::vector<problem> problems;
    auto example = validate_example(*value, line.number, *profile, problems);
    if (!example) return make_error(fmt::format("{}:{}: not a chat example", path.string(), line.number));
    auto tokens = chat_tokenize(tmpl, tok, example->messages, false);
    if (!tokens) return make_error(fmt::format("{}:{}: {}", path.string(), line.number, tokens.message()));
    train_sample s{std::move(tokens->ids), std::move(tokens->token_trained), line.number};
    if (static_cast<int64_t>(s.ids.size()) > max_tokens) {
      if (policy == overlength_skip) {
        data.notes.push_back(fmt::format("{}:{}: skipped: {} tokens, more than --max-tokens {}",
                                         path.string(), line.number, s.ids.size(), max_tokens));
        ++data.skipped;
        continue;
      }
      data.notes.push_back(fmt::format("{}:{}: truncated: {} tokens cut to --max-tokens {}", path.string(),
                                       line.number, s.ids.size(), max_tokens));
      s.ids.resize(static_cast<size_t>(max_tokens));
      s.trained.resize(static_cast<size_t>(max_tokens));
      ++data.truncated;
    }
    if (s.target_count() == 0) {
      data.notes.push_back(
          fmt::format("{}:{}: skipped: no assistant token to train on", path.string(), line.number));
      ++data.skipped;
      continue;
    }
    data.tokens += static_cast<int64_t>(s.ids.size());
    data.target_tokens += s.target_count();
    data.samples.push_back(std::move(s));
  }
  if (data.samples.empty()) return make_error(fmt::format("{}: no sample left to train on", path.string()));
  return data;
}

std::vector<train_sample> train_data_split(std::vector<train_sample>& data, double fraction, uint64_t seed) {
  size_t n = static_cast<size_t>(std::llround(fraction * static_cast<double>(data.size())));
  n = std::min(n, data.size() > 0 ? data.size() - 1 : 0);
  std::vector<size_t> order(data.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::mt19937_64 rng(seed ^ 0x5eed5eedull);
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
  std::vector<uint8_t> to_val(data.size(), 0);
  for (size_t i = 0; i < n; ++i) to_val[order[i]] = 1;
  std::vector<train_sample> train, val;
  for (size_t i = 0; i < data.size(); ++i) (to_val[i] ? val : train).push_back(std::move(data[i]));
  data = std::move(train);
  return val;
}

}  // namespace smelt
