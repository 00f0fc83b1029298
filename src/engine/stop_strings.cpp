// stop_matcher: a held-back buffer searched for the first stop string to complete (see stop_strings.h).
// The buffer stays short: only a possible stop prefix survives a push.
#include "engine/stop_strings.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/text.h"

namespace smelt {
namespace {

bool utf8_is_continuation(unsigned char c) {
  return (c & 0xC0) == 0x80;
}

// Length a UTF-8 sequence announces from its lead byte (1 for ASCII and for stray bytes).
size_t utf8_sequence_length(unsigned char c) {
  if (c >= 0xF0 && c <= 0xF7) return 4;
  if (c >= 0xE0) return c <= 0xEF ? 3 : 1;
  if (c >= 0xC0) return 2;
  return 1;
}

// Start of an unfinished UTF-8 sequence at the end of s, or s.size() if the end is complete.
size_t utf8_unfinished_tail(std::string_view s) {
  size_t i = s.size();
  size_t back = 0;
  while (i > 0 && back < 3 && utf8_is_continuation(static_cast<unsigned char>(s[i - 1]))) {
    --i;
    ++back;
  }
  if (i == 0) return s.size();
  const size_t lead = i - 1;
  const size_t need = utf8_sequence_length(static_cast<unsigned char>(s[lead]));
  return need > s.size() - lead ? lead : s.size();
}

}  // namespace

status stop_strings_check(const std::vector<std::string>& stops) {
  for (size_t i = 0; i < stops.size(); ++i) {
    if (stops[i].empty()) return make_error(fmt::format("stop[{}]: empty string", i));
    size_t bad = 0;
    if (!utf8_is_valid(stops[i], &bad))
      return make_error(fmt::format("stop[{}]: not valid UTF-8 at byte {}", i, bad));
  }
  return {};
}

stop_matcher::stop_matcher(std::vector<std::string> stops) : stops_(std::move(stops)) {}

std::string stop_matcher::push(std::string_view text) {
  if (stopped_) return {};
  held_.append(text);

  // The stop that completes first: smallest end, then smallest start.
  size_t best_start = std::string::npos, best_end = std::string::npos;
  for (size_t i = 0; i < stops_.size(); ++i) {
    const std::string& stop = stops_[i];
    if (stop.empty()) continue;
    size_t pos = held_.find(stop);
    if (pos == std::string::npos) continue;
    size_t end = pos + stop.size();
    if (end < best_end || (end == best_end && pos < best_start)) {
      best_start = pos;
      best_end = end;
      matched_ = static_cast<int>(i);
    }
  }
  if (best_start != std::string::npos) {
    std::string out = held_.substr(0, best_start);
    held_.clear();
    stopped_ = true;
    return out;
  }

  // Hold back the longest suffix that is a proper prefix of some stop.
  size_t cut = held_.size();
  for (const std::string& stop : stops_) {
    const size_t longest = std::min(stop.size() - (stop.empty() ? 0 : 1), held_.size());
    for (size_t len = longest; len > 0; --len) {
      if (held_.size() - len >= cut) break;  // cannot beat what is already held
      if (std::string_view(held_).substr(held_.size() - len) == std::string_view(stop).substr(0, len)) {
        cut = held_.size() - len;
        break;
      }
    }
  }
  cut = std::min(cut, utf8_unfinished_tail(held_));
  while (cut > 0 && cut < held_.size() && utf8_is_continuation(static_cast<unsigned char>(held_[cut]))) --cut;

  std::string out = held_.substr(0, cut);
  held_.erase(0, cut);
  return out;
}

std::string stop_matcher::finish() {
  if (stopped_) return {};
  std::string out = std::move(held_);
  held_.clear();
  return out;
}

}  // namespace smelt
