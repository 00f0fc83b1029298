// smelt's training benchmark: the time of one LoRA optimizer step (lora_model_forward_backward per
// sequence, global-norm clip, AdamW) on a model dir with random token samples, every position after
// the first trained. Same protocol and FLOP count as bench/train_torch_peer.py (one untimed warmup
// step, mean of --steps timed ones) so bench/train.sh can set both side by side. One JSON line.
#include <fmt/format.h>
#include <omp.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <string>

#include "engine/transformer.h"
#include "train/lora_model.h"
#include "train/optimizer.h"

using namespace smelt;

namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct options {
  int64_t seq = 512, batch_size = 1, steps = 3, rank = 16;
  double alpha = 32, dropout = 0, peak_tflops = 0, activation_gib = 4;  // smelt train's default
  std::string targets = "all";
  uint64_t seed = 0;
  matmul_backend backend = matmul_backend_onednn;
};

// Model FLOPs per trained token (recompute not counted), as train_torch_peer.py's flop_count:
// 4·N_frozen + 6·N_lora + 6·L·H·head_dim·T, N_frozen = every q,k,v,o,gate,up,down weight of every
// layer plus the LM head, N_lora = Σ over adapted linears of r·(in + out).
struct flops {
  double per_token = 0, n_frozen = 0, n_lora = 0;
};

flops flop_count(const lora_model& m, int64_t seq) {
  const transformer& b = *m.base;
  flops f;
  for (size_t l = 0; l < b.layers.size(); ++l) {
    const transformer_layer& y = b.layers[l];
    for (const weight_matrix* w :
         {&y.q_proj, &y.k_proj, &y.v_proj, &y.o_proj, &y.gate_proj, &y.up_proj, &y.down_proj})
      f.n_frozen += double(w->rows) * double(w->cols);
    for (const auto& p : m.layers[l])
      if (p) f.n_lora += double(p->w.rank) * double(p->w.in + p->w.out);
  }
  f.n_frozen += double(b.lm_head.rows) * double(b.lm_head.cols);
  const model_config& c = b.config;
  f.per_token =
      4 * f.n_frozen + 6 * f.n_lora +
      6.0 * double(b.layers.size()) * double(c.num_attention_heads) * double(c.head_dim) * double(seq);
  return f;
}

int usage() {
  std::fprintf(
      stderr,
      "usage: train_bench MODEL_DIR [--seq 512] [--batch-size 1] [--steps 3] [--rank 16] [--alpha 32]\n"
      "       [--dropout 0] [--targets all] [--seed 0] [--peak-tflops X] [--backend onednn|reference]\n"
      "       [--activation-memory GIB (4, as smelt train; 0: always recompute)]\n"
      "       (threads: OMP_NUM_THREADS)\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') return usage();
  options o;
  for (int i = 2; i < argc; i += 2) {
    std::string k = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "train_bench: %s needs a value\n", k.c_str());
      return 2;
    }
    std::string v = argv[i + 1];
    try {
      if (k == "--seq")
        o.seq = std::stoll(v);
      else if (k == "--batch-size")
        o.batch_size = std::stoll(v);
      else if (k == "--steps")
        o.steps = std::stoll(v);
      else if (k == "--rank")
        o.rank = std::stoll(v);
      else if (k == "--alpha")
        o.alpha = std::stod(v);
      else if (k == "--dropout")
        o.dropout = std::stod(v);
      else if (k == "--targets")
        o.targets = v;
      else if (k == "--seed")
        o.seed = std::stoull(v);
      else if (k == "--activation-memory")
        o.activation_gib = std::stod(v);
      else if (k == "--peak-tflops")
        o.peak_tflops = std::stod(v);
      else if (k == "--backend")
        o.backend = v == "reference" ? matmul_backend_reference : matmul_backend_onednn;
      else {
        std::fprintf(stderr, "train_bench: unknown option %s\n", k.c_str());
        return usage();
      }
    } catch (const std::exception&) {
      std::fprintf(stderr, "train_bench: %s: not a number: '%s'\n", k.c_str(), v.c_str());
      return 2;
    }
  }
  if (o.seq < 2 || o.batch_size < 1 || o.steps < 1 || o.rank < 1 || o.dropout < 0 || o.dropout >= 1) {
    std::fprintf(stderr,
                 "train_bench: --seq (>= 2), --batch-size, --steps, --rank must be positive, "
                 "--dropout in [0, 1)\n");
    return 2;
  }
  auto targets = lora_targets_parse(o.targets);
  if (!targets) {
    std::fprintf(stderr, "train_bench: %s\n", targets.message().c_str());
    return 2;
  }
  const double t_load = now();
  auto dir = model_dir_open(argv[1]);
  if (!dir) {
    std::fprintf(stderr, "train_bench: %s\n", dir.message().c_str());
    return 1;
  }
  auto model = transformer_create(std::move(*dir), o.backend);
  if (!model) {
    std::fprintf(stderr, "train_bench: %s\n", model.message().c_str());
    return 1;
  }
  transformer& base = **model;
  const double load_s = now() - t_load;
  lora_options lo;
  lo.rank = o.rank;
  lo.alpha = o.alpha;
  lo.dropout = o.dropout;
  lo.targets = *targets;
  lo.seed = o.seed;
  lora_model m = lora_model_create(base, lo);
  m.activation_budget = static_cast<int64_t>(o.activation_gib * (1 << 30));
  std::vector<adamw_group> groups = lora_model_parameters(m);
  adamw opt(groups, adamw_options{});

  std::mt19937_64 rng(o.seed);
  std::uniform_int_distribution<int32_t> pick(0, static_cast<int32_t>(base.config.vocab_size) - 1);
  const std::vector<uint8_t> trained(static_cast<size_t>(o.seq), 1);
  uint64_t dropout_seed = o.seed;
  // One step: every sequence of the batch accumulated (one forward/backward each, as the peer), the
  // loss divided once by the step's trained-token count, clip at 1.0, AdamW at lr 1e-4.
  auto step = [&](double& loss) -> status {
    lora_model_zero_grads(m);
    std::vector<packed_batch> batch(static_cast<size_t>(o.batch_size));
    int64_t count = 0;
    for (auto& b : batch) {
      std::vector<int32_t> ids(static_cast<size_t>(o.seq));
      for (auto& id : ids) id = pick(rng);
      packed_batch_add(b, ids, trained);
      count += b.label_count();
    }
    double sum = 0;
    for (auto& b : batch) {
      auto r = lora_model_forward_backward(m, b, 1.0f / static_cast<float>(count), ++dropout_seed);
      if (!r) return r.err();
      sum += r->sum;
    }
    clip_grad_norm(groups, 1.0);
    opt.step(1e-4);
    loss = sum / static_cast<double>(count);
    return {};
  };

  double loss = 0;
  if (auto s = step(loss); !s) {  // warmup: primitives, allocations, AdamW state
    std::fprintf(stderr, "train_bench: %s\n", s.message().c_str());
    return 1;
  }
  std::vector<double> times, losses;
  for (int64_t i = 0; i < o.steps; ++i) {
    const double t = now();
    if (auto s = step(loss); !s) {
      std::fprintf(stderr, "train_bench: %s\n", s.message().c_str());
      return 1;
    }
    times.push_back(now() - t);
    losses.push_back(loss);
  }
  double step_s = 0;
  for (double t : times) step_s += t;
  step_s /= static_cast<double>(times.size());
  const double tokens = static_cast<double>(o.seq * o.batch_size);
  const flops f = flop_count(m, o.seq);
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  std::string all, ls;
  for (size_t i = 0; i < times.size(); ++i) {
    all += fmt::format("{}{:.3f}", i ? "," : "", times[i]);
    ls += fmt::format("{}{:.4f}", i ? "," : "", losses[i]);
  }
  const char* wait = std::getenv("OMP_WAIT_POLICY");
  std::string out = fmt::format(
      "{{\"impl\":\"smelt\",\"backend\":\"{}\",\"seq\":{},\"batch_size\":{},\"rank\":{},\"targets\":\"{}\","
      "\"tokens_per_s\":{:.2f},\"step_seconds\":{:.3f},\"step_seconds_all\":[{}],\"peak_rss_mib\":{:.1f},"
      "\"flops_per_token\":{:.0f},\"flops_formula\":\"4*N_frozen + 6*N_lora + 6*L*H*head_dim*T (model FLOPs, "
      "recompute not counted)\",\"n_frozen_matmul_params\":{:.0f},\"n_lora_params\":{:.0f},\"threads\":{},"
      "\"omp_wait_policy\":\"{}\",\"activation_gib\":{},\"load_s\":{:.2f},\"losses\":[{}]",
      matmul_backend_description(*base.matmul), o.seq, o.batch_size, o.rank, o.targets, tokens / step_s,
      step_s, all, ru.ru_maxrss / 1024.0, f.per_token, f.n_frozen, f.n_lora, omp_get_max_threads(),
      wait ? wait : "", o.activation_gib, load_s, ls);
  if (o.peak_tflops > 0)
    out += fmt::format(",\"mfu\":{:.4f},\"peak_tflops\":{}",
                       tokens / step_s * f.per_token / (o.peak_tflops * 1e12), o.peak_tflops);
  std::printf("%s}\n", out.c_str());
  return 0;
}
