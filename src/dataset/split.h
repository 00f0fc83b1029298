// Deterministic train/validation split of a JSONL file, optionally keeping all lines from one
// source chunk on the same side (read from the corpus builder's provenance file). Lines are
// copied byte for byte; checking them is validate.h's job.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/result.h"

namespace smelt {

struct split_indexes {
  std::vector<size_t> train;  // ascending item indexes
  std::vector<size_t> val;    // ascending item indexes
  size_t groups = 0;          // distinct groups (items when not grouping)
};

// Chooses about round(count * val_fraction) validation items (at least 1 when val_fraction > 0
// and count >= 2, never all of them) by a seeded shuffle that gives the same answer on every
// platform. With groups (one key per item; empty vector = every item its own group), whole
// groups go to one side: groups are shuffled and taken until the target is reached.
split_indexes split_choose(size_t count, const std::vector<std::string>& groups, double val_fraction,
                           uint64_t seed);

// FILE.jsonl -> FILE.provenance.jsonl (a name without .jsonl just gets .provenance.jsonl added).
std::filesystem::path split_provenance_path(const std::filesystem::path& file);

struct split_options {
  double val_fraction = 0.1;
  uint64_t seed = 42;
  bool by_source = false;  // group by provenance "chunk_id" (else "source") of each line
};

struct split_report {
  size_t train = 0;
  size_t val = 0;
  size_t groups = 0;
  std::filesystem::path train_path, val_path;
};

// Writes DIR/train.jsonl and DIR/val.jsonl (creating DIR). Blank lines are dropped. With
// by_source the provenance file must exist and have one JSON object per line of input, each with
// a "chunk_id" or "source" (string or number); errors name the provenance file and line.
result<split_report> split_file(const std::filesystem::path& input, const std::filesystem::path& out_dir,
                                const split_options& options);

}  // namespace smelt
