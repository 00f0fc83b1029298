// Status line handling for stderr. On a non-terminal nothing is drawn (progress.cpp logs
// plain lines instead).
#include "core/terminal.h"

#include <unistd.h>

namespace smelt {

namespace {
std::string g_status;
bool g_drawn = false;

void terminal_write(const std::string& s) {
  ssize_t ignored = ::write(2, s.data(), s.size());
  (void)ignored;
}
}  // namespace

bool terminal_is_tty() {
  static const bool tty = ::isatty(2) == 1;
  return tty;
}

std::mutex& terminal_mutex() {
  static std::mutex m;
  return m;
}

void terminal_set_status_line(const std::string& line) {
  g_status = line;
  terminal_redraw_status_line();
}

void terminal_clear_status_line() {
  if (!g_drawn) return;
  terminal_write("\r\x1b[2K");
  g_drawn = false;
}

void terminal_redraw_status_line() {
  if (g_status.empty() || !terminal_is_tty()) return;
  terminal_write("\r\x1b[2K" + g_status);
  g_drawn = true;
}

void terminal_drop_status_line() {
  terminal_clear_status_line();
  g_status.clear();
}

}  // namespace smelt
