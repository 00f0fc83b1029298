// Client for OpenAI-compatible chat-completions endpoints (SiliconFlow, OpenAI, DeepSeek, vLLM, Ollama,
// llama.cpp server, `smelt serve`): one blocking, thread-safe call with retries, backoff, timeouts,
// streaming and reasoning stripping. Running many calls at once is llm_pool's job (llm_pool.h); what to
// ask and what to do with the answers is the corpus module's.
#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/chat_message.h"
#include "core/result.h"

namespace smelt {

struct llm_config {
  std::string base_url;     // e.g. "https://api.siliconflow.cn/v1"; "/chat/completions" is appended
  std::string api_key;      // sent as "Authorization: Bearer KEY"; empty = no header (local servers)
  std::string api_key_env;  // name of the variable the key came from, only used in error messages
  std::string model;
  double timeout_seconds = 120;     // whole request, streaming included; connect is capped at 30 s
  int max_retries = 6;              // retries after the first attempt (so up to max_retries + 1 attempts)
  double backoff_base_seconds = 1;  // attempt n waits uniform(0, min(max, base * 2^n)) ("full jitter")
  double backoff_max_seconds = 60;
  double retry_after_max_seconds = 120;  // a server's Retry-After is honoured up to this cap
  int concurrency = 8;                   // used by llm_pool: requests in flight at once
  // Waits between attempts; null = std::this_thread::sleep_for. Tests inject a recorder here.
  std::function<void(double seconds)> sleep;
  // When set and it turns true (e.g. on Ctrl-C), transfers in progress stop (libcurl checks about once a
  // second when idle), no retry starts, and llm_chat returns the error "cancelled". Not owned; must outlive
  // the calls.
  const std::atomic<bool>* cancel = nullptr;
};

// One piece of a streamed answer, as it arrives (before <think> stripping). `attempt` starts at 1 and
// grows when a retry restarts the stream, so a progress display can discard what it showed.
struct chat_delta {
  std::string_view content;
  std::string_view reasoning;
  int attempt = 1;
};

struct chat_request {
  std::vector<chat_message> messages;
  std::optional<double> temperature;
  std::optional<double> top_p;
  std::optional<double> frequency_penalty;
  std::optional<int> max_tokens;
  std::optional<long long> seed;
  bool stream = false;
  nlohmann::json extra = nlohmann::json::object();  // merged into the body last (overrides the above)
  std::function<void(const chat_delta&)> on_delta;  // streaming only; called on the calling thread
};

struct chat_response {
  std::string content;          // the answer with <think>…</think> removed and surrounding blanks trimmed
  std::string reasoning;        // what was removed: reasoning_content / reasoning fields and <think> text
  std::string finish_reason;    // "stop", "length", … ("" when the server sent none)
  long long prompt_tokens = 0;  // from "usage" when the server reports it, else 0
  long long completion_tokens = 0;
  std::string model;  // as the server names it
  int http_status = 0;
  int attempts = 0;               // 1 when the first try succeeded
  double retry_wait_seconds = 0;  // total time spent waiting between attempts
  double elapsed_seconds = 0;     // first attempt start to final answer
};

// Blocking chat completion with retries on 429/500/502/503/504, timeouts and dropped connections; never
// retries other 4xx. Thread-safe; each thread reuses its own connection. Errors name the URL and say
// what to check ("authentication failed (HTTP 401): check the API key in $SMELT_API_KEY").
result<chat_response> llm_chat(const llm_config& config, const chat_request& request);

// The pieces, exposed for tests and for `smelt corpus --dry-run`.
std::string llm_chat_url(const llm_config& config);
nlohmann::json llm_request_body(const llm_config& config, const chat_request& request);

// Splits a raw answer into (content, reasoning): a leading <think>…</think> block (or an unterminated
// <think> cut off by max_tokens, or text before a lone </think>) moves to reasoning.
struct think_split {
  std::string content;
  std::string reasoning;
};
think_split llm_strip_think(std::string_view raw);

// Seconds to wait for a Retry-After header value: delta-seconds or an HTTP-date; nullopt if unparsable.
std::optional<double> llm_parse_retry_after(std::string_view value);

}  // namespace smelt
