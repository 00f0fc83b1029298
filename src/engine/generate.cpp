// generate.h: prefill (one forward over the uncached part of the prompt), then one token per
// forward; each id goes through the sampler, the streaming decoder and the stop-string matcher.
#include "engine/generate.h"

#include <algorithm>
#include <chrono>

#include "engine/stop_strings.h"

namespace smelt {

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

result<generate_result> generate(transformer& model, const tokenizer& tok, kv_cache& cache,
                                 std::span<const int32_t> prompt, const generate_options& options,
                                 const std::function<bool(std::string_view)>& on_text) {
  if (prompt.empty()) return make_error("generate: the prompt has no tokens");
  if (auto s = sampling_params_check(options.sampling); !s) return s.err();
  if (auto s = stop_strings_check(options.stop_strings); !s) return s.err();

  generate_result out;
  out.prompt_tokens = static_cast<int64_t>(prompt.size());
  // Keys/values computed with another adapter are of no use here (kv_cache::adapter_id).
  if (cache.adapter_id != (options.adapter ? options.adapter->id : 0)) kv_cache_truncate(cache, 0);
  // Keep the cached prefix shared with this prompt; at least one prompt token is recomputed to get logits.
  size_t shared = 0;
  while (shared < cache.tokens.size() && shared + 1 < prompt.size() && cache.tokens[shared] == prompt[shared])
    ++shared;
  kv_cache_truncate(cache, static_cast<int64_t>(shared));
  out.cached_tokens = static_cast<int64_t>(shared);

  sampler pick(options.sampling, static_cast<size_t>(model.config.vocab_size));
  pick.reset(prompt);
  tokenizer_decode_stream decoder(tok, options.skip_special);
  stop_matcher stops(options.stop_strings);
  bool cancelled = false;
  auto emit = [&](const std::string& piece) {
    if (piece.empty() || cancelled) return;
    out.text += piece;
    if (on_text && !on_text(piece)) cancelled = true;
  };

  std::vector<float> logits;
  auto start = std::chrono::steady_clock::now();
  if (auto s = transformer_forward(model, cache, prompt.subspan(shared), logits, false, options.adapter); !s)
    return s.err();
  out.prefill_seconds = seconds_since(start);
  start = std::chrono::steady_clock::now();
  out.finish_reason = "length";
  for (int64_t n = 0; n < options.max_new_tokens; ++n) {
    int32_t id = pick.sample(logits);
    out.ids.push_back(id);
    if (std::find(options.stop_ids.begin(), options.stop_ids.end(), id) != options.stop_ids.end()) {
      out.finish_reason = "stop";
      break;
    }
    emit(stops.push(decoder.push(id)));
    if (stops.stopped()) {
      out.finish_reason = "stop";
      break;
    }
    if (cancelled) break;
    if (n + 1 == options.max_new_tokens || cache.length >= cache.capacity) break;
    int32_t next[1] = {id};
    if (auto s = transformer_forward(model, cache, next, logits, false, options.adapter); !s) return s.err();
  }
  if (!stops.stopped()) {
    emit(stops.push(decoder.finish()));
    if (!stops.stopped()) emit(stops.finish());
  }
  if (stops.stopped()) out.finish_reason = "stop";
  if (cancelled) out.finish_reason = "cancelled";
  out.decode_seconds = seconds_since(start);
  return out;
}

}  // namespace smelt
