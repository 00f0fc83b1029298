// `smelt train` and `smelt eval`: option tables, the live progress line and Ctrl-C handling; the
// run itself is src/train/trainer.h.
#include <fmt/format.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>

#include "cli/commands.h"
#include "core/log.h"
#include "train/trainer.h"

namespace smelt {

namespace {

std::atomic<bool> g_stop{false};

void on_sigint(int) {
  if (g_stop.exchange(true)) std::_Exit(130);  // a second Ctrl-C stops at once
}

std::string duration_text(double s) {
  if (!std::isfinite(s)) return "?";
  long t = std::lround(s);
  return t >= 3600 ? fmt::format("{}h{:02}m", t / 3600, t / 60 % 60)
                   : fmt::format("{}m{:02}s", t / 60, t % 60);
}

}  // namespace

const command_spec train_spec = {
    "train",
    "",
    "fine-tune a model with LoRA on chat JSONL, with checkpoints",
    "Trains LoRA adapters on --model (a Hugging Face model directory) with --data (chat JSONL as\n"
    "SiliconCloud/OpenAI take it, checked like `smelt data check`). Loss is computed on assistant\n"
    "content and its end-of-turn token only. Writes OUT/config.json, OUT/metrics.jsonl,\n"
    "OUT/checkpoints/step-N/ (PEFT adapter + optimizer state; `best` names the best by eval loss) and\n"
    "OUT/final/. Ctrl-C saves a checkpoint and stops; --resume continues exactly where it stopped.",
    {
        {"model", 'm', "DIR", "", "base model directory, required"},
        {"data", 'd', "FILE", "", "training chat JSONL, required"},
        {"val", 0, "FILE", "", "validation chat JSONL (eval loss at each checkpoint and at the end)"},
        {"val-split", 0, "F", "0", "hold out this fraction of --data for validation when no --val"},
        {"out", 'o', "DIR", "", "run directory, required (e.g. runs/NAME)"},
        {"epochs", 0, "N", "3", "passes over the data"},
        {"lr", 0, "LR", "1e-4", "peak learning rate"},
        {"batch-size", 0, "N", "8", "samples per optimizer step"},
        {"lora-rank", 0, "R", "8", "LoRA rank"},
        {"lora-alpha", 0, "A", "32", "LoRA alpha (scale alpha / rank)"},
        {"lora-dropout", 0, "P", "0.05", "dropout on the LoRA input"},
        {"rslora", 0, "", "", "scale alpha / sqrt(rank) (rsLoRA)"},
        {"targets", 0, "LIST", "all", "adapted linears: all, or some of q,k,v,o,gate,up,down"},
        {"max-tokens", 0, "N", "4096", "longest sample in tokens"},
        {"overlength", 0, "truncate|skip", "truncate", "what to do with a longer sample (always reported)"},
        {"micro-batch-tokens", 0, "N", "4096", "samples of a step are packed into micro-batches this long"},
        {"activation-memory", 0, "GIB", "4",
         "keep a micro-batch's activations for the backward up to this size (a third less compute); "
         "larger ones recompute each layer's"},
        {"checkpoints", 0, "N", "4", "evenly spaced checkpoints (final/ is always written)"},
        {"schedule", 0, "cosine|linear|constant", "cosine", "learning-rate schedule after warmup"},
        {"warmup-ratio", 0, "F", "0.03", "fraction of steps warming up from 0"},
        {"weight-decay", 0, "W", "0", "AdamW decoupled weight decay"},
        {"max-grad-norm", 0, "N", "1.0", "clip gradients to this global norm"},
        {"seed", 0, "N", "42", "seed for LoRA init, data order and dropout"},
        {"resume", 0, "", "", "continue the run in --out from its latest checkpoint"},
        {"backend", 0, "onednn|reference", "onednn", "matmul backend"},
    },
    0,
};

int train_run_command(const parsed_args& args) {
  train_options o;
  o.model_dir = args.get("model");
  o.data = args.get("data");
  o.val = args.get("val");
  o.out = args.get("out");
  if (o.model_dir.empty() || o.data.empty() || o.out.empty()) {
    log_error("smelt train: --model, --data and --out are required");
    return exit_usage;
  }
  std::string bad;
  auto integer = [&](const char* name, int64_t& target, int64_t min) {
    auto v = args.get_int(name);
    if (!v || *v < min)
      bad = fmt::format("--{}: expected an integer >= {}, got '{}'", name, min, args.get(name));
    else
      target = *v;
  };
  auto real = [&](const char* name, double& target, double min, double max) {
    auto v = args.get_double(name);
    if (!v || !(*v >= min && *v <= max))
      bad = fmt::format("--{}: expected a number in [{}, {}], got '{}'", name, min, max, args.get(name));
    else
      target = *v;
  };
  int64_t seed = 0;
  integer("epochs", o.epochs, 1);
  integer("batch-size", o.batch_size, 1);
  integer("lora-rank", o.lora.rank, 1);
  integer("max-tokens", o.max_tokens, 2);
  integer("micro-batch-tokens", o.micro_batch_tokens, 2);
  integer("checkpoints", o.checkpoints, 0);
  integer("seed", seed, 0);
  real("lr", o.lr, 1e-12, 10);
  real("lora-alpha", o.lora.alpha, 1e-9, 1e9);
  real("lora-dropout", o.lora.dropout, 0, 0.99);
  real("val-split", o.val_split, 0, 0.9);
  real("warmup-ratio", o.warmup_ratio, 0, 1);
  real("weight-decay", o.weight_decay, 0, 10);
  real("max-grad-norm", o.max_grad_norm, 1e-9, 1e9);
  real("activation-memory", o.activation_gib, 0, 1 << 20);
  o.seed = static_cast<uint64_t>(seed);
  o.lora.seed = o.seed;
  o.lora.rslora = args.flag("rslora");
  o.resume = args.flag("resume");
  auto targets = lora_targets_parse(args.get("targets"));
  if (!targets)
    bad = "--" + targets.message();
  else
    o.lora.targets = *targets;
  auto schedule = lr_schedule_parse(args.get("schedule"));
  if (!schedule)
    bad = "--schedule: " + schedule.message();
  else
    o.schedule = *schedule;
  const std::string overlength = args.get("overlength");
  if (overlength == "skip")
    o.overlength = overlength_skip;
  else if (overlength != "truncate")
    bad = fmt::format("--overlength: expected truncate|skip, got '{}'", overlength);
  const std::string backend = args.get("backend");
  if (backend == "reference")
    o.backend = matmul_backend_reference;
  else if (backend != "onednn")
    bad = fmt::format("--backend: expected onednn|reference, got '{}'", backend);
  if (!bad.empty()) {
    log_error("smelt train: {}", bad);
    return exit_usage;
  }

  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  const bool tty = isatty(STDERR_FILENO);
  auto r = train_run(
      o,
      [&](const train_progress& p) {
        std::string eval = std::isnan(p.eval_loss) ? "" : fmt::format("  eval {:.4f}", p.eval_loss);
        std::string line = fmt::format(
            "step {}/{}  epoch {:.2f}  loss {:.4f}{}  lr {:.2e}  {:.0f} tok/s  ETA {}", p.step, p.total_steps,
            p.epoch, p.loss, eval, p.lr, p.tokens_per_second, duration_text(p.eta_seconds));
        // On a terminal the line is redrawn in place; eval lines and logs stay.
        if (tty)
          std::fprintf(stderr, eval.empty() ? "\r\033[K%s" : "\r\033[K%s\n", line.c_str());
        else
          std::fprintf(stderr, "%s\n", line.c_str());
        std::fflush(stderr);
      },
      [&](const std::string& note) { std::fprintf(stderr, tty ? "\r\033[K%s\n" : "%s\n", note.c_str()); },
      &g_stop);
  if (tty) std::fputc('\n', stderr);
  if (!r) {
    log_error("smelt train: {}", r.message());
    return exit_failed;
  }
  if (r->cancelled) return 130;
  std::string best = r->best_checkpoint.empty() ? ""
                                                : fmt::format("; best eval loss {:.4f} at checkpoints/{}",
                                                              r->best_eval_loss, r->best_checkpoint);
  std::printf("trained %lld steps, final loss %.4f; adapter in %s%s\n", static_cast<long long>(r->steps),
              r->final_loss, r->final_dir.string().c_str(), best.c_str());
  return exit_ok;
}

const command_spec eval_spec = {
    "eval",
    "",
    "mean loss of a model (optionally with a LoRA adapter) over the trained tokens of chat JSONL",
    "Same masks and normalisation as training: the mean over assistant tokens (and their end-of-turn\n"
    "token) of -log p, and how many tokens were counted.",
    {
        {"model", 'm', "DIR", "", "base model directory, required"},
        {"adapter", 'a', "DIR", "", "PEFT adapter directory (a checkpoint or final/)"},
        {"data", 'd', "FILE", "", "chat JSONL, required"},
        {"max-tokens", 0, "N", "4096", "longer samples are truncated"},
        {"json", 0, "", "", "print {\"loss\", \"tokens\", \"samples\"}"},
        {"backend", 0, "onednn|reference", "onednn", "matmul backend"},
    },
    0,
};

int eval_run_command(const parsed_args& args) {
  if (args.get("model").empty() || args.get("data").empty()) {
    log_error("smelt eval: --model and --data are required");
    return exit_usage;
  }
  auto max_tokens = args.get_int("max-tokens");
  if (!max_tokens || *max_tokens < 2) {
    log_error("smelt eval: --max-tokens: expected an integer >= 2");
    return exit_usage;
  }
  auto r = eval_run(args.get("model"), args.get("adapter"), args.get("data"), *max_tokens,
                    args.get("backend") == "reference" ? matmul_backend_reference : matmul_backend_onednn);
  if (!r) {
    log_error("smelt eval: {}", r.message());
    return exit_failed;
  }
  if (args.flag("json")) {
    nlohmann::ordered_json j;
    j["loss"] = r->loss;
    j["tokens"] = r->tokens;
    j["samples"] = r->samples;
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("loss %.6f over %lld trained tokens in %lld samples\n", r->loss,
                static_cast<long long>(r->tokens), static_cast<long long>(r->samples));
  }
  return exit_ok;
}

}  // namespace smelt
