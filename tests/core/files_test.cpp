// Tests for core/files: atomic writes, error messages that name the path, directory loops.
#include "core/files.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace smelt {

namespace fs = std::filesystem;

class files_test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("smelt-files-test-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  void TearDown() override { fs::remove_all(dir); }
  fs::path dir;
};

TEST_F(files_test, read_missing_names_path) {
  auto r = file_read(dir / "nope.txt");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), (dir / "nope.txt").string() + ": no such file");
}

TEST_F(files_test, atomic_write_replaces_and_leaves_no_temp) {
  ASSERT_TRUE(file_write_atomic(dir / "a.txt", "one").ok());
  ASSERT_TRUE(file_write_atomic(dir / "a.txt", "two").ok());
  EXPECT_EQ(*file_read(dir / "a.txt"), "two");
  size_t n = 0;
  for (auto& e : fs::directory_iterator(dir)) (void)e, ++n;
  EXPECT_EQ(n, 1u);
}

TEST_F(files_test, walk_reports_loop_and_missing) {
  fs::create_directories(dir / "d" / "sub");
  ASSERT_TRUE(file_write_atomic(dir / "d" / "sub" / "x.txt", "x").ok());
  fs::create_directory_symlink(dir / "d", dir / "d" / "sub" / "loop");
  auto w = files_walk({dir / "d", dir / "missing"});
  ASSERT_EQ(w.files.size(), 1u);
  EXPECT_EQ(w.files[0].filename(), "x.txt");
  ASSERT_EQ(w.problems.size(), 2u);
  EXPECT_NE(w.problems[0].reason.find("directory loop"), std::string::npos);
  EXPECT_EQ(w.problems[1].reason, "no such file or directory");
}

}  // namespace smelt
