// trainer.h. The run is a pure function of (options, data, seed): epoch e visits samples in a
// shuffle seeded by (seed, e); step k packs its samples into micro-batches in order; dropout masks
// come from (seed, step, micro-batch). So a resumed run needs only the step count, the adapter and
// the optimizer state, and repeats the uninterrupted run's numbers exactly.
#include "train/trainer.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <numeric>
#include <random>
#include <set>

#include "core/files.h"
#include "core/random.h"
#include "engine/model_runtime.h"
#include "train/checkpoint.h"
#include "train/lora_adapter.h"
#include "train/optimizer.h"

namespace smelt {

namespace fs = std::filesystem;

namespace {

// The model, its tokenizer and its chat template, which chat training data cannot do without.
result<model_runtime> open_model(const fs::path& dir, matmul_backend backend) {
  auto rt = model_runtime_open(dir, backend);
  if (!rt) return rt.err();
  if (!rt->tmpl)
    return make_error(fmt::format(
        "{}: no chat template in tokenizer_config.json: training on chat data needs it", dir.string()));
  return rt;
}

// Samples packed in order into micro-batches of at most BUDGET tokens (a longer sample goes alone).
std::vector<packed_batch> pack(const std::vector<const train_sample*>& samples, int64_t budget) {
  std::vector<packed_batch> out;
  int64_t used = 0;
  for (const train_sample* s : samples) {
    const int64_t n = static_cast<int64_t>(s->ids.size());
    if (out.empty() || used + n > budget) {
      out.emplace_back();
      used = 0;
    }
    packed_batch_add(out.back(), s->ids, s->trained);
    used += n;
  }
  return out;
}

std::vector<size_t> epoch_order(size_t n, uint64_t seed, int64_t epoch) {
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::mt19937_64 rng(splitmix64_hash(seed ^ splitmix64_hash(static_cast<uint64_t>(epoch) + 1)));
  for (size_t i = n; i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
  return order;
}

result<loss_sum> evaluate(lora_model& m, const std::vector<train_sample>& samples, int64_t budget) {
  std::vector<const train_sample*> all;
  for (const auto& s : samples) all.push_back(&s);
  loss_sum total;
  for (const packed_batch& b : pack(all, budget)) {
    auto r = lora_model_loss(m, b);
    if (!r) return r.err();
    total.sum += r->sum;
    total.count += r->count;
  }
  return total;
}

// Checkpoint steps: N evenly spaced over TOTAL (the last one is the final step).
std::set<int64_t> checkpoint_steps(int64_t n, int64_t total) {
  std::set<int64_t> steps;
  for (int64_t i = 1; i <= n; ++i) steps.insert(std::max<int64_t>(1, (total * i + n / 2) / n));
  return steps;
}

nlohmann::ordered_json resolved_config(const train_options& o, int64_t total_steps, int64_t warmup,
                                       size_t train_n, size_t val_n) {
  nlohmann::ordered_json j;
  j["model"] = o.model_dir.string();
  j["data"] = o.data.string();
  j["val"] = o.val.string();
  j["val_split"] = o.val_split;
  j["epochs"] = o.epochs;
  j["lr"] = o.lr;
  j["batch_size"] = o.batch_size;
  j["lora_rank"] = o.lora.rank;
  j["lora_alpha"] = o.lora.alpha;
  j["lora_dropout"] = o.lora.dropout;
  j["rslora"] = o.lora.rslora;
  std::vector<std::string> targets;
  for (int t = 0; t < lora_target_count; ++t)
    if (o.lora.targets[t]) targets.push_back(lora_target_name(static_cast<lora_target>(t)));
  j["targets"] = targets;
  j["max_tokens"] = o.max_tokens;
  j["overlength"] = o.overlength == overlength_skip ? "skip" : "truncate";
  j["micro_batch_tokens"] = o.micro_batch_tokens;
  j["activation_gib"] = o.activation_gib;
  j["checkpoints"] = o.checkpoints;
  j["schedule"] = lr_schedule_name(o.schedule);
  j["warmup_ratio"] = o.warmup_ratio;
  j["warmup_steps"] = warmup;
  j["weight_decay"] = o.weight_decay;
  j["max_grad_norm"] = o.max_grad_norm;
  j["seed"] = o.seed;
  j["total_steps"] = total_steps;
  j["train_samples"] = train_n;
  j["val_samples"] = val_n;
  return j;
}

// Keeps metrics.jsonl lines of steps <= STEP (a resumed run rewrites what came after its checkpoint).
status metrics_truncate(const fs::path& path, int64_t step) {
  std::ifstream in(path);
  if (!in) return {};
  std::string line, kept;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object() && j.contains("step") && j["step"].get<int64_t>() <= step) kept += line + "\n";
  }
  return file_write_atomic(path, kept);
}

}  // namespace

result<train_summary> train_run(const train_options& o,
                                const std::function<void(const train_progress&)>& on_step,
                                const std::function<void(const std::string&)>& on_note,
                                const std::atomic<bool>* cancel) {
  auto note = [&](const std::string& s) {
    if (on_note) on_note(s);
  };
  if (o.epochs < 1 || o.batch_size < 1 || o.max_tokens < 2 || o.lora.rank < 1 || !(o.lr > 0))
    return make_error(
        "train: epochs, batch size, LoRA rank and lr must be positive and max tokens at least 2");
  auto opened = open_model(o.model_dir, o.backend);
  if (!opened) return opened.err();
  transformer& base = *opened->model;

  auto data = train_data_load(o.data, *opened->tmpl, opened->tok, o.max_tokens, o.overlength);
  if (!data) return data.err();
  train_summary summary;
  summary.notes = data->notes;
  for (const auto& n : data->notes) note(n);
  std::vector<train_sample> train = std::move(data->samples), val;
  if (!o.val.empty()) {
    auto v = train_data_load(o.val, *opened->tmpl, opened->tok, o.max_tokens, o.overlength);
    if (!v) return v.err();
    for (const auto& n : v->notes) note(n);
    val = std::move(v->samples);
  } else if (o.val_split > 0) {
    val = train_data_split(train, o.val_split, o.seed);
  }

  const int64_t steps_per_epoch = (static_cast<int64_t>(train.size()) + o.batch_size - 1) / o.batch_size;
  const int64_t total = steps_per_epoch * o.epochs;
  const int64_t warmup = static_cast<int64_t>(std::llround(o.warmup_ratio * static_cast<double>(total)));
  std::set<int64_t> ckpt_steps = checkpoint_steps(o.checkpoints, total);

  std::error_code ec;
  fs::create_directories(o.out, ec);
  if (ec) return make_error(fmt::format("{}: cannot create directory: {}", o.out.string(), ec.message()));
  const fs::path metrics_path = o.out / "metrics.jsonl";

  lora_model model = lora_model_create(base, o.lora);
  model.activation_budget = static_cast<int64_t>(o.activation_gib * (1 << 30));
  std::vector<adamw_group> groups = lora_model_parameters(model);
  adamw_options aopts;
  aopts.weight_decay = o.weight_decay;
  adamw opt(groups, aopts);
  int64_t start = 0;
  std::optional<double> best_eval;
  int64_t best_step = -1;
  if (o.resume) {
    std::vector<std::string> warnings;
    auto latest = checkpoint_latest(o.out, &warnings);
    for (const auto& w : warnings) note(w);
    if (!latest)
      return make_error(fmt::format("{}: --resume: no complete checkpoint to resume from", o.out.string()));
    adapter a;
    auto state = checkpoint_load(latest->dir, a, opt);
    if (!state) return state.err();
    auto loaded = lora_model_from_adapter(base, a);
    if (!loaded) return loaded.err();
    // Copy the weights into the model the optimizer points at (same layout: same options).
    for (size_t l = 0; l < model.layers.size(); ++l)
      for (int t = 0; t < lora_target_count; ++t) {
        auto& dst = model.layers[l][t];
        auto& src = loaded->layers[l][t];
        if (dst.has_value() != src.has_value() || (dst && (dst->w.A.size() != src->w.A.size())))
          return make_error(fmt::format("{}: the checkpoint's adapter does not match this run's LoRA options",
                                        latest->dir.string()));
        if (dst) dst->w.A = src->w.A, dst->w.B = src->w.B;
      }
    start = state->step;
    best_eval = state->best_eval_loss;
    if (auto best = checkpoint_best(o.out); best && *best) best_step = **best;
    if (auto s = metrics_truncate(metrics_path, start); !s) return s.err();
    note(fmt::format("resuming from {} (step {} of {})", latest->dir.string(), start, total));
  } else {
    if (fs::exists(metrics_path) || fs::exists(o.out / "checkpoints"))
      return make_error(fmt::format(
          "{}: already holds a run; pass --resume to continue it or choose another --out", o.out.string()));
  }
  if (auto s = file_write_atomic(o.out / "config.json",
                                 resolved_config(o, total, warmup, train.size(), val.size()).dump(2) + "\n");
      !s)
    return s.err();

  std::ofstream metrics(metrics_path, std::ios::app);
  if (!metrics) return make_error(fmt::format("{}: cannot open for writing", metrics_path.string()));
  const auto run_start = std::chrono::steady_clock::now();
  int64_t tokens_done = 0;
  const std::string base_name = o.model_dir.string();

  auto save_checkpoint = [&](int64_t step, double loss, std::optional<double> eval_loss) -> status {
    checkpoint_state st;
    st.step = step;
    st.epoch = static_cast<double>(step) / static_cast<double>(steps_per_epoch);
    st.samples_seen = std::min<int64_t>(step * o.batch_size, static_cast<int64_t>(train.size()) * o.epochs);
    st.data_cursor = (step % steps_per_epoch) * o.batch_size;
    st.loss = loss;
    st.eval_loss = eval_loss;
    st.best_eval_loss = best_eval;
    st.rng_state = fmt::format("seed {}", o.seed);  // every random draw derives from (seed, step)
    return checkpoint_write(o.out, st, lora_model_to_adapter(model, base_name), opt);
  };
  // A write that fails mid-run (a full disk): say what is safe and how to go on.
  int64_t last_saved = start;
  auto stopped_by = [&](const std::string& why) {
    return make_error(
        last_saved > 0
            ? fmt::format("{}; the last good checkpoint is {}/checkpoints/step-{}: free space, then rerun "
                          "with --resume",
                          why, o.out.string(), last_saved)
            : fmt::format("{}; no checkpoint was saved yet", why));
  };

  double last_loss = NAN;
  for (int64_t step = start; step < total; ++step) {
    const auto step_start = std::chrono::steady_clock::now();
    const int64_t epoch = step / steps_per_epoch, in_epoch = step % steps_per_epoch;
    std::vector<size_t> order = epoch_order(train.size(), o.seed, epoch);
    std::vector<const train_sample*> chosen;
    for (int64_t i = in_epoch * o.batch_size;
         i < std::min<int64_t>((in_epoch + 1) * o.batch_size, order.size()); ++i)
      chosen.push_back(&train[order[static_cast<size_t>(i)]]);
    std::vector<packed_batch> micro = pack(chosen, o.micro_batch_tokens);
    int64_t count = 0, tokens = 0;
    for (const auto& b : micro) count += b.label_count(), tokens += static_cast<int64_t>(b.ids.size());

    lora_model_zero_grads(model);
    double sum = 0;
    for (size_t i = 0; i < micro.size(); ++i) {
      auto r = lora_model_forward_backward(
          model, micro[i], 1.0f / static_cast<float>(count),
          splitmix64_hash(o.seed ^ splitmix64_hash(static_cast<uint64_t>(step) * 1024 + i)));
      if (!r) return r.err();
      sum += r->sum;
    }
    const double grad_norm = clip_grad_norm(groups, o.max_grad_norm);
    if (!std::isfinite(grad_norm))
      return make_error(
          fmt::format("step {}: the gradient norm is {} (loss {}); the last checkpoint is intact — "
                      "lower --lr or check the data",
                      step + 1, grad_norm, sum / static_cast<double>(count)));
    const double lr = lr_at(step, o.schedule, o.lr, warmup, total);
    opt.step(lr);
    last_loss = sum / static_cast<double>(count);
    tokens_done += tokens;

    const int64_t done = step + 1;
    train_progress p;
    p.step = done;
    p.total_steps = total;
    p.epoch = static_cast<double>(done) / static_cast<double>(steps_per_epoch);
    p.loss = last_loss;
    p.lr = lr;
    p.grad_norm = grad_norm;
    double step_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - step_start).count();
    p.tokens_per_second = static_cast<double>(tokens) / std::max(step_seconds, 1e-9);
    const bool at_checkpoint = ckpt_steps.count(done) > 0 || done == total;
    std::optional<double> eval_loss;
    if (at_checkpoint && !val.empty()) {
      auto e = evaluate(model, val, o.micro_batch_tokens);
      if (!e) return e.err();
      eval_loss = e->count ? e->sum / static_cast<double>(e->count) : NAN;
      p.eval_loss = *eval_loss;
    }
    p.elapsed_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - run_start).count();
    p.eta_seconds = p.elapsed_seconds / static_cast<double>(done - start) * static_cast<double>(total - done);

    nlohmann::ordered_json m;
    m["step"] = done;
    m["epoch"] = p.epoch;
    m["loss"] = p.loss;
    m["lr"] = p.lr;
    m["grad_norm"] = p.grad_norm;
    m["tokens_per_second"] = p.tokens_per_second;
    if (eval_loss) m["eval_loss"] = *eval_loss;
    metrics << m.dump() << "\n";
    metrics.flush();
    if (!metrics) return stopped_by(fmt::format("{}: write failed at step {}", metrics_path.string(), done));

    if (eval_loss && (!best_eval || *eval_loss < *best_eval)) {
      best_eval = eval_loss;
      best_step = done;
    }
    const bool stopping = cancel && cancel->load();
    if (at_checkpoint || stopping) {
      if (auto s = save_checkpoint(done, last_loss, eval_loss); !s) return stopped_by(s.message());
      last_saved = done;
      if (eval_loss && best_step == done)
        if (auto s = checkpoint_mark_best(o.out, done); !s) return stopped_by(s.message());
    }
    if (on_step) on_step(p);
    summary.steps = done;
    if (stopping && done < total) {
      summary.cancelled = true;
      note(fmt::format("stopped after step {} of {}; checkpoint saved: rerun with --resume to continue", done,
                       total));
      return summary;
    }
  }
  if (auto s = checkpoint_write_final(o.out, lora_model_to_adapter(model, base_name)); !s)
    return stopped_by(s.message());
  summary.final_loss = last_loss;
  summary.final_dir = o.out / "final";
  if (best_eval) {
    summary.best_eval_loss = *best_eval;
    summary.best_checkpoint = fmt::format("step-{}", best_step);
  }
  (void)tokens_done;
  return summary;
}

result<eval_result> eval_run(const fs::path& model_dir, const fs::path& adapter_dir,
                             const fs::path& data_path, int64_t max_tokens, matmul_backend backend) {
  auto opened = open_model(model_dir, backend);
  if (!opened) return opened.err();
  auto data = train_data_load(data_path, *opened->tmpl, opened->tok, max_tokens, overlength_truncate);
  if (!data) return data.err();
  lora_model model;
  if (adapter_dir.empty()) {
    lora_options none;
    none.targets = {};
    model = lora_model_create(*opened->model, none);
  } else {
    auto a = adapter_read(adapter_dir);
    if (!a) return a.err();
    auto m = lora_model_from_adapter(*opened->model, *a);
    if (!m) return m.err();
    model = std::move(*m);
  }
  auto total = evaluate(model, data->samples, std::max<int64_t>(max_tokens, 4096));
  if (!total) return total.err();
  eval_result r;
  r.tokens = total->count;
  r.samples = static_cast<int64_t>(data->samples.size());
  r.loss = total->count ? total->sum / static_cast<double>(total->count) : NAN;
  return r;
}

}  // namespace smelt
