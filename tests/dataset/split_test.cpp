// Tests for dataset/split and `smelt data split`: determinism by seed, sizes, no line lost, and
// with --by source no source chunk on both sides; errors for a missing or misaligned provenance file.
#include "dataset/split.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "core/text.h"
#include "support/test_support.h"

namespace smelt {
namespace {

std::vector<std::string> split_lines_of(const std::filesystem::path& p) {
  std::vector<std::string> out;
  std::string text = test::read_file(p);
  for (std::string_view l : text_split_lines(text))
    if (!l.empty()) out.emplace_back(l);
  return out;
}

TEST(split, choose_is_deterministic_and_sized) {
  auto a = split_choose(100, {}, 0.1, 42);
  auto b = split_choose(100, {}, 0.1, 42);
  auto c = split_choose(100, {}, 0.1, 7);
  EXPECT_EQ(a.val, b.val);
  EXPECT_EQ(a.train, b.train);
  EXPECT_NE(a.val, c.val);
  EXPECT_EQ(a.val.size(), 10u);
  EXPECT_EQ(a.train.size(), 90u);
  std::vector<size_t> all = a.train;
  all.insert(all.end(), a.val.begin(), a.val.end());
  std::sort(all.begin(), all.end());
  for (size_t i = 0; i < 100; ++i) EXPECT_EQ(all[i], i);
}

TEST(split, choose_edges) {
  EXPECT_EQ(split_choose(2, {}, 0.1, 1).val.size(), 1u);  // at least one when asked for some
  EXPECT_EQ(split_choose(1, {}, 0.5, 1).val.size(), 0u);  // never the only line
  EXPECT_EQ(split_choose(10, {}, 0.0, 1).val.size(), 0u);
  EXPECT_EQ(split_choose(0, {}, 0.1, 1).train.size(), 0u);
  // A single group never goes to validation as a whole.
  EXPECT_EQ(split_choose(5, {"a", "a", "a", "a", "a"}, 0.5, 3).val.size(), 0u);
}

TEST(split, choose_keeps_groups_together) {
  std::vector<std::string> groups;
  for (size_t i = 0; i < 60; ++i) groups.push_back("chunk-" + std::to_string(i % 13));
  for (uint64_t seed : {1, 2, 3, 42}) {
    auto s = split_choose(groups.size(), groups, 0.2, seed);
    EXPECT_EQ(s.groups, 13u);
    std::set<std::string> train_groups, val_groups;
    for (size_t i : s.train) train_groups.insert(groups[i]);
    for (size_t i : s.val) val_groups.insert(groups[i]);
    for (const auto& g : val_groups) EXPECT_EQ(train_groups.count(g), 0u) << g;
    EXPECT_GE(s.val.size(), 12u);  // taken until round(60 * 0.2) is reached
    EXPECT_EQ(s.train.size() + s.val.size(), 60u);
  }
}

TEST(split, provenance_path) {
  EXPECT_EQ(split_provenance_path("out/train.jsonl"), std::filesystem::path("out/train.provenance.jsonl"));
  EXPECT_EQ(split_provenance_path("data"), std::filesystem::path("data.provenance.jsonl"));
}

class split_cli : public ::testing::Test {
 protected:
  test::temp_dir dir;
  std::string data, provenance;
  void SetUp() override {
    for (int i = 0; i < 40; ++i) {
      data += "{\"messages\":[{\"role\":\"user\",\"content\":\"question " + std::to_string(i) +
              "\"},{\"role\":\"assistant\",\"content\":\"answer\"}]}\n";
      provenance += "{\"source\":\"doc.pdf\",\"chunk_id\":\"c" + std::to_string(i / 4) + "\",\"page\":1}\n";
    }
    test::write_file(dir / "d.jsonl", data);
  }
  test::command_output split(const std::string& extra, const std::string& out) {
    return test::run_smelt("data split '" + (dir / "d.jsonl").string() + "' -o '" + (dir / out).string() +
                           "' " + extra);
  }
};

TEST_F(split_cli, deterministic_and_complete) {
  auto a = split("--val 0.25 --seed 9", "a");
  auto b = split("--val 0.25 --seed 9", "b");
  ASSERT_EQ(a.exit_code, 0) << a.err;
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_EQ(test::read_file(dir / "a/train.jsonl"), test::read_file(dir / "b/train.jsonl"));
  EXPECT_EQ(test::read_file(dir / "a/val.jsonl"), test::read_file(dir / "b/val.jsonl"));
  auto train = split_lines_of(dir / "a/train.jsonl");
  auto val = split_lines_of(dir / "a/val.jsonl");
  EXPECT_EQ(val.size(), 10u);
  EXPECT_EQ(train.size(), 30u);
  std::multiset<std::string> all(train.begin(), train.end());
  all.insert(val.begin(), val.end());
  auto input = split_lines_of(dir / "d.jsonl");
  EXPECT_EQ(all, std::multiset<std::string>(input.begin(), input.end()));
  auto c = split("--val 0.25 --seed 10", "c");
  ASSERT_EQ(c.exit_code, 0);
  EXPECT_NE(test::read_file(dir / "a/val.jsonl"), test::read_file(dir / "c/val.jsonl"));
}

TEST_F(split_cli, by_source_shares_no_chunk) {
  test::write_file(dir / "d.provenance.jsonl", provenance);
  auto r = split("--val 0.2 --by source", "s");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("(10 source groups)"), std::string::npos) << r.err;
  auto question_chunk = [](const std::string& line) {
    size_t at = line.find("question ") + 9;
    return std::stoi(line.substr(at)) / 4;
  };
  std::set<int> train_chunks, val_chunks;
  for (const auto& l : split_lines_of(dir / "s/train.jsonl")) train_chunks.insert(question_chunk(l));
  for (const auto& l : split_lines_of(dir / "s/val.jsonl")) val_chunks.insert(question_chunk(l));
  EXPECT_EQ(val_chunks.size(), 2u);  // 8 lines = 2 chunks of 4
  for (int c : val_chunks) EXPECT_EQ(train_chunks.count(c), 0u) << c;
}

TEST_F(split_cli, by_source_without_provenance_is_an_error) {
  auto r = split("--by source", "x");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "error: " + (dir / "d.jsonl").string() + ": --by source needs the provenance file " +
                       (dir / "d.provenance.jsonl").string() +
                       " (one JSON object per line of the input, with \"chunk_id\" or \"source\"), which "
                       "does not exist\n");
  EXPECT_FALSE(std::filesystem::exists(dir / "x/train.jsonl"));
}

TEST_F(split_cli, misaligned_or_bad_provenance_is_an_error) {
  test::write_file(dir / "d.provenance.jsonl", provenance.substr(0, provenance.rfind('{')));
  auto r = split("--by source", "x");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("has 39 lines but"), std::string::npos) << r.err;
  test::write_file(dir / "d.provenance.jsonl",
                   "{\"page\":1}\n" + provenance.substr(provenance.find('\n') + 1));
  r = split("--by source", "x");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("d.provenance.jsonl:1: chunk_id: expected an object with"), std::string::npos)
      << r.err;
}

TEST_F(split_cli, bad_fraction) {
  auto r = split("--val 1.5", "x");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--val: expected a fraction"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace smelt
