// `smelt extract` on bad input, through the real binary: every case must end with a clear message
// naming the file, exit code 1 (never a signal), and the good files of a directory still extracted.
#include <gtest/gtest.h>

#include <filesystem>

#include "support/test_support.h"

namespace smelt {
namespace {

namespace fs = std::filesystem;
using test::run_smelt;
using test::temp_dir;
using test::write_file;

using test::shell_quote;

TEST(extract_errors, missing_file) {
  auto r = run_smelt("extract /nonexistent/guide.pdf");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("error: /nonexistent/guide.pdf: no such file or directory"), std::string::npos)
      << r.err;
}

TEST(extract_errors, empty_file) {
  temp_dir dir;
  write_file(dir / "empty.txt", "");
  auto r = run_smelt("extract " + shell_quote(dir / "empty.txt"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find((dir / "empty.txt").string() + ": empty file (0 bytes)"), std::string::npos) << r.err;
}

TEST(extract_errors, binary_garbage_named_txt) {
  temp_dir dir;
  std::string garbage;
  for (int i = 0; i < 4096; ++i) garbage.push_back(static_cast<char>((i * 7919 + 13) % 256));
  write_file(dir / "notes.txt", garbage);
  auto r = run_smelt("extract " + shell_quote(dir / "notes.txt"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find((dir / "notes.txt").string() + ": "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("binary"), std::string::npos) << r.err;
}

TEST(extract_errors, corrupt_docx_zip) {
  temp_dir dir;
  write_file(dir / "report.docx", std::string("PK\x03\x04", 4) + std::string(200, 'x'));
  write_file(dir / "plain.docx", "this is just text with a .docx name");
  for (const char* name : {"report.docx", "plain.docx"}) {
    auto r = run_smelt("extract " + shell_quote(dir / name));
    EXPECT_EQ(r.exit_code, 1) << name;
    EXPECT_NE(r.err.find("error: " + (dir / name).string() + ": "), std::string::npos) << r.err;
  }
}

TEST(extract_errors, directory_loop_reported_others_extracted) {
  temp_dir dir;
  write_file(dir / "docs" / "a" / "one.md", "# One\n\nFirst file.\n");
  write_file(dir / "docs" / "b" / "two.md", "# Two\n\nSecond file.\n");
  write_file(dir / "docs" / "b" / "broken.txt", "");
  fs::create_directory_symlink(dir / "docs", dir / "docs" / "a" / "back-to-top");
  auto r = run_smelt("extract " + shell_quote(dir / "docs") + " -o " + shell_quote(dir / "out"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("directory loop"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("broken.txt: empty file (0 bytes)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("extracted 2 of 3 files, 2 failed"), std::string::npos) << r.err;
  EXPECT_EQ(test::read_file(dir / "out" / "a" / "one.md.md"), "# One\n\nFirst file.\n");
  EXPECT_EQ(test::read_file(dir / "out" / "b" / "two.md.md"), "# Two\n\nSecond file.\n");
}

TEST(extract_errors, unsupported_extension_named) {
  temp_dir dir;
  write_file(dir / "photo.jpg", "\xFF\xD8\xFF\xE0 not really");
  auto r = run_smelt("extract " + shell_quote(dir / "photo.jpg"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("photo.jpg: unsupported file type '.jpg'"), std::string::npos) << r.err;
}

TEST(extract_errors, unknown_option_is_usage_error) {
  auto r = run_smelt("extract --frobnicate x.pdf");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("smelt extract: unknown option '--frobnicate'"), std::string::npos) << r.err;
  r = run_smelt("extract --format pdf x.pdf");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--format: expected markdown|text|json, got 'pdf'"), std::string::npos) << r.err;
}

TEST(extract_help, shows_defaults) {
  auto r = run_smelt("extract --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("(default: markdown)"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace smelt
