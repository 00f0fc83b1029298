// BPE merging for one pre-tokenized word, as HF tokenizers' models::bpe does it: initial symbols
// (bytes or characters, byte fallback, fused unk), then repeatedly the lowest-ranked adjacent pair,
// leftmost first, via a min-heap over a linked list; each token's end byte in the word rides along
// (for offsets). Caching per word is the caller's job.
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

// Initial symbols of a word with their end byte offsets; a symbol HF drops (unknown, no unk
// token) adds nothing, so its bytes fall to the next symbol.
void initial_symbols(const bpe_model& m, std::string_view word, std::vector<int32_t>& ids,
                     std::vector<uint32_t>& ends) {
  auto push_unk = [&](size_t end) {
    if (m.fuse_unk && !ids.empty() && ids.back() == *m.unk_id) {
      ends.back() = uint32_t(end);
    } else {
      ids.push_back(*m.unk_id);
      ends.push_back(uint32_t(end));
    }
  };
  if (m.byte_level) {
    for (size_t i = 0; i < word.size(); ++i) {
      int32_t id = m.byte_ids[static_cast<unsigned char>(word[i])];
      if (id >= 0) {
        ids.push_back(id);
        ends.push_back(uint32_t(i + 1));
      } else if (m.unk_id) {
        push_unk(i + 1);
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
      ends.push_back(uint32_t(i));
      continue;
    }
    if (m.byte_fallback) {
      bool all = true;
      for (unsigned char c : ch) all &= m.byte_ids[c] >= 0;
      if (all) {
        for (size_t k = 0; k < ch.size(); ++k) {
          ids.push_back(m.byte_ids[static_cast<unsigned char>(ch[k])]);
          ends.push_back(uint32_t(start + k + 1));
        }
        continue;
      }
    }
    if (m.unk_id) push_unk(i);
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

void bpe_encode_word(const bpe_model& m, std::string_view word, std::vector<int32_t>& out,
                     std::vector<uint32_t>* out_ends) {
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
      if (out_ends) out_ends->push_back(uint32_t(word.size()));
      return;
    }
  }
  std::vector<int32_t> ids;
  std::vector<uint32_t> ends;
  ids.reserve(word.size());
  ends.reserve(word.size());
  initial_symbols(m, word, ids, ends);
  const int32_t n = int32_t(ids.size());
  if (n <= 1) {
    out.insert(out.end(), ids.begin(), ids.end());
    if (out_ends) out_ends->insert(out_ends->end(), ends.begin(), ends.end());
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
    ends[pos] = ends[right];
    alive[right] = 0;
    next[pos] = next[right];
    if (next[pos] >= 0) prev[next[pos]] = pos;
    if (prev[pos] >= 0)
      if (auto* p = find_merge(m, ids[prev[pos]], ids[pos])) heap.push({p->first, prev[pos], p->second});
    if (next[pos] >= 0)
      if (auto* p = find_merge(m, ids[pos], ids[next[pos]])) heap.push({p->first, pos, p->second});
  }
  for (int32_t i = 0; i >= 0; i = next[i]) {
    out.push_back(ids[i]);
    if (out_ends) out_ends->push_back(ends[i]);
  }
}

}  // namespace smelt
