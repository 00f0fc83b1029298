// Append-only journal with crash-safe appends and torn-tail recovery.
#include "corpus/journal.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/files.h"
#include "core/text.h"

namespace smelt {

std::string journal_key(std::initializer_list<std::string_view> parts) {
  uint64_t h = 1469598103934665603ull;
  for (std::string_view part : parts) {
    for (unsigned char c : part) h = (h ^ c) * 1099511628211ull;
    h = (h ^ 0xFF) * 1099511628211ull;  // separator byte that never occurs in UTF-8
  }
  return fmt::format("{:016x}", h);
}

result<journal> journal::open(const std::filesystem::path& path) {
  journal j;
  j.path_ = path;
  std::string data;
  if (std::filesystem::exists(path)) {
    auto read = file_read(path);
    if (!read.ok()) return read.err();
    data = std::move(*read);
  }
  size_t good_end = 0, line_number = 0, pos = 0;
  while (pos < data.size()) {
    size_t nl = data.find('\n', pos);
    ++line_number;
    if (nl == std::string::npos) {  // no newline: the write never finished
      ++j.torn_;
      break;
    }
    std::string_view line(data.data() + pos, nl - pos);
    nlohmann::json value = nlohmann::json::parse(line, nullptr, false);
    if (value.is_discarded() || !value.is_object() || !value.contains("key") || !value["key"].is_string() ||
        !value.contains("record"))
      return make_error(fmt::format("{}:{}: journal line is damaged; move the file away to start over",
                                    path.string(), line_number));
    j.records_[value["key"].get<std::string>()] = std::move(value["record"]);
    pos = nl + 1;
    good_end = pos;
  }
  j.fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (j.fd_ < 0)
    return make_error(fmt::format("{}: cannot open journal: {}", path.string(), std::strerror(errno)));
  if (::ftruncate(j.fd_, static_cast<off_t>(good_end)) != 0 || ::lseek(j.fd_, 0, SEEK_END) < 0)
    return make_error(fmt::format("{}: cannot repair journal: {}", path.string(), std::strerror(errno)));
  return j;
}

journal::journal(journal&& other) noexcept
    : path_(std::move(other.path_)),
      fd_(other.fd_),
      torn_(other.torn_),
      records_(std::move(other.records_)),
      mutex_(std::move(other.mutex_)) {
  other.fd_ = -1;
}

journal::~journal() {
  if (fd_ >= 0) ::close(fd_);
}

const nlohmann::json* journal::find(const std::string& key) const {
  auto it = records_.find(key);
  return it == records_.end() ? nullptr : &it->second;
}

status journal::append(const std::string& key, const nlohmann::json& record) {
  return append_many({{key, record}});
}

status journal::append_many(const std::vector<std::pair<std::string, nlohmann::json>>& records) {
  if (records.empty()) return {};
  std::string text;
  for (const auto& [key, record] : records) {
    nlohmann::json line = {{"key", key}, {"record", record}};
    text += line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  std::lock_guard<std::mutex> lock(*mutex_);
  size_t written = 0;
  while (written < text.size()) {
    ssize_t n = ::write(fd_, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      return make_error(fmt::format("{}: journal write failed: {}", path_.string(), std::strerror(errno)));
    written += static_cast<size_t>(n);
  }
  if (::fdatasync(fd_) != 0)
    return make_error(fmt::format("{}: journal sync failed: {}", path_.string(), std::strerror(errno)));
  for (const auto& [key, record] : records) records_[key] = record;
  return {};
}

}  // namespace smelt
