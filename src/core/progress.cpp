// Progress bar / periodic log lines. Rendering only; callers decide what counts as a unit.
#include "core/progress.h"

#include <fmt/format.h>

#include "core/log.h"
#include "core/terminal.h"

namespace smelt {

std::string format_duration(double seconds) {
  if (seconds < 0) seconds = 0;
  long s = static_cast<long>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
  if (s >= 60) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

progress::progress(std::string label, size_t total)
    : label_(std::move(label)), total_(total), start_(std::chrono::steady_clock::now()), last_draw_(start_) {}

progress::~progress() {
  finish();
}

void progress::advance(size_t n, const std::string& note) {
  std::lock_guard<std::mutex> lock(mutex_);
  done_ += n;
  if (!note.empty()) note_ = note;
  draw_locked(false);
}

void progress::set_note(const std::string& note) {
  std::lock_guard<std::mutex> lock(mutex_);
  note_ = note;
  draw_locked(false);
}

void progress::finish() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (finished_) return;
  finished_ = true;
  if (terminal_is_tty()) {
    draw_locked(true);
    std::lock_guard<std::mutex> term(terminal_mutex());
    terminal_drop_status_line();
  }
}

void progress::draw_locked(bool force) {
  auto now = std::chrono::steady_clock::now();
  double since_draw = std::chrono::duration<double>(now - last_draw_).count();
  bool tty = terminal_is_tty();
  bool complete = total_ > 0 && done_ >= total_;
  if (!force && !complete && since_draw < (tty ? 0.1 : 5.0)) return;
  last_draw_ = now;
  double elapsed = std::chrono::duration<double>(now - start_).count();
  double rate = elapsed > 0 ? done_ / elapsed : 0;
  std::string line;
  if (total_ > 0) {
    double frac = std::min(1.0, static_cast<double>(done_) / total_);
    std::string eta = rate > 0 ? format_duration((total_ - std::min(done_, total_)) / rate) : "?";
    if (tty) {
      const int width = 24;
      int filled = static_cast<int>(frac * width);
      line = fmt::format("[{}{}] ", std::string(filled, '#'), std::string(width - filled, '.'));
    }
    line += fmt::format("{}/{} {} ({:.0f}%) {:.1f}/s ETA {}", done_, total_, label_, frac * 100, rate, eta);
  } else {
    line = fmt::format("{} {} {:.1f}/s", done_, label_, rate);
  }
  if (!note_.empty()) line += "  " + note_;
  if (tty) {
    std::lock_guard<std::mutex> term(terminal_mutex());
    terminal_set_status_line(line);
  } else if (!complete || force) {
    log_info("progress: {}", line);
  }
}

}  // namespace smelt
