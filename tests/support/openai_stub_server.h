// A real HTTP server on 127.0.0.1 (ephemeral port, own threads) that speaks the OpenAI chat-completions
// protocol as each test scripts it: answers, SSE streams, error statuses with Retry-After, slow answers,
// truncated bodies, connections closed without an answer. It records every request and counts requests in
// flight. It stands in for a remote LLM service only; what the client does with the answers is not its job.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace smelt::test {

struct stub_request {
  int index = 0;  // arrival order, from 0
  std::string method;
  std::string path;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  nlohmann::json json;  // the body parsed; null when it is not JSON

  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

enum class stub_action {
  stub_action_answer,    // send the reply
  stub_action_drop,      // close the connection before sending a single byte
  stub_action_truncate,  // send the headers, then `truncate_at` body bytes (or every event), then close
};

struct stub_reply {
  stub_action action = stub_action::stub_action_answer;
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. {"Retry-After", "1"}
  std::string content_type = "application/json";
  std::string body;
  size_t truncate_at = 0;
  // When not empty: a text/event-stream reply (chunked), each entry sent as "data: ENTRY\n\n".
  std::vector<std::string> events;
  double delay_seconds = 0;        // wait before answering (counts as in flight)
  double event_delay_seconds = 0;  // wait between events
};

// A chat.completion with one choice; `message_extra` is merged into the message (e.g. reasoning_content).
stub_reply stub_completion(const std::string& content, const std::string& finish_reason = "stop",
                           const nlohmann::json& message_extra = nlohmann::json::object());
// A chat.completion.chunk stream: a role chunk, one chunk per piece, a finish chunk, a usage chunk,
// then [DONE]. reasoning_pieces, when given, come first as delta.reasoning_content.
stub_reply stub_stream(const std::vector<std::string>& pieces, const std::string& finish_reason = "stop",
                       const std::vector<std::string>& reasoning_pieces = {});
// {"error": {"message": MESSAGE, "type": ..., "code": STATUS}} with the status; Retry-After when given.
stub_reply stub_error(int status, const std::string& message, const std::string& retry_after = "");
stub_reply stub_raw(int status, const std::string& body,
                    const std::string& content_type = "application/json");
stub_reply stub_drop();
stub_reply stub_delayed(stub_reply reply, double seconds);

class openai_stub_server {
 public:
  using script = std::function<stub_reply(const stub_request&)>;

  // Listening when constructed. Until scripted, every chat request gets stub_completion("ok").
  openai_stub_server();
  ~openai_stub_server();  // stops, cutting short any delay still running
  openai_stub_server(const openai_stub_server&) = delete;
  openai_stub_server& operator=(const openai_stub_server&) = delete;

  // Replies for POST /v1/chat/completions: queued ones first, in order, then the script.
  void enqueue(stub_reply reply);
  void set_script(script s);
  // Names listed by GET /v1/models (default: "stub-model").
  void set_models(std::vector<std::string> models);

  int port() const;
  std::string base_url() const;  // "http://127.0.0.1:PORT/v1"

  std::vector<stub_request> requests() const;  // chat requests in arrival order
  size_t request_count() const;
  int in_flight() const;       // chat requests being answered now
  int peak_in_flight() const;  // the most ever answered at the same moment

 private:
  struct state;
  std::unique_ptr<state> state_;
};

}  // namespace smelt::test
