// Progress display for long work: a bar with count, rate and ETA on a terminal, plain log lines
// (at most one every few seconds) otherwise. Thread-safe: advance() may be called from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>

namespace smelt {

class progress {
 public:
  // label: what is counted ("files", "pages"); total 0 means unknown.
  progress(std::string label, size_t total);
  ~progress();
  progress(const progress&) = delete;
  progress& operator=(const progress&) = delete;

  void advance(size_t n = 1, const std::string& note = "");
  void set_note(const std::string& note);  // extra text after the bar ("12 pairs accepted")
  void finish();

 private:
  void draw_locked(bool force);

  std::string label_;
  size_t total_;
  size_t done_ = 0;
  std::string note_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  std::mutex mutex_;
};

std::string format_duration(double seconds);  // "1h02m", "3m05s", "12s"

}  // namespace smelt
