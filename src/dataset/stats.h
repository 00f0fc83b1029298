// Summary statistics of a chat dataset: examples, messages, characters (code points) per role,
// and min/mean/max per example. Token counts need a tokenizer and are left to src/model.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>

#include "dataset/chat.h"

namespace smelt {

struct stats_range {
  size_t min = 0;
  size_t max = 0;
  size_t total = 0;
  size_t count = 0;  // examples seen
  double mean() const { return count ? static_cast<double>(total) / static_cast<double>(count) : 0.0; }
  void add(size_t value);
};

struct stats_role {
  size_t messages = 0;     // messages with this role, over the dataset
  stats_range characters;  // per example: characters of this role's content (0 if absent)
};

struct dataset_stats {
  size_t examples = 0;
  size_t skipped_lines = 0;  // lines that were not usable chat examples
  stats_range messages;      // messages per example
  stats_range characters;    // characters of all content per example
  stats_role system, user, assistant;
};

void stats_add(dataset_stats& stats, const chat_example& example);
nlohmann::ordered_json stats_to_json(const dataset_stats& stats);
// A small table, each line indented by two spaces:
//   role       messages  characters  min  mean  max   (per example)
std::string stats_render(const dataset_stats& stats);

}  // namespace smelt
