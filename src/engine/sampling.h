// Token sampling for the generation loop: repetition/frequency/presence penalties, temperature,
// top-k / top-p / min-p filters and a seeded draw, in the order Hugging Face `generate` applies them.
// Leaves the forward pass, EOS ids and stop strings (stop_strings.h) to others. One sampler per
// sequence; not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "core/result.h"

namespace smelt {

struct sampling_params {
  double temperature = 1.0;         // 0: greedy (argmax; ties -> lowest id)
  int64_t top_k = 0;                // 0: off
  double top_p = 1.0;               // nucleus; 1: off
  double min_p = 0.0;               // keep tokens with p >= min_p * p_max; 0: off
  double repetition_penalty = 1.0;  // HF/CTRL: for every id present in the context (prompt + generated):
                                    // logit > 0 ? logit / rp : logit * rp
  double frequency_penalty = 0.0;   // OpenAI: logit -= frequency_penalty * count(id in generated tokens)
  double presence_penalty = 0.0;    // OpenAI: logit -= presence_penalty * (count > 0)
  uint64_t seed = 0;
};

// Checks ranges; the message names the field, e.g. "temperature: must be >= 0, got -1". Callers
// prefix their own place (a CLI option, a request field).
status sampling_params_check(const sampling_params& params);

// One kept token and its renormalised probability.
struct sampling_candidate {
  int32_t id = 0;
  double p = 0.0;
};

class sampler {
 public:
  // params must pass sampling_params_check (asserted). vocab_size: the length of every logits row.
  sampler(const sampling_params& params, size_t vocab_size);

  // Starts a new sequence: context = prompt, nothing generated, the generator reseeded from seed.
  // Ids outside [0, vocab_size) are ignored by the penalties.
  void reset(std::span<const int32_t> prompt);
  // Picks the next id from logits (vocab_size values; modified in place: penalties and temperature
  // applied) and records it as generated. Same seed + same logits -> same ids on every platform.
  int32_t sample(std::span<float> logits);
  // Records an id chosen elsewhere (a forced token) as generated.
  void accept(int32_t id);

  // What sample() would draw from, without drawing or recording: applies penalties and temperature
  // to logits in place and fills out with the kept ids and their probabilities (summing to 1), most
  // probable first, ties by lower id. Greedy gives the single argmax with p = 1. NaN logits count as
  // -inf; a row with no finite-or-+inf logit gives id 0 alone.
  void distribution(std::span<float> logits, std::vector<sampling_candidate>& out);

  const sampling_params& params() const { return params_; }
  size_t vocab_size() const { return vocab_size_; }
  // Times id was generated (sampled or accepted) since reset.
  uint32_t generated_count(int32_t id) const;

 private:
  struct entry {
    float logit;
    int32_t id;
    double weight;  // exp(logit - max), unnormalised
  };

  void apply_penalties(std::span<float> logits) const;
  int32_t argmax(std::span<const float> logits) const;
  // Kept entries with unnormalised weights in scratch_ (unspecified order); returns their total.
  double filter(std::span<const float> logits);
  double next_uniform();  // [0, 1) from the raw 64-bit output, 53 bits

  sampling_params params_;
  size_t vocab_size_;
  std::mt19937_64 rng_;
  std::vector<uint32_t> generated_count_;  // (vocab) times each id was generated
  std::vector<uint8_t> in_context_;        // (vocab) 1 if the id is in prompt or generated
  std::vector<int32_t> context_ids_;       // distinct ids with in_context_ set
  std::vector<int32_t> generated_ids_;     // distinct ids with generated_count_ > 0
  std::vector<entry> scratch_;
  std::vector<float> heap_;  // top-k: the k largest logits seen so far, a min-heap
};

}  // namespace smelt
