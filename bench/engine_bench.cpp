// smelt's engine benchmark: prefill and greedy-decode tokens/s and peak memory of a model dir on
// this CPU. Same protocol as bench/engine_torch_peer.py (random prompt ids from a seed, one warmup,
// best of --reps, logits of the last position only) so bench/engine.sh can print both side by side.
// Prints one JSON line; judges nothing.
#include <fmt/format.h>
#include <omp.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <string>

#include "engine/transformer.h"

using namespace smelt;

namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct timing {
  double prefill = 1e30, decode = 1e30;
};

status run_once(transformer& m, const std::vector<int32_t>& prompt, int decode_tokens, timing& best) {
  kv_cache cache = kv_cache_create(m.config, static_cast<int64_t>(prompt.size()) + decode_tokens + 1);
  std::vector<float> logits;
  double t0 = now();
  if (auto s = transformer_forward(m, cache, prompt, logits); !s) return s;
  int32_t next = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  double t1 = now();
  for (int i = 0; i < decode_tokens; ++i) {
    int32_t ids[1] = {next};
    if (auto s = transformer_forward(m, cache, ids, logits); !s) return s;
    next = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  }
  double t2 = now();
  best.prefill = std::min(best.prefill, t1 - t0);
  best.decode = std::min(best.decode, t2 - t1);
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(
        stderr,
        "usage: engine_bench MODEL_DIR [--prompt-tokens 128] [--decode-tokens 32] [--reps 3] [--seed 0]\n"
        "       [--backend onednn|reference]  (threads: OMP_NUM_THREADS)\n");
    return 2;
  }
  int prompt_tokens = 128, decode_tokens = 32, reps = 3;
  unsigned seed = 0;
  matmul_backend backend = matmul_backend_onednn;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--prompt-tokens")
      prompt_tokens = std::stoi(v);
    else if (k == "--decode-tokens")
      decode_tokens = std::stoi(v);
    else if (k == "--reps")
      reps = std::stoi(v);
    else if (k == "--seed")
      seed = static_cast<unsigned>(std::stoul(v));
    else if (k == "--backend")
      backend = v == "reference" ? matmul_backend_reference : matmul_backend_onednn;
    else {
      std::fprintf(stderr, "engine_bench: unknown option %s\n", k.c_str());
      return 2;
    }
  }
  auto dir = model_dir_open(argv[1]);
  if (!dir) {
    std::fprintf(stderr, "engine_bench: %s\n", dir.message().c_str());
    return 1;
  }
  auto model = transformer_create(std::move(*dir), backend);
  if (!model) {
    std::fprintf(stderr, "engine_bench: %s\n", model.message().c_str());
    return 1;
  }
  transformer& m = **model;
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> pick(
      0, static_cast<int32_t>(std::min<int64_t>(m.config.vocab_size, 150000)) - 1);
  std::vector<int32_t> prompt(static_cast<size_t>(prompt_tokens));
  for (auto& id : prompt) id = pick(rng);

  timing best, warm;
  if (auto s = run_once(m, prompt, decode_tokens, warm); !s) {
    std::fprintf(stderr, "engine_bench: %s\n", s.message().c_str());
    return 1;
  }
  for (int r = 0; r < reps; ++r)
    if (auto s = run_once(m, prompt, decode_tokens, best); !s) return 1;
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::printf("%s\n",
              fmt::format("{{\"impl\":\"smelt\",\"backend\":\"{}\",\"prefill_tokens_per_s\":{:.1f},"
                          "\"decode_tokens_per_s\":{:.2f},\"peak_rss_mib\":{:.0f},\"threads\":{}}}",
                          matmul_backend_description(*m.matmul), prompt_tokens / best.prefill,
                          decode_tokens / best.decode, usage.ru_maxrss / 1024.0, omp_get_max_threads())
                  .c_str());
  return 0;
}
