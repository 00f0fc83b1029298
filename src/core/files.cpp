// File reading/writing and directory walking; knows nothing about formats.
#include "core/files.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>

#include <fmt/format.h>

namespace smelt {

namespace fs = std::filesystem;

result<std::string> file_read(const fs::path& path) {
  std::error_code ec;
  auto st = fs::status(path, ec);
  if (ec || !fs::exists(st)) return make_error(fmt::format("{}: no such file", path.string()));
  if (fs::is_directory(st)) return make_error(fmt::format("{}: is a directory", path.string()));
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(fmt::format("{}: cannot open: {}", path.string(), std::strerror(errno)));
  std::string data;
  char buffer[1 << 16];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) data.append(buffer, in.gcount());
  if (in.bad()) return make_error(fmt::format("{}: read failed", path.string()));
  return data;
}

status file_write_atomic(const fs::path& path, std::string_view data) {
  fs::path tmp = path;
  tmp += fmt::format(".tmp-{}", ::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return make_error(fmt::format("{}: cannot create: {}", tmp.string(), std::strerror(errno)));
  size_t written = 0;
  while (written < data.size()) {
    ssize_t n = ::write(fd, data.data() + written, data.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int saved = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return make_error(fmt::format("{}: write failed: {}", path.string(), std::strerror(saved)));
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int saved = errno;
    ::unlink(tmp.c_str());
    return make_error(fmt::format("{}: write failed: {}", path.string(), std::strerror(saved)));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int saved = errno;
    ::unlink(tmp.c_str());
    return make_error(fmt::format("{}: cannot replace: {}", path.string(), std::strerror(saved)));
  }
  return {};
}

namespace {

void walk_directory(const fs::path& dir, std::set<fs::path>& seen, walk_result& out) {
  std::error_code ec;
  fs::path real = fs::canonical(dir, ec);
  if (ec) {
    out.problems.push_back({dir, "cannot resolve: " + ec.message()});
    return;
  }
  if (!seen.insert(real).second) {
    out.problems.push_back({dir, "directory loop: already visited as " + real.string()});
    return;
  }
  std::vector<fs::path> entries;
  fs::directory_iterator it(dir, ec), end;
  if (ec) {
    out.problems.push_back({dir, "cannot read directory: " + ec.message()});
    return;
  }
  for (; it != end; it.increment(ec)) {
    if (ec) {
      out.problems.push_back({dir, "cannot read directory: " + ec.message()});
      break;
    }
    std::string name = it->path().filename().string();
    if (!name.empty() && name[0] == '.') continue;
    entries.push_back(it->path());
  }
  std::sort(entries.begin(), entries.end());
  for (const auto& entry : entries) {
    auto st = fs::status(entry, ec);
    if (ec) {
      out.problems.push_back({entry, "broken link or unreadable: " + ec.message()});
    } else if (fs::is_directory(st)) {
      walk_directory(entry, seen, out);
    } else if (fs::is_regular_file(st)) {
      out.files.push_back(entry);
    }
  }
}

}  // namespace

walk_result files_walk(const std::vector<fs::path>& roots) {
  walk_result out;
  std::set<fs::path> seen;
  for (const auto& root : roots) {
    std::error_code ec;
    auto st = fs::status(root, ec);
    if (ec || !fs::exists(st)) {
      out.problems.push_back({root, "no such file or directory"});
    } else if (fs::is_directory(st)) {
      walk_directory(root, seen, out);
    } else {
      out.files.push_back(root);
    }
  }
  return out;
}

}  // namespace smelt
