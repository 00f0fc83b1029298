// Parsing of chat.completion bodies, SSE chunk streams, error bodies and <think> blocks (see llm_parse.h).
// Transport, status codes and retries are llm_client.cpp's.
#include "llm/llm_parse.h"

#include <fmt/format.h>

#include "core/text.h"

namespace smelt {

namespace {

using json = nlohmann::json;

constexpr std::string_view think_open = "<think>";
constexpr std::string_view think_close = "</think>";

std::string snippet(std::string_view body) {
  std::string_view cut = utf8_truncate(text_trim(body), 300);
  std::string out(cut);
  if (cut.size() < text_trim(body).size()) out += "…";
  return out;
}

// A string field, or "" when absent or null.
std::string string_field(const json& object, const char* key) {
  if (!object.is_object()) return "";
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

long long int_field(const json& object, const char* key) {
  if (!object.is_object()) return 0;
  auto it = object.find(key);
  if (it == object.end() || !it->is_number()) return 0;
  return it->get<long long>();
}

// reasoning_content (DeepSeek, SiliconFlow, vLLM) and reasoning (OpenRouter, newer vLLM, Ollama).
std::string reasoning_fields(const json& message) {
  std::string a = string_field(message, "reasoning_content");
  std::string b = string_field(message, "reasoning");
  if (a.empty()) return b;
  if (b.empty() || b == a) return a;
  return a + "\n" + b;
}

std::string join_reasoning(std::string fields, const std::string& think) {
  std::string_view trimmed = text_trim(fields);
  std::string out(trimmed);
  if (!think.empty()) {
    if (!out.empty()) out += "\n";
    out += think;
  }
  return out;
}

// An in-body error object ({"error": {...}} or {"error": "..."}), "" if there is none.
std::string body_error(const json& doc) {
  if (!doc.is_object() || !doc.contains("error") || doc["error"].is_null()) return "";
  const json& e = doc["error"];
  if (e.is_string()) return e.get<std::string>();
  std::string message = string_field(e, "message");
  return message.empty() ? e.dump() : message;
}

}  // namespace

think_split llm_strip_think(std::string_view raw) {
  think_split out;
  std::string_view s = text_trim(raw);
  if (text_starts_with(s, think_open)) {
    std::string_view rest = s.substr(think_open.size());
    size_t end = rest.find(think_close);
    if (end == std::string_view::npos) {  // cut off by max_tokens while still thinking
      out.reasoning = std::string(text_trim(rest));
      return out;
    }
    out.reasoning = std::string(text_trim(rest.substr(0, end)));
    out.content = std::string(text_trim(rest.substr(end + think_close.size())));
    return out;
  }
  // Templates that put <think> into the prompt make the model start with the thought and close it.
  size_t end = s.find(think_close);
  if (end != std::string_view::npos && s.substr(0, end).find(think_open) == std::string_view::npos) {
    out.reasoning = std::string(text_trim(s.substr(0, end)));
    out.content = std::string(text_trim(s.substr(end + think_close.size())));
    return out;
  }
  out.content = std::string(s);
  return out;
}

std::string llm_server_message(std::string_view body) {
  json doc = json::parse(body, nullptr, false);
  if (!doc.is_discarded() && doc.is_object()) {
    std::string m = body_error(doc);
    if (m.empty()) m = string_field(doc, "message");
    if (m.empty() && doc.contains("detail")) {
      m = doc["detail"].is_string() ? doc["detail"].get<std::string>() : doc["detail"].dump();
    }
    if (!m.empty()) return snippet(m);
  }
  std::string s = snippet(body);
  return s.empty() ? "(empty body)" : s;
}

result<chat_response> llm_parse_completion(std::string_view body) {
  json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return make_error(fmt::format("response is not a JSON object: {}", snippet(body)));
  }
  if (std::string e = body_error(doc); !e.empty())
    return make_error(fmt::format("server error: {}", snippet(e)));
  auto choices = doc.find("choices");
  if (choices == doc.end() || !choices->is_array() || choices->empty() || !(*choices)[0].is_object()) {
    return make_error(fmt::format("response has no choices: {}", snippet(body)));
  }
  const json& choice = (*choices)[0];
  auto message = choice.find("message");
  if (message == choice.end() || !message->is_object()) {
    return make_error(fmt::format("response choices[0] has no message: {}", snippet(body)));
  }
  chat_response r;
  think_split split = llm_strip_think(string_field(*message, "content"));
  r.content = std::move(split.content);
  r.reasoning = join_reasoning(reasoning_fields(*message), split.reasoning);
  r.finish_reason = string_field(choice, "finish_reason");
  r.model = string_field(doc, "model");
  if (auto usage = doc.find("usage"); usage != doc.end()) {
    r.prompt_tokens = int_field(*usage, "prompt_tokens");
    r.completion_tokens = int_field(*usage, "completion_tokens");
  }
  return r;
}

void sse_chat_reader::feed(std::string_view bytes) {
  pending_.append(bytes);
  size_t start = 0;
  for (size_t nl; (nl = pending_.find('\n', start)) != std::string::npos; start = nl + 1) {
    std::string_view l(pending_.data() + start, nl - start);
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    line(l);
  }
  pending_.erase(0, start);
}

void sse_chat_reader::finish() {
  if (!pending_.empty()) {
    std::string last = std::move(pending_);
    pending_.clear();
    if (!last.empty() && last.back() == '\r') last.pop_back();
    line(last);
  }
  dispatch();
}

void sse_chat_reader::line(std::string_view text) {
  if (text.empty()) {
    dispatch();
    return;
  }
  if (text[0] == ':') return;  // comment / keep-alive
  size_t colon = text.find(':');
  std::string_view field = text.substr(0, colon);
  std::string_view value = colon == std::string_view::npos ? std::string_view() : text.substr(colon + 1);
  if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
  if (field != "data") return;  // event:, id:, retry: carry nothing we use
  if (has_data_) data_ += '\n';
  data_.append(value);
  has_data_ = true;
}

void sse_chat_reader::dispatch() {
  if (!has_data_) return;
  std::string data = std::move(data_);
  data_.clear();
  has_data_ = false;
  ++events_;
  if (text_trim(data) == "[DONE]") {
    done_ = true;
    return;
  }
  if (!error_.empty()) return;
  json chunk = json::parse(data, nullptr, false);
  if (chunk.is_discarded() || !chunk.is_object()) {
    error_ = fmt::format("stream event {} is not a JSON object: {}", events_, snippet(data));
    return;
  }
  if (std::string e = body_error(chunk); !e.empty()) {
    error_ = fmt::format("server error in stream: {}", snippet(e));
    return;
  }
  if (std::string m = string_field(chunk, "model"); !m.empty()) model_ = m;
  if (auto usage = chunk.find("usage"); usage != chunk.end() && usage->is_object()) {
    prompt_tokens_ = int_field(*usage, "prompt_tokens");
    completion_tokens_ = int_field(*usage, "completion_tokens");
  }
  auto choices = chunk.find("choices");
  if (choices == chunk.end() || !choices->is_array() || choices->empty()) return;  // e.g. the usage chunk
  const json& choice = (*choices)[0];
  if (std::string f = string_field(choice, "finish_reason"); !f.empty()) finish_reason_ = f;
  auto delta = choice.find("delta");
  if (delta == choice.end() || !delta->is_object()) return;
  std::string content = string_field(*delta, "content");
  std::string reasoning = reasoning_fields(*delta);
  content_ += content;
  reasoning_ += reasoning;
  if (request_.on_delta && (!content.empty() || !reasoning.empty())) {
    request_.on_delta(chat_delta{content, reasoning, attempt_});
  }
}

chat_response sse_chat_reader::response() const {
  chat_response r;
  think_split split = llm_strip_think(content_);
  r.content = std::move(split.content);
  r.reasoning = join_reasoning(reasoning_, split.reasoning);
  r.finish_reason = finish_reason_;
  r.model = model_;
  r.prompt_tokens = prompt_tokens_;
  r.completion_tokens = completion_tokens_;
  return r;
}

}  // namespace smelt
