// Reading what an OpenAI-compatible server sends back: a chat.completion JSON body, a server-sent-events
// stream of chat.completion.chunk objects, and error bodies. No I/O here; llm_client.cpp feeds bytes in.
//
// SSE wire format (https://html.spec.whatwg.org/multipage/server-sent-events.html): lines ending in \n or
// \r\n; "data: X" lines accumulate (joined by \n) until a blank line ends the event; lines starting with
// ':' are comments; the OpenAI stream ends with the event "data: [DONE]".
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"
#include "llm/llm_client.h"

namespace smelt {

// Builds the response from a non-streamed chat.completion body. Content and reasoning are already split.
result<chat_response> llm_parse_completion(std::string_view body);

// The human part of an error body: error.message, error (string), message or detail; else the body itself,
// cut to a readable length.
std::string llm_server_message(std::string_view body);

// Incremental SSE reader that assembles chat.completion.chunk deltas.
class sse_chat_reader {
 public:
  explicit sse_chat_reader(const chat_request& request, int attempt) : request_(request), attempt_(attempt) {}

  void feed(std::string_view bytes);
  void finish();  // end of transfer: dispatches a last event not followed by a blank line

  bool saw_events() const { return events_ > 0; }
  bool saw_done() const { return done_; }
  const std::string& error() const { return error_; }  // first bad event or in-stream error, "" if none
  // The assembled response (content and reasoning split); call after finish().
  chat_response response() const;

 private:
  void line(std::string_view text);
  void dispatch();

  const chat_request& request_;
  int attempt_;
  std::string pending_;  // bytes after the last newline
  std::string data_;     // data lines of the event being read
  bool has_data_ = false;
  int events_ = 0;
  bool done_ = false;
  std::string error_;
  std::string content_;
  std::string reasoning_;
  std::string finish_reason_;
  std::string model_;
  long long prompt_tokens_ = 0;
  long long completion_tokens_ = 0;
};

}  // namespace smelt
