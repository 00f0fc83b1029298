// Accumulating and printing dataset statistics.
#include "dataset/stats.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/text.h"

namespace smelt {

void stats_range::add(size_t value) {
  min = count ? std::min(min, value) : value;
  max = count ? std::max(max, value) : value;
  total += value;
  ++count;
}

void stats_add(dataset_stats& stats, const chat_example& example) {
  size_t chars_system = 0, chars_user = 0, chars_assistant = 0;
  for (const auto& m : example.messages) {
    size_t n = utf8_length(m.content);
    if (m.role == "system")
      ++stats.system.messages, chars_system += n;
    else if (m.role == "user")
      ++stats.user.messages, chars_user += n;
    else if (m.role == "assistant")
      ++stats.assistant.messages, chars_assistant += n;
  }
  ++stats.examples;
  stats.messages.add(example.messages.size());
  stats.characters.add(chars_system + chars_user + chars_assistant);
  stats.system.characters.add(chars_system);
  stats.user.characters.add(chars_user);
  stats.assistant.characters.add(chars_assistant);
}

namespace {

double stats_round2(double v) {
  return std::round(v * 100.0) / 100.0;
}

nlohmann::ordered_json stats_range_json(const stats_range& r) {
  nlohmann::ordered_json j;
  j["total"] = r.total;
  j["min"] = r.min;
  j["mean"] = stats_round2(r.mean());
  j["max"] = r.max;
  return j;
}

}  // namespace

nlohmann::ordered_json stats_to_json(const dataset_stats& stats) {
  nlohmann::ordered_json j;
  j["examples"] = stats.examples;
  j["skipped_lines"] = stats.skipped_lines;
  j["messages"] = stats_range_json(stats.messages);
  j["characters"] = stats_range_json(stats.characters);
  nlohmann::ordered_json roles;
  auto role = [&](const char* name, const stats_role& r) {
    nlohmann::ordered_json o;
    o["messages"] = r.messages;
    o["characters"] = stats_range_json(r.characters);
    roles[name] = std::move(o);
  };
  role("system", stats.system);
  role("user", stats.user);
  role("assistant", stats.assistant);
  j["roles"] = std::move(roles);
  return j;
}

std::string stats_render(const dataset_stats& stats) {
  std::string out = fmt::format("  {:<10} {:>9} {:>11}   {:>8} {:>10} {:>8}\n", "", "messages", "characters",
                                "min", "mean", "max");
  auto row = [&](const char* name, size_t messages, const stats_range& r) {
    out += fmt::format("  {:<10} {:>9} {:>11}   {:>8} {:>10.1f} {:>8}\n", name, messages, r.total, r.min,
                       r.mean(), r.max);
  };
  row("system", stats.system.messages, stats.system.characters);
  row("user", stats.user.messages, stats.user.characters);
  row("assistant", stats.assistant.messages, stats.assistant.characters);
  row("all", stats.messages.total, stats.characters);
  out += fmt::format("  messages per example: min {}, mean {:.1f}, max {}\n", stats.messages.min,
                     stats.messages.mean(), stats.messages.max);
  out += "  (min/mean/max: characters per example)\n";
  return out;
}

}  // namespace smelt
