// llm_chat over libcurl: one attempt = one POST; the retry loop classifies each failure as retryable
// (429, 500/502/503/504, timeouts, dropped connections) or final, and waits with full-jitter exponential
// backoff or the server's Retry-After. Parsing of bodies and streams is llm_parse.cpp's.
#include "llm/llm_client.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <mutex>
#include <random>
#include <thread>

#include "core/text.h"
#include "llm/llm_parse.h"

namespace smelt {

namespace {

using json = nlohmann::json;
using clock_type = std::chrono::steady_clock;

void curl_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// One easy handle per thread, reused so that keep-alive connections (and TLS sessions) survive between
// calls. Owned by the thread; freed when it ends.
struct curl_handle {
  CURL* handle = nullptr;
  curl_handle() {
    curl_init_once();
    handle = curl_easy_init();
  }
  ~curl_handle() {
    if (handle) curl_easy_cleanup(handle);
  }
  curl_handle(const curl_handle&) = delete;
  curl_handle& operator=(const curl_handle&) = delete;
};

struct header_list {
  curl_slist* list = nullptr;
  void add(const std::string& h) { list = curl_slist_append(list, h.c_str()); }
  ~header_list() { curl_slist_free_all(list); }
};

enum class outcome_kind { ok, retry, fail };

struct attempt_outcome {
  outcome_kind kind = outcome_kind::fail;
  chat_response response;
  std::string message;  // for retry/fail, without the "POST URL: " prefix
  int http_status = 0;
  std::optional<double> retry_after;
};

// State shared with curl's callbacks during one attempt.
struct transfer {
  CURL* curl = nullptr;
  bool stream = false;
  std::string body;
  std::string retry_after;
  long status = 0;
  std::optional<sse_chat_reader> sse;
};

// Aborts the transfer once the caller's cancel flag is set.
int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* cancel = static_cast<const std::atomic<bool>*>(user);
  return cancel->load() ? 1 : 0;
}

bool cancelled(const llm_config& config) {
  return config.cancel && config.cancel->load();
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<transfer*>(user);
  std::string_view line(data, size * count);
  if (text_starts_with(line, "HTTP/")) t->retry_after.clear();  // a new response (after 100 Continue)
  size_t colon = line.find(':');
  if (colon != std::string_view::npos && text_to_lower_ascii(line.substr(0, colon)) == "retry-after") {
    t->retry_after = std::string(text_trim(line.substr(colon + 1)));
  }
  return size * count;
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<transfer*>(user);
  std::string_view bytes(data, size * count);
  t->body.append(bytes);
  if (t->sse) {
    if (t->status == 0) curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &t->status);
    if (t->status >= 200 && t->status <= 299) t->sse->feed(bytes);
  }
  return size * count;
}

std::string format_seconds(double s) {
  return s == std::floor(s) ? fmt::format("{:.0f}", s) : fmt::format("{:g}", s);
}

attempt_outcome from_status(const llm_config& config, const std::string& url, int status,
                            const std::string& body, const std::string& retry_after) {
  attempt_outcome o;
  o.http_status = status;
  std::string server = llm_server_message(body);
  if (status == 429 || status == 500 || status == 502 || status == 503 || status == 504) {
    o.kind = outcome_kind::retry;
    o.message = fmt::format("HTTP {}: {}", status, server);
    if (!retry_after.empty()) o.retry_after = llm_parse_retry_after(retry_after);
    return o;
  }
  o.kind = outcome_kind::fail;
  if (status == 401 || status == 403) {
    std::string var = config.api_key_env.empty() ? "" : "$" + config.api_key_env;
    std::string what = !config.api_key.empty()
                           ? (var.empty() ? "check the API key" : "check the API key in " + var)
                       : var.empty() ? "no API key was sent"
                                     : "no API key was sent: set " + var;
    o.message = fmt::format("authentication failed (HTTP {}): {}: {}", status, what, server);
  } else if (status == 404) {
    o.message =
        fmt::format("model '{}' not found at {} (HTTP 404): {} (check the model name and the base URL)",
                    config.model, url, server);
  } else {
    o.message = fmt::format("HTTP {}: {}", status, server);
  }
  return o;
}

attempt_outcome from_curl_error(const llm_config& config, CURL* curl, CURLcode code, const char* errbuf) {
  attempt_outcome o;
  std::string detail = errbuf[0] ? std::string(text_trim(errbuf)) : curl_easy_strerror(code);
  switch (code) {
    case CURLE_COULDNT_CONNECT: {
      long os_errno = 0;
      curl_easy_getinfo(curl, CURLINFO_OS_ERRNO, &os_errno);
      std::string why = os_errno == ECONNREFUSED ? "connection refused"
                        : os_errno != 0          ? std::string(std::strerror(static_cast<int>(os_errno)))
                                                 : detail;
      o.kind = outcome_kind::fail;
      o.message = fmt::format("cannot connect ({}) — is the server running?", why);
      return o;
    }
    case CURLE_COULDNT_RESOLVE_HOST:
      o.kind = outcome_kind::fail;
      o.message = fmt::format("cannot resolve the host ({}) — check the base URL", detail);
      return o;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      o.kind = outcome_kind::fail;
      o.message = fmt::format("bad base URL ({})", detail);
      return o;
    case CURLE_ABORTED_BY_CALLBACK:
      o.kind = outcome_kind::fail;
      o.message = "cancelled";
      return o;
    case CURLE_OPERATION_TIMEDOUT:
      o.kind = outcome_kind::retry;
      o.message = fmt::format("timed out after {} s (the per-request timeout)",
                              format_seconds(config.timeout_seconds));
      return o;
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      o.kind = outcome_kind::retry;
      o.message = fmt::format("connection dropped ({})", detail);
      return o;
    default:
      o.kind = outcome_kind::fail;
      o.message = detail;
      return o;
  }
}

attempt_outcome attempt_once(const llm_config& config, const chat_request& request, const std::string& url,
                             const std::string& body, int attempt) {
  thread_local curl_handle handle;
  CURL* curl = handle.handle;
  if (!curl) return {outcome_kind::fail, {}, "cannot create a libcurl handle", 0, {}};
  curl_easy_reset(curl);

  transfer t;
  t.curl = curl;
  t.stream = request.stream;
  if (request.stream) t.sse.emplace(request, attempt);

  header_list headers;
  headers.add("Content-Type: application/json");
  headers.add(request.stream ? "Accept: text/event-stream" : "Accept: application/json");
  headers.add("Expect:");  // no 100-continue round trip for large prompts
  if (!config.api_key.empty()) headers.add("Authorization: Bearer " + config.api_key);

  char errbuf[CURL_ERROR_SIZE] = {0};
  long timeout_ms = std::max(1L, std::lround(config.timeout_seconds * 1000));
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.list);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "smelt/0.1");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // required with threads: no SIGALRM for DNS timeouts
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, std::min(timeout_ms, 30000L));
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
  if (config.cancel) {
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, const_cast<std::atomic<bool>*>(config.cancel));
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  }

  CURLcode code = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  // The handle outlives this frame: leave it no pointers into it.
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, nullptr);
  if (code != CURLE_OK) {
    attempt_outcome o = from_curl_error(config, curl, code, errbuf);
    o.http_status = static_cast<int>(status);
    return o;
  }
  if (status < 200 || status > 299)
    return from_status(config, url, static_cast<int>(status), t.body, t.retry_after);

  result<chat_response> parsed = make_error("");
  if (t.sse) t.sse->finish();
  if (t.sse && t.sse->saw_events()) {
    if (!t.sse->error().empty())
      return {outcome_kind::fail, {}, t.sse->error(), static_cast<int>(status), {}};
    chat_response r = t.sse->response();
    if (!t.sse->saw_done() && r.finish_reason.empty()) {
      return {outcome_kind::retry,
              {},
              "connection dropped (stream ended before [DONE])",
              static_cast<int>(status),
              {}};
    }
    parsed = std::move(r);
  } else {
    parsed = llm_parse_completion(t.body);  // also servers that answer a stream request in one piece
  }
  if (!parsed) return {outcome_kind::fail, {}, parsed.message(), static_cast<int>(status), {}};
  attempt_outcome o;
  o.kind = outcome_kind::ok;
  o.response = std::move(parsed).value();
  o.http_status = static_cast<int>(status);
  return o;
}

double backoff_seconds(const llm_config& config, int retry_index) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  double cap =
      std::min(config.backoff_max_seconds, config.backoff_base_seconds * std::ldexp(1.0, retry_index));
  if (cap <= 0) return 0;
  return std::uniform_real_distribution<double>(0, cap)(rng);
}

// Sleeps in short steps when a cancel flag can cut the wait short.
void sleep_unless_cancelled(const llm_config& config, double seconds) {
  auto until = clock_type::now() +
               std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(seconds));
  if (!config.cancel) {
    std::this_thread::sleep_until(until);
    return;
  }
  while (!cancelled(config) && clock_type::now() < until) {
    std::this_thread::sleep_for(
        std::min<clock_type::duration>(std::chrono::milliseconds(50), until - clock_type::now()));
  }
}

}  // namespace

std::string llm_chat_url(const llm_config& config) {
  std::string base(text_trim(config.base_url));
  while (!base.empty() && base.back() == '/') base.pop_back();
  if (text_ends_with(base, "/chat/completions")) return base;
  return base + "/chat/completions";
}

json llm_request_body(const llm_config& config, const chat_request& request) {
  json body = json::object();
  body["model"] = config.model;
  json messages = json::array();
  for (const chat_message& m : request.messages)
    messages.push_back({{"role", m.role}, {"content", m.content}});
  body["messages"] = std::move(messages);
  if (request.temperature) body["temperature"] = *request.temperature;
  if (request.top_p) body["top_p"] = *request.top_p;
  if (request.frequency_penalty) body["frequency_penalty"] = *request.frequency_penalty;
  if (request.max_tokens) body["max_tokens"] = *request.max_tokens;
  if (request.seed) body["seed"] = *request.seed;
  body["stream"] = request.stream;
  if (request.extra.is_object()) {
    for (auto it = request.extra.begin(); it != request.extra.end(); ++it) body[it.key()] = it.value();
  }
  return body;
}

std::optional<double> llm_parse_retry_after(std::string_view value) {
  std::string v(text_trim(value));
  if (v.empty()) return std::nullopt;
  if (std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (v.size() > 9) return std::nullopt;
    return std::stod(v);
  }
  time_t when = curl_getdate(v.c_str(), nullptr);  // RFC 1123 / 850 / asctime dates
  if (when == static_cast<time_t>(-1)) return std::nullopt;
  double delta = std::difftime(when, std::time(nullptr));
  return std::max(0.0, delta);
}

result<chat_response> llm_chat(const llm_config& config, const chat_request& request) {
  if (text_trim(config.base_url).empty()) {
    return make_error(
        "llm: no base URL configured: give the OpenAI-compatible endpoint, e.g. "
        "https://api.siliconflow.cn/v1");
  }
  if (config.model.empty())
    return make_error("llm: no model configured: give the model name the server expects");
  const std::string url = llm_chat_url(config);
  const std::string body = llm_request_body(config, request).dump();
  const int attempts_allowed = std::max(0, config.max_retries) + 1;

  auto start = clock_type::now();
  double waited = 0;
  attempt_outcome last;
  for (int attempt = 1; attempt <= attempts_allowed; ++attempt) {
    if (cancelled(config)) return make_error("cancelled");
    last = attempt_once(config, request, url, body, attempt);
    if (last.kind != outcome_kind::ok && cancelled(config)) return make_error("cancelled");
    if (last.kind == outcome_kind::ok) {
      chat_response r = std::move(last.response);
      r.http_status = last.http_status;
      r.attempts = attempt;
      r.retry_wait_seconds = waited;
      r.elapsed_seconds = std::chrono::duration<double>(clock_type::now() - start).count();
      return r;
    }
    if (last.kind == outcome_kind::fail) {
      std::string note = attempt > 1 ? fmt::format(" (attempt {})", attempt) : "";
      return make_error(fmt::format("POST {}: {}{}", url, last.message, note));
    }
    if (attempt == attempts_allowed) break;
    double delay = last.retry_after ? std::min(*last.retry_after, config.retry_after_max_seconds)
                                    : backoff_seconds(config, attempt - 1);
    if (config.sleep) {
      config.sleep(delay);
    } else {
      sleep_unless_cancelled(config, delay);
    }
    waited += delay;
  }
  return make_error(fmt::format("POST {}: gave up after {} attempt{}; last error: {}", url, attempts_allowed,
                                attempts_allowed == 1 ? "" : "s", last.message));
}

}  // namespace smelt
