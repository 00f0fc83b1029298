// Grounding of an answer that came without a quote: how much of the answer's content is found in its
// source chunk. Content units are Latin words (case-folded, lightly stemmed, stop words dropped),
// digit runs, and for CJK text character bigrams (single characters between function characters).
// This is lexical support, not entailment: it catches invented facts, not a contradiction made of
// the chunk's own words ("test yearly, replace monthly"). Quotes are checked by grounding.h instead.
#pragma once

#include <cstddef>
#include <string_view>

namespace smelt {

struct answer_support {
  // (supported + partial / 2) / (units + 1), 0..1: the +1 is one unit of doubt, so a one-word
  // answer never passes and a three-word one needs all three words in the chunk.
  double score = 0;
  size_t units = 0;      // distinct content units in the answer
  size_t supported = 0;  // units that occur in the chunk
  size_t partial = 0;    // CJK pairs not in the chunk whose two characters both are (reworded)
  bool found = false;    // score > the threshold asked for
};

// threshold 0.5: more than half of the answer's content must be found in its chunk. Measured on
// the fire-safety guide (examples/fire-safety) with 28 faithful answers (the example's seed.jsonl
// and paraphrases) and 18 invented ones, English and Chinese (the cases are in
// tests/corpus/answer_support_test.cpp): invented answers scored 0.04-0.50 (the three at 0.50 are
// short: three to eleven units, most of them domain words), faithful ones 0.47-0.96, and only two
// faithful ones fell below 0.53: a colloquial rewording (快没电了 for 电量不足) and one whose facts
// are in the chunk's English half only. A stricter threshold mostly rejects more faithful Chinese.
answer_support answer_support_measure(std::string_view answer, std::string_view chunk,
                                      double threshold = 0.5);

}  // namespace smelt
