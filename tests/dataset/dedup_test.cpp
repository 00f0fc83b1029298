// Tests for dataset/dedup: normalization, exact and near-duplicate detection, and the threshold.
#include "dataset/dedup.h"

#include <gtest/gtest.h>

namespace smelt {
namespace {

TEST(dedup, normalize_folds_case_punctuation_space_and_composes) {
  EXPECT_EQ(dedup_normalize("Hello, World!"), "helloworld");
  EXPECT_EQ(dedup_normalize("  hello   world\t"), "helloworld");
  // "é" decomposed (e + U+0301) and precomposed normalize alike; case folding maps ß to ss.
  EXPECT_EQ(dedup_normalize("Cafe\xCC\x81 STRASSE"), dedup_normalize("caf\xC3\xA9 stra\xC3\x9F"
                                                                     "e"));
  EXPECT_EQ(dedup_normalize("如何修改收货地址？"), "如何修改收货地址");
  EXPECT_EQ(dedup_normalize("a+b = c"), "abc");  // symbols go too
}

TEST(dedup, exact_after_normalization) {
  dedup_index index;
  EXPECT_FALSE(index.add("What is the boiling point of water?", 10).has_value());
  auto m = index.add("what is the BOILING point of water", 11);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->other_id, 10u);
  EXPECT_TRUE(m->exact);
  EXPECT_EQ(index.size(), 2u);
}

TEST(dedup, near_duplicates_above_threshold_only) {
  dedup_index index;
  EXPECT_FALSE(index.add("How do I reset the password of my router to the factory default?", 1));
  auto near = index.add("How do I reset the password of my router to the factory defaults?", 2);
  ASSERT_TRUE(near.has_value());
  EXPECT_EQ(near->other_id, 1u);
  EXPECT_FALSE(near->exact);
  EXPECT_NEAR(near->similarity, 47.0 / 48.0, 1e-9);  // 48 shingles in the union, 47 shared
  // Same topic, different question: Jaccard about 0.2.
  EXPECT_FALSE(index.add("How do I change the wifi channel of my router?", 3).has_value());
}

TEST(dedup, threshold_is_respected) {
  dedup_options strict;
  strict.threshold = 0.99;
  dedup_index index(strict);
  EXPECT_FALSE(index.add("How do I reset the password of my router to the factory default?", 1));
  EXPECT_FALSE(index.add("How do I reset the password of my router to the factory defaults?", 2));
}

TEST(dedup, short_texts_compare_exactly_only) {
  dedup_index index;
  EXPECT_FALSE(index.add("Hi there", 1));
  EXPECT_FALSE(index.add("Hi there!!x", 2));  // "hitherex": near in shingles, but 8 chars is the floor
  EXPECT_TRUE(index.add("hi, there", 3).has_value());
}

TEST(dedup, jaccard) {
  EXPECT_DOUBLE_EQ(dedup_jaccard({1, 2, 3}, {2, 3, 4}), 0.5);
  EXPECT_DOUBLE_EQ(dedup_jaccard({}, {}), 1.0);
  EXPECT_DOUBLE_EQ(dedup_jaccard({1}, {2}), 0.0);
}

}  // namespace
}  // namespace smelt
