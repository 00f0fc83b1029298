// Incremental stop-string matcher for streamed generation (OpenAI `stop` semantics: the text ends
// right before the first stop string, which is never emitted). Works on decoded text only; EOS ids,
// token decoding and what to do once stopped are the caller's.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace smelt {

// Rejects empty and non-UTF-8 stop strings: "stop[1]: empty string".
status stop_strings_check(const std::vector<std::string>& stops);

class stop_matcher {
 public:
  // stops should pass stop_strings_check; empty ones are ignored here. No stops: everything passes.
  explicit stop_matcher(std::vector<std::string> stops);

  // Feeds newly decoded text; returns the text that is safe to emit now. Held back: the longest
  // suffix that is a prefix of some stop string, and an unfinished UTF-8 character at the end, so a
  // character is never split. When a stop string completes, stopped() turns true and the returned
  // text ends right before it; later pushes return "". The stop that completes first in the stream
  // wins (earliest end, then earliest start), so the output never depends on how text was chunked.
  std::string push(std::string_view text);
  // End of stream: returns whatever is still held back ("" once stopped).
  std::string finish();
  bool stopped() const { return stopped_; }
  // Index into stops of the stop string that ended the stream; -1 while not stopped.
  int matched() const { return matched_; }

 private:
  std::vector<std::string> stops_;
  std::string held_;
  bool stopped_ = false;
  int matched_ = -1;
};

}  // namespace smelt
