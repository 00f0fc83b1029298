// Duplicate detection for short texts (user turns, generated questions): Unicode normalization
// for exact matches, MinHash over character shingles with LSH banding for near matches.
// It only says which earlier text a new one matches; what to do about it is the caller's choice.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace smelt {

// NFC, Unicode case folding, then every punctuation, symbol, separator (space) and control
// character removed: "Hello, World!" and "hello world" both give "helloworld".
std::string dedup_normalize(std::string_view text);

struct dedup_options {
  size_t shingle = 3;         // characters (code points) per shingle
  size_t permutations = 128;  // MinHash signature length
  size_t bands = 32;          // LSH bands (permutations / bands rows each)
  // Near-duplicate when the exact Jaccard similarity of the two shingle sets is at least this.
  // 0.8 catches reworded punctuation, a changed word in a long question, or a typo, while two
  // different questions on the same topic stay below it (tests/dataset/dedup_test.cpp).
  double threshold = 0.8;
  // Texts with fewer normalized characters than this are compared exactly only: a one-letter
  // change in a four-letter question is a different question.
  size_t min_chars_for_near = 8;
};

struct dedup_match {
  size_t other_id = 0;      // id given to dedup_index_add for the earlier text
  bool exact = false;       // normalized texts are identical
  double similarity = 1.0;  // Jaccard similarity of shingle sets (1 for exact)
};

// Holds every text added so far (normalized form, shingle set, LSH buckets). Not thread-safe.
class dedup_index {
 public:
  explicit dedup_index(dedup_options options = {});
  // Compares text with every earlier text, then adds it under id. Returns the best earlier
  // match (exact first, else the highest similarity, ties to the earliest), if any.
  std::optional<dedup_match> add(std::string_view text, size_t id);
  size_t size() const { return entries_.size(); }

 private:
  struct entry {
    size_t id;
    std::vector<uint64_t> shingles;  // sorted, unique shingle hashes
  };
  dedup_options options_;
  std::vector<entry> entries_;
  std::unordered_map<std::string, size_t> exact_;            // normalized text -> entry index
  std::unordered_map<uint64_t, std::vector<size_t>> bands_;  // band hash -> entry indexes
};

// Jaccard similarity of two sorted, unique vectors (exposed for tests).
double dedup_jaccard(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b);

}  // namespace smelt
