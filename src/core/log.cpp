// Logging to stderr. Progress bars (progress.cpp) share the mutex so a log line never lands
// in the middle of a bar.
#include "core/log.h"

#include <unistd.h>

#include <atomic>
#include <mutex>
#include <string>

#include "core/terminal.h"

namespace smelt {

namespace {
std::atomic<log_level> g_level{log_level::info};

const char* log_level_prefix(log_level level) {
  switch (level) {
    case log_level::debug:
      return "debug: ";
    case log_level::info:
      return "";
    case log_level::warn:
      return "warning: ";
    case log_level::error:
      return "error: ";
    case log_level::quiet:
      return "";
  }
  return "";
}
}  // namespace

void log_set_level(log_level level) {
  g_level = level;
}
log_level log_get_level() {
  return g_level;
}

void log_write(log_level level, std::string_view message) {
  if (level < g_level.load()) return;
  std::string line = log_level_prefix(level);
  line.append(message);
  line.push_back('\n');
  std::lock_guard<std::mutex> lock(terminal_mutex());
  terminal_clear_status_line();
  ssize_t ignored = ::write(2, line.data(), line.size());
  (void)ignored;
  terminal_redraw_status_line();
}

}  // namespace smelt
