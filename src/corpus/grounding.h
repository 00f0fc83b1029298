// Grounding: is a supporting quote really in its source chunk? Models paraphrase, re-space and
// change punctuation when quoting, so the match is fuzzy: both sides are normalized (case, width,
// whitespace, punctuation dropped) and the quote is aligned against the best-matching span of the
// chunk by approximate substring matching (edit distance, Sellers' algorithm).
#pragma once

#include <cstddef>
#include <string_view>

namespace smelt {

struct grounding_match {
  double score = 0;  // 1 - edit_distance / quote_length, over normalized characters; 0..1
  size_t begin = 0;  // byte offsets of the best-matching span in the chunk
  size_t end = 0;
  bool found = false;  // score >= the threshold asked for
};

// threshold 0.85: tolerates about one edit in seven characters (a changed particle or punctuation
// mark in a Chinese clause, a re-inflected English word) while rejecting invented quotes.
grounding_match grounding_find(std::string_view quote, std::string_view chunk, double threshold = 0.85);

}  // namespace smelt
