// The stderr terminal shared by logging and progress display: one status line at the bottom
// that log lines are printed above. All functions except terminal_is_tty need terminal_mutex held.
#pragma once

#include <mutex>
#include <string>

namespace smelt {

bool terminal_is_tty();
std::mutex& terminal_mutex();
void terminal_set_status_line(const std::string& line);  // draws it now
void terminal_clear_status_line();                       // erases it from the screen, keeps it
void terminal_redraw_status_line();
void terminal_drop_status_line();  // erases and forgets it

}  // namespace smelt
