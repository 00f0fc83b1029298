// Training checkpoints, written so that a crash (kill -9, full disk) never leaves one that loads
// wrong: RUN/checkpoints/step-N/ holds a PEFT adapter (adapter_config.json,
// adapter_model.safetensors), optimizer.safetensors (optimizer.h) and trainer_state.json. Each is
// built in checkpoints/.tmp-step-N, every file and the directory fsynced, then renamed into place;
// readers ignore anything not named step-N and writers delete leftover .tmp-* dirs.
// RUN/checkpoints/best holds the text "step-N" (written atomically). What goes into the state and
// when to checkpoint is the trainer's business.
//
// trainer_state.json: {"step": N, "epoch": 1.5, "samples_seen": .., "data_cursor": .., "rng_state": "..",
//                      "loss": .., "eval_loss": .. | null, "best_eval_loss": .. | null, "extra": {...}}
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "model/adapter.h"
#include "train/optimizer.h"

namespace smelt {

struct checkpoint_state {
  int64_t step = 0;  // optimizer steps taken
  double epoch = 0;  // fractional epochs done
  int64_t samples_seen = 0;
  int64_t data_cursor = 0;  // the next sample's position in the (shuffled) epoch order
  std::string rng_state;    // the trainer's generators, serialized as it likes
  double loss = 0;          // the last step's loss (or a running mean: the trainer's choice)
  std::optional<double> eval_loss;
  std::optional<double> best_eval_loss;
  nlohmann::json extra = nlohmann::json::object();  // anything else the trainer needs to resume
};

std::string checkpoint_state_to_json(const checkpoint_state& s);
result<checkpoint_state> checkpoint_state_parse(std::string_view text, const std::string& source);

// RUN_DIR/checkpoints/step-N for N = STATE.step, atomically (see above); an existing step-N is
// replaced atomically. Leftover .tmp-* dirs are removed first. On any failure (full disk, ...) the
// partial directory is removed and the error names the path that failed.
status checkpoint_write(const std::filesystem::path& run_dir, const checkpoint_state& state, const adapter& a,
                        const adamw& optimizer);

// RUN_DIR/final: the adapter alone, replaced atomically the same way.
status checkpoint_write_final(const std::filesystem::path& run_dir, const adapter& a);

struct checkpoint_info {
  std::filesystem::path dir;  // RUN_DIR/checkpoints/step-N
  int64_t step = 0;
  checkpoint_state state;
};

// Complete checkpoints in step order. One with a missing or unparsable file, or whose state's step
// differs from its name, is skipped with a warning (logged, and appended to WARNINGS when given).
std::vector<checkpoint_info> checkpoint_list(const std::filesystem::path& run_dir,
                                             std::vector<std::string>* warnings = nullptr);
// The highest-step complete checkpoint, or nullopt when there is none.
std::optional<checkpoint_info> checkpoint_latest(const std::filesystem::path& run_dir,
                                                 std::vector<std::string>* warnings = nullptr);

// Reads one checkpoint's adapter and loads its optimizer state into OPTIMIZER (whose groups must
// match); returns its state.
result<checkpoint_state> checkpoint_load(const std::filesystem::path& dir, adapter& a, adamw& optimizer);

// RUN_DIR/checkpoints/best := "step-N" (atomically), and reading it back (nullopt when absent).
status checkpoint_mark_best(const std::filesystem::path& run_dir, int64_t step);
result<std::optional<int64_t>> checkpoint_best(const std::filesystem::path& run_dir);

}  // namespace smelt
