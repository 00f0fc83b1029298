// Sampler: penalties, temperature, top-k / top-p / min-p and a seeded draw (see sampling.h).
// Candidates are visited in a canonical order (by id, or by logit then id once a sort happened) so
// the draw does not depend on how the standard library orders nth_element's leftovers.
#include "engine/sampling.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <functional>
#include <limits>

namespace smelt {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
constexpr float kPosInf = std::numeric_limits<float>::infinity();

error range_error(const char* field, const char* rule, double got) {
  return make_error(fmt::format("{}: must be {}, got {}", field, rule, got));
}

}  // namespace

status sampling_params_check(const sampling_params& p) {
  if (!(p.temperature >= 0) || !std::isfinite(p.temperature))
    return range_error("temperature", ">= 0", p.temperature);
  if (p.top_k < 0) return make_error(fmt::format("top_k: must be >= 0 (0: off), got {}", p.top_k));
  if (!(p.top_p > 0 && p.top_p <= 1)) return range_error("top_p", "in (0, 1]", p.top_p);
  if (!(p.min_p >= 0 && p.min_p <= 1)) return range_error("min_p", "in [0, 1]", p.min_p);
  if (!(p.repetition_penalty > 0) || !std::isfinite(p.repetition_penalty))
    return range_error("repetition_penalty", "> 0", p.repetition_penalty);
  if (!std::isfinite(p.frequency_penalty))
    return range_error("frequency_penalty", "a finite number", p.frequency_penalty);
  if (!std::isfinite(p.presence_penalty))
    return range_error("presence_penalty", "a finite number", p.presence_penalty);
  return {};
}

sampler::sampler(const sampling_params& params, size_t vocab_size)
    : params_(params),
      vocab_size_(vocab_size),
      rng_(params.seed),
      generated_count_(vocab_size, 0),
      in_context_(vocab_size, 0) {
  assert(sampling_params_check(params).ok());
}

void sampler::reset(std::span<const int32_t> prompt) {
  for (int32_t id : context_ids_) in_context_[id] = 0;
  for (int32_t id : generated_ids_) generated_count_[id] = 0;
  context_ids_.clear();
  generated_ids_.clear();
  rng_.seed(params_.seed);
  for (int32_t id : prompt) {
    if (id < 0 || static_cast<size_t>(id) >= vocab_size_ || in_context_[id]) continue;
    in_context_[id] = 1;
    context_ids_.push_back(id);
  }
}

void sampler::accept(int32_t id) {
  if (id < 0 || static_cast<size_t>(id) >= vocab_size_) return;
  if (generated_count_[id]++ == 0) generated_ids_.push_back(id);
  if (!in_context_[id]) {
    in_context_[id] = 1;
    context_ids_.push_back(id);
  }
}

uint32_t sampler::generated_count(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= vocab_size_) return 0;
  return generated_count_[id];
}

void sampler::apply_penalties(std::span<float> logits) const {
  const double rp = params_.repetition_penalty;
  if (rp != 1.0) {
    for (int32_t id : context_ids_) {
      double l = logits[id];
      logits[id] = static_cast<float>(l > 0 ? l / rp : l * rp);
    }
  }
  const double fp = params_.frequency_penalty, pp = params_.presence_penalty;
  if (fp != 0.0 || pp != 0.0) {
    for (int32_t id : generated_ids_) {
      double l = logits[id];
      logits[id] = static_cast<float>(l - fp * generated_count_[id] - pp);
    }
  }
}

int32_t sampler::argmax(std::span<const float> logits) const {
  int32_t best = 0;
  float best_logit = kNegInf;
  bool found = false;
  for (size_t i = 0; i < logits.size(); ++i) {
    float l = logits[i];
    if (std::isnan(l)) continue;
    if (!found || l > best_logit) {
      best = static_cast<int32_t>(i);
      best_logit = l;
      found = true;
    }
  }
  return best;
}

double sampler::filter(std::span<const float> logits) {
  auto before = [](const entry& a, const entry& b) {
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
  };
  // top-k: the k-th largest logit from a size-k min-heap (one compare per token once it is full);
  // every token at or above it is kept, ties included (as HF keeps them).
  float threshold = kNegInf;
  const size_t k = static_cast<size_t>(params_.top_k);
  if (k > 0 && k < logits.size()) {
    heap_.clear();
    for (float l : logits) {
      if (!(l > kNegInf)) continue;
      if (heap_.size() < k) {
        heap_.push_back(l);
        std::push_heap(heap_.begin(), heap_.end(), std::greater<>());
      } else if (l > heap_.front()) {
        std::pop_heap(heap_.begin(), heap_.end(), std::greater<>());
        heap_.back() = l;
        std::push_heap(heap_.begin(), heap_.end(), std::greater<>());
      }
    }
    if (heap_.size() == k) threshold = heap_.front();
  }
  scratch_.clear();
  float max_logit = kNegInf;
  for (size_t i = 0; i < logits.size(); ++i) {
    const float l = logits[i];
    // drops NaN and -inf; with top-k, everything under the k-th logit
    if (l > kNegInf && l >= threshold) {
      scratch_.push_back({l, static_cast<int32_t>(i), 0.0});
      max_logit = std::max(max_logit, l);
    }
  }
  if (scratch_.empty()) return 0.0;
  if (threshold > kNegInf) std::sort(scratch_.begin(), scratch_.end(), before);  // canonical draw order

  for (entry& e : scratch_) {
    if (max_logit == kPosInf)
      e.weight = e.logit == kPosInf ? 1.0 : 0.0;
    else
      e.weight = std::exp(static_cast<double>(e.logit) - static_cast<double>(max_logit));
  }
  // Probability 0 (underflow, or beside +inf): never drawn, not reported.
  scratch_.erase(
      std::remove_if(scratch_.begin(), scratch_.end(), [](const entry& e) { return e.weight == 0.0; }),
      scratch_.end());
  double total = 0.0;
  for (const entry& e : scratch_) total += e.weight;

  // top-p: keep a token while the mass of the tokens before it (by logit, then id) is < top_p.
  // Selects a growing top block with nth_element until its mass reaches top_p (peaked distributions:
  // a few dozen tokens), then sorts only that block.
  if (params_.top_p < 1.0) {
    const double need = params_.top_p * total;
    // Tokens under `floor` weigh less than (1 - top_p) of the mass all together, so the cut removes
    // every one of them: drop them first (one pass) to shrink what gets selected and sorted.
    const double floor = (total - need) / static_cast<double>(scratch_.size());
    scratch_.erase(
        std::remove_if(scratch_.begin(), scratch_.end(), [&](const entry& e) { return e.weight < floor; }),
        scratch_.end());
    const size_t n = scratch_.size();
    size_t done = 0, m = std::min<size_t>(n, 64);
    double mass = 0.0;  // of scratch_[0, done): the `done` best entries, unordered
    for (;;) {
      if (m < n)
        std::nth_element(scratch_.begin() + done, scratch_.begin() + (m - 1), scratch_.end(), before);
      for (size_t j = done; j < m; ++j) mass += scratch_[j].weight;
      done = m;
      if (mass >= need || m == n) break;
      m = std::min(n, m * 8);
    }
    std::sort(scratch_.begin(), scratch_.begin() + done, before);
    size_t keep = done;
    double mass_before = 0.0;
    for (size_t j = 0; j < done; ++j) {
      if (mass_before >= need) {
        keep = j;
        break;
      }
      mass_before += scratch_[j].weight;
    }
    scratch_.resize(std::max<size_t>(keep, 1));
    total = 0.0;
    for (const entry& e : scratch_) total += e.weight;
  }

  // min-p: keep p >= min_p * p_max; the max entry is always kept with weight exactly 1.
  if (params_.min_p > 0.0) {
    const double floor = params_.min_p;
    scratch_.erase(
        std::remove_if(scratch_.begin(), scratch_.end(), [&](const entry& e) { return e.weight < floor; }),
        scratch_.end());
    total = 0.0;
    for (const entry& e : scratch_) total += e.weight;
  }
  return total;
}

double sampler::next_uniform() {
  return static_cast<double>(rng_() >> 11) * 0x1.0p-53;
}

void sampler::distribution(std::span<float> logits, std::vector<sampling_candidate>& out) {
  assert(logits.size() == vocab_size_);
  out.clear();
  apply_penalties(logits);
  if (params_.temperature == 0.0) {
    out.push_back({argmax(logits), 1.0});
    return;
  }
  if (params_.temperature != 1.0) {
    const float t = static_cast<float>(params_.temperature);
    for (float& l : logits) l /= t;
  }
  double total = filter(logits);
  if (scratch_.empty()) {
    out.push_back({argmax(logits), 1.0});
    return;
  }
  std::sort(scratch_.begin(), scratch_.end(), [](const entry& a, const entry& b) {
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
  });
  out.reserve(scratch_.size());
  for (const entry& e : scratch_) out.push_back({e.id, e.weight / total});
}

int32_t sampler::sample(std::span<float> logits) {
  assert(logits.size() == vocab_size_);
  apply_penalties(logits);
  int32_t id = 0;
  if (params_.temperature == 0.0) {
    id = argmax(logits);
  } else {
    if (params_.temperature != 1.0) {
      const float t = static_cast<float>(params_.temperature);
      for (float& l : logits) l /= t;
    }
    const double total = filter(logits);
    if (scratch_.empty()) {
      id = argmax(logits);
    } else {
      const double target = next_uniform() * total;
      double cum = 0.0;
      id = scratch_.back().id;
      for (const entry& e : scratch_) {
        cum += e.weight;
        if (target < cum) {
          id = e.id;
          break;
        }
      }
    }
  }
  accept(id);
  return id;
}

}  // namespace smelt
