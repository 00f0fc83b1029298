// File helpers: whole-file reads with errors naming the path, atomic writes (write temp, fsync,
// rename), and a directory walker that survives symlink loops and unreadable entries.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/result.h"

namespace smelt {

result<std::string> file_read(const std::filesystem::path& path);
// Writes to PATH.tmp-<pid>, fsyncs, renames over PATH: a crash leaves the old file or the new one.
status file_write_atomic(const std::filesystem::path& path, std::string_view data);

struct walk_problem {
  std::filesystem::path path;
  std::string reason;
};

struct walk_result {
  std::vector<std::filesystem::path> files;  // regular files, sorted within each directory
  std::vector<walk_problem> problems;        // missing roots, loops, unreadable directories
};

// Expands each root: files are kept as given, directories walked recursively (following
// symlinks, each real directory once). Hidden entries (".name") inside directories are skipped.
walk_result files_walk(const std::vector<std::filesystem::path>& roots);

}  // namespace smelt
