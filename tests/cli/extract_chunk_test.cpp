// `smelt extract --chunk` through the real binary on a Markdown file written by the test:
// chunk header lines, JSON Lines whose offsets point into the plain `smelt extract` output,
// the size summary on stderr, oversize warnings and option errors.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <sstream>

#include "support/test_support.h"

namespace smelt {
namespace {

namespace fs = std::filesystem;
using test::run_smelt;
using test::temp_dir;
using test::write_file;

using test::shell_quote;

const char* guide_md = R"(# Fire safety guide

Read this guide before the building opens. It explains alarms, extinguishers and exits.

## Alarms

Smoke alarms must be tested every month. Press the test button until the siren sounds. Replace the battery once a year. Never paint over a detector.

| Device | Interval |
| --- | --- |
| Smoke alarm | 1 month |
| Heat detector | 12 months |

## Exits

```sh
check_exits --floor 3
```

Keep every exit clear. Doors must open outwards.
)";

std::vector<std::string> lines_starting_with(const std::string& text, const std::string& prefix) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(prefix, 0) == 0) out.push_back(line);
  return out;
}

TEST(extract_chunk, markdown_chunks_with_headers_and_summary) {
  temp_dir dir;
  write_file(dir / "guide.md", guide_md);
  auto r = run_smelt("extract --chunk --chunk-size 200 " + shell_quote(dir / "guide.md"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(lines_starting_with(r.out, "<!-- chunk"),
            (std::vector<std::string>{
                "<!-- chunk c0000 | Fire safety guide | 108 chars -->",
                "<!-- chunk c0001 | Fire safety guide > Alarms | 159 chars -->",
                "<!-- chunk c0002 | Fire safety guide > Alarms | 91 chars -->",
                "<!-- chunk c0003 | Fire safety guide > Exits | 91 chars -->",
            }));
  // The table and the code block arrive whole, each under its own heading path.
  EXPECT_NE(r.out.find("<!-- chunk c0002 | Fire safety guide > Alarms | 91 chars -->\n| Device | Interval |\n"
                       "| --- | --- |\n| Smoke alarm | 1 month |\n| Heat detector | 12 months |\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("## Exits\n\n```sh\ncheck_exits --floor 3\n```\n\nKeep every exit clear."),
            std::string::npos);
  EXPECT_NE(r.err.find("4 chunks (chars): min 91, median 91, mean 112.2, p90 159, max 159"),
            std::string::npos)
      << r.err;
}

TEST(extract_chunk, json_lines_point_into_the_rendered_document) {
  temp_dir dir;
  write_file(dir / "guide.md", guide_md);
  auto plain = run_smelt("extract " + shell_quote(dir / "guide.md"));
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  auto r = run_smelt("extract --chunk --chunk-size 120 --chunk-overlap 40 -f json " +
                     shell_quote(dir / "guide.md"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream in(r.out);
  size_t count = 0, overlapped = 0;
  for (std::string line; std::getline(in, line); ++count) {
    auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j["id"], "c000" + std::to_string(count));
    EXPECT_EQ(j["source"], (dir / "guide.md").string());
    EXPECT_EQ(j["unit"], "chars");
    size_t begin = j["begin"], end = j["end"], overlap = j["overlap"];
    std::string text = j["text"];
    ASSERT_LE(end, plain.out.size());
    EXPECT_EQ(text.substr(overlap), plain.out.substr(begin, end - begin)) << line;
    if (!j["oversize"].get<bool>()) EXPECT_LE(j["size"].get<size_t>(), 120u) << line;
    if (overlap) ++overlapped;
    EXPECT_FALSE(j["breadcrumb"].empty()) << line;
  }
  EXPECT_GE(count, 5u);
  EXPECT_GE(overlapped, 1u);
  EXPECT_NE(r.err.find(std::to_string(count) + " chunks (chars)"), std::string::npos) << r.err;
}

TEST(extract_chunk, tokens_and_oversize_warning) {
  temp_dir dir;
  write_file(dir / "guide.md", guide_md);
  auto r = run_smelt("extract --chunk --chunk-unit tokens --chunk-size 20 " + shell_quote(dir / "guide.md"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const auto& header : lines_starting_with(r.out, "<!-- chunk"))
    EXPECT_NE(header.find(" tokens"), std::string::npos) << header;
  // The 91-character table estimates to 23 tokens: kept whole and reported.
  EXPECT_NE(
      r.err.find(
          "warning: " + (dir / "guide.md").string() +
          ": chunk c0005 is 23 tokens, over the 20 budget (tables, code blocks and headings are kept whole)"),
      std::string::npos)
      << r.out << r.err;
  EXPECT_NE(r.err.find("over the 20 budget (tables, code blocks and headings are kept whole)"),
            std::string::npos)
      << r.err;
}

TEST(extract_chunk, bad_chunk_options) {
  temp_dir dir;
  write_file(dir / "guide.md", guide_md);
  auto r = run_smelt("extract --chunk --chunk-overlap 900 " + shell_quote(dir / "guide.md"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("smelt extract: --chunk-overlap: expected 0 to half of --chunk-size (750), got 900"),
            std::string::npos)
      << r.err;
  r = run_smelt("extract --chunk --chunk-size 0 " + shell_quote(dir / "guide.md"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--chunk-size: expected at least 1, got 0"), std::string::npos) << r.err;
  r = run_smelt("extract --chunk --chunk-size lots " + shell_quote(dir / "guide.md"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--chunk-size: expected a whole number, got 'lots'"), std::string::npos) << r.err;
  r = run_smelt("extract --chunk --chunk-unit words " + shell_quote(dir / "guide.md"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--chunk-unit: expected chars|tokens, got 'words'"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());
}

}  // namespace
}  // namespace smelt
