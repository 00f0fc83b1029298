// The corpus journal: an append-only JSON Lines file recording every finished LLM request under a
// key (hash of document, chunk, prompt, model and parameters), so that a rerun after Ctrl-C, a crash
// or kill -9 sends only the requests that are missing. Each append is one write() followed by
// fsync; a torn last line (killed mid-write) is ignored and cut off on open.
//
// Line format: {"key":"<16 hex>","record":{...}}  (record: whatever the builder needs to replay).
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/result.h"

namespace smelt {

class journal {
 public:
  // Opens (creating if needed) and loads the journal. Errors name the file and line.
  static result<journal> open(const std::filesystem::path& path);
  journal(journal&& other) noexcept;
  ~journal();

  const nlohmann::json* find(const std::string& key) const;  // nullptr if absent
  size_t size() const { return records_.size(); }
  size_t torn_lines_dropped() const { return torn_; }
  // Appends and fsyncs. Thread-safe. A later append with the same key replaces the record.
  status append(const std::string& key, const nlohmann::json& record);
  // Appends several records with one write and one fsync (a batch of finished requests).
  status append_many(const std::vector<std::pair<std::string, nlohmann::json>>& records);

 private:
  journal() = default;
  std::filesystem::path path_;
  int fd_ = -1;
  size_t torn_ = 0;
  std::unordered_map<std::string, nlohmann::json> records_;
  std::unique_ptr<std::mutex> mutex_ = std::make_unique<std::mutex>();
};

// 64-bit FNV-1a over the parts (separated so ("ab","c") != ("a","bc")), as 16 hex digits.
std::string journal_key(std::initializer_list<std::string_view> parts);

}  // namespace smelt
