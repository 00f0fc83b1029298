// BPE merging for one pre-tokenized word, as HF tokenizers' models::bpe does it: initial symbols
// (bytes or characters, byte fallback, fused unk), then repeatedly the lowest-ranked adjacent pair,
// leftmost first, via a min-heap over a linked list. Caching per word is the caller's job.
#include <cstdio>
#include <queue>

#include "core/text.h"
#include "model/tokenizer_internal.h"

namespace smelt {

namespace {

struct byte_table {
  std::array<char32_t, 256> to_char{};
  std::unordered_map<char32_t, int> to_byte;
  byte_table() {
    // GPT-2: printable Latin-1 bytes map to themselves, the rest to 256, 257, ... in byte order.
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
      to_char[b] = printable ? char32_t(b) : next++;
      to_byte[to_char[b]] = b;
    }
  }
};

const byte_table& bytes_table() {
  static const byte_table table;
  return table;
}

struct merge_candidate {
  int32_t rank;
  int32_t pos;
  int32_t new_id;
  bool operator>(const merge_candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
};

const std::pair<int32_t, int32_t>* find_merge(const bpe_model& m, int32_t a, int32_t b) {
  auto it = m.merges.find((uint64_t(uint32_t(a)) << 32) | uint32_t(b));
  return it == m.merges.end() ? nullptr : &it->second;
}

// Initial symbols of a word; -2 marks a symbol HF would drop (unknown, no unk token).
void initial_symbols(const bpe_model& m, std::string_view word, std::vector<int32_t>& ids) {
  if (m.byte_level) {
    for (unsigned char c : word) {
      int32_t id = m.byte_ids[c];
      if (id >= 0) {
        ids.push_back(id);
      } else if (m.unk_id) {
        if (!(m.fuse_unk && !ids.empty() && ids.back() == *m.unk_id)) ids.push_back(*m.unk_id);
      }
    }
    return;
  }
  size_t i = 0;
  while (i < word.size()) {
    size_t start = i;
    utf8_next(word, i);
    std::string_view ch = word.substr(start, i - start);
    auto it = m.vocab.find(std::string(ch));
    if (it != m.vocab.end()) {
      ids.push_back(it->second);
      continue;
    }
    if (m.byte_fallback) {
      bool all = true;
      for (unsigned char c : ch) all &= m.byte_ids[c] >= 0;
      if (all) {
        for (unsigned char c : ch) ids.push_back(m.byte_ids[c]);
        continue;
      }
    }
    if (m.unk_id) {
      if (!(m.fuse_unk && !ids.empty() && ids.back() == *m.unk_id)) ids.push_back(*m.unk_id);
    }
  }
}

}  // namespace

char32_t byte_level_char(uint8_t b) {
  return bytes_table().to_char[b];
}

int byte_level_byte(char32_t cp) {
  const auto& t = bytes_table().to_byte;
  auto it = t.find(cp);
  return it == t.end() ? -1 : it->second;
}

void bpe_encode_word(const bpe_model& m, std::string_view word, std::vector<int32_t>& out) {
  if (word.empty()) return;
  if (m.ignore_merges) {
    std::string key;
    if (m.byte_level) {
      for (unsigned char c : word) utf8_append(key, byte_level_char(c));
    } else {
      key = std::string(word);
    }
    auto it = m.vocab.find(key);
    if (it != m.vocab.end()) {
      out.push_back(it->second);
      return;
    }
  }
  std::vector<int32_t> ids;
  ids.reserve(word.size());
  initial_symbols(m, word, ids);
  const int32_t n = int32_t(ids.size());
  if (n <= 1) {
    out.insert(out.end(), ids.begin(), ids.end());
    return;
  }
  std::vector<int32_t> prev(n), next(n);
  for (int32_t i = 0; i < n; ++i) prev[i] = i - 1, next[i] = i + 1 < n ? i + 1 : -1;
  std::vector<char> alive(n, 1);
  std::priority_queue<merge_candidate, std::vector<merge_candidate>, std::greater<>> heap;
  for (int32_t i = 0; i + 1 < n; ++i)
    if (auto* mg = find_merge(m, ids[i], ids[i + 1])) heap.push({mg->first, i, mg->second});
  while (!heap.empty()) {
    merge_candidate top = heap.top();
    heap.pop();
    int32_t pos = top.pos;
    if (!alive[pos] || next[pos] < 0) continue;
    int32_t right = next[pos];
    const auto* mg = find_merge(m, ids[pos], ids[right]);
    if (!mg || mg->second != top.new_id) continue;  // stale entry (HF checks the merged id only)
    ids[pos] = top.new_id;
    alive[right] = 0;
    next[pos] = next[right];
    if (next[pos] >= 0) prev[next[pos]] = pos;
    if (prev[pos] >= 0)
      if (auto* p = find_merge(m, ids[prev[pos]], ids[pos])) heap.push({p->first, prev[pos], p->second});
    if (next[pos] >= 0)
      if (auto* p = find_merge(m, ids[pos], ids[next[pos]])) heap.push({p->first, pos, p->second});
  }
  for (int32_t i = 0; i >= 0; i = next[i]) out.push_back(ids[i]);
}

}  // namespace smelt
