// `smelt train` as a library call: a LoRA fine-tuning run over chat JSONL with SiliconCloud's knobs,
// logging every step to runs/NAME/metrics.jsonl, evenly spaced checkpoints, the final adapter and
// the best checkpoint by eval loss, exact resume, and a clean stop on cancel. The step math lives
// in lora_model.h; files in checkpoint.h and model/adapter.h.
#pragma once

#include <atomic>
#include <cmath>
#include <filesystem>
#include <functional>
#include <string>

#include "engine/matmul.h"
#include "train/lora_model.h"
#include "train/schedule.h"
#include "train/train_data.h"

namespace smelt {

struct train_options {
  std::filesystem::path model_dir, data, val, out;
  double val_split = 0;  // used when val is empty
  int64_t epochs = 3;
  double lr = 1e-4;
  int64_t batch_size = 8;  // samples per optimizer step
  lora_options lora;
  int64_t max_tokens = 4096;
  overlength_policy overlength = overlength_truncate;
  int64_t micro_batch_tokens = 4096;  // samples packed into micro-batches of at most this many tokens
  double activation_gib = 4;          // keep a micro-batch's activations up to this size (else recompute)
  int64_t checkpoints = 0;            // evenly spaced, besides final/
  lr_schedule schedule = lr_schedule_cosine;
  double warmup_ratio = 0.0;
  double weight_decay = 0.0;
  double max_grad_norm = 1.0;
  uint64_t seed = 42;
  bool resume = false;
  matmul_backend backend = matmul_backend_onednn;
};

struct train_progress {
  int64_t step = 0, total_steps = 0;
  double epoch = 0, loss = 0, lr = 0, grad_norm = 0, tokens_per_second = 0;
  double eval_loss = NAN;  // NaN when not evaluated this step
  double elapsed_seconds = 0, eta_seconds = 0;
};

struct train_summary {
  int64_t steps = 0;
  double final_loss = NAN, best_eval_loss = NAN;
  std::string best_checkpoint;  // "step-N", empty without validation data
  std::filesystem::path final_dir;
  bool cancelled = false;
  std::vector<std::string> notes;  // skipped/truncated samples
};

// Runs the whole job. ON_STEP is called after every step (and with messages via ON_NOTE);
// CANCEL (may be null) stops after the current step, saving a checkpoint to resume from.
result<train_summary> train_run(const train_options& options,
                                const std::function<void(const train_progress&)>& on_step,
                                const std::function<void(const std::string&)>& on_note,
                                const std::atomic<bool>* cancel);

// `smelt eval`: mean loss over trained tokens of DATA with the model (and adapter when not empty),
// same masks and normalisation as training.
struct eval_result {
  double loss = NAN;
  int64_t tokens = 0;  // trained tokens counted
  int64_t samples = 0;
};
result<eval_result> eval_run(const std::filesystem::path& model_dir, const std::filesystem::path& adapter_dir,
                             const std::filesystem::path& data, int64_t max_tokens, matmul_backend backend);

}  // namespace smelt
