// The corpus journal: records survive reopening, a torn last line (kill -9 mid-write) is dropped
// and cut off, a damaged middle line is an error naming the file and line, keys are separator-safe.
#include "corpus/journal.h"

#include <gtest/gtest.h>

#include "support/test_support.h"

namespace smelt {
namespace {

TEST(journal, records_survive_reopen) {
  test::temp_dir dir;
  {
    auto j = journal::open(dir / "run.journal.jsonl");
    ASSERT_TRUE(j.ok()) << j.message();
    ASSERT_TRUE(j->append("k1", {{"content", "第一"}}).ok());
    ASSERT_TRUE(j->append("k2", {{"content", "second"}}).ok());
  }
  auto j = journal::open(dir / "run.journal.jsonl");
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(j->size(), 2u);
  ASSERT_NE(j->find("k1"), nullptr);
  EXPECT_EQ((*j->find("k1"))["content"], "第一");
  EXPECT_EQ(j->find("k3"), nullptr);
}

TEST(journal, torn_tail_dropped_and_truncated) {
  test::temp_dir dir;
  test::write_file(dir / "j.jsonl", "{\"key\":\"a\",\"record\":1}\n{\"key\":\"b\",\"rec");
  {
    auto j = journal::open(dir / "j.jsonl");
    ASSERT_TRUE(j.ok()) << j.message();
    EXPECT_EQ(j->size(), 1u);
    EXPECT_EQ(j->torn_lines_dropped(), 1u);
    ASSERT_TRUE(j->append("c", 3).ok());
  }
  EXPECT_EQ(test::read_file(dir / "j.jsonl"), "{\"key\":\"a\",\"record\":1}\n{\"key\":\"c\",\"record\":3}\n");
}

TEST(journal, damaged_middle_line_is_an_error) {
  test::temp_dir dir;
  test::write_file(dir / "j.jsonl", "{\"key\":\"a\",\"record\":1}\nnot json\n{\"key\":\"b\",\"record\":2}\n");
  auto j = journal::open(dir / "j.jsonl");
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.message(),
            (dir / "j.jsonl").string() + ":2: journal line is damaged; move the file away to start over");
}

TEST(journal, key_parts_are_separated) {
  EXPECT_NE(journal_key({"ab", "c"}), journal_key({"a", "bc"}));
  EXPECT_EQ(journal_key({"doc", "c0001"}), journal_key({"doc", "c0001"}));
  EXPECT_EQ(journal_key({"x"}).size(), 16u);
}

}  // namespace
}  // namespace smelt

namespace smelt {
namespace {

TEST(journal, append_many_writes_one_batch) {
  test::temp_dir dir;
  {
    auto j = journal::open(dir / "j.jsonl");
    ASSERT_TRUE(j.ok());
    ASSERT_TRUE(j->append_many({{"a", 1}, {"b", {{"x", "二"}}}}).ok());
    ASSERT_TRUE(j->append_many({}).ok());
    EXPECT_EQ(j->size(), 2u);
  }
  EXPECT_EQ(test::read_file(dir / "j.jsonl"),
            "{\"key\":\"a\",\"record\":1}\n{\"key\":\"b\",\"record\":{\"x\":\"二\"}}\n");
}

}  // namespace
}  // namespace smelt
