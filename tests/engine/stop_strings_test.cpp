// Tests for engine/stop_strings: stops across pushes, overlapping stops, a stop at the start, UTF-8
// never split, no stop, and that the output never depends on how the text was chunked (checked
// against a brute-force reference over every split point and byte-by-byte feeding).
#include "engine/stop_strings.h"

#include <gtest/gtest.h>

#include "core/text.h"

namespace smelt {
namespace {

struct outcome {
  std::string text;
  bool stopped = false;
};

// Brute force: the stop whose occurrence ends first (then starts first); text before it.
outcome reference_cut(const std::string& text, const std::vector<std::string>& stops) {
  for (size_t end = 1; end <= text.size(); ++end) {
    for (size_t start = 0; start < end; ++start) {
      for (const std::string& s : stops)
        if (text.compare(start, end - start, s) == 0) return {text.substr(0, start), true};
    }
  }
  return {text, false};
}

// Feeds pieces, checks every returned chunk is valid UTF-8 when the input is, and joins the output.
outcome feed(const std::vector<std::string>& pieces, const std::vector<std::string>& stops) {
  stop_matcher m(stops);
  outcome o;
  for (const std::string& p : pieces) {
    std::string chunk = m.push(p);
    EXPECT_TRUE(utf8_is_valid(chunk)) << "chunk split a character: " << chunk;
    o.text += chunk;
  }
  std::string rest = m.finish();
  EXPECT_TRUE(utf8_is_valid(rest));
  o.text += rest;
  o.stopped = m.stopped();
  return o;
}

}  // namespace

TEST(stop_strings, check_rejects_empty_and_bad_utf8) {
  EXPECT_TRUE(stop_strings_check({"</s>", "\n\n"}).ok());
  auto empty = stop_strings_check({"a", ""});
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.message(), "stop[1]: empty string");
  auto bad = stop_strings_check({"ok\xE7\x81"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.message(), "stop[0]: not valid UTF-8 at byte 2");
}

TEST(stop_strings, no_stop_everything_comes_out) {
  stop_matcher m({"world!"});
  std::string out = m.push("Hello ");
  out += m.push("wor");  // "wor" may begin "world!": held
  EXPECT_EQ(out, "Hello ");
  out += m.finish();
  EXPECT_EQ(out, "Hello wor");
  EXPECT_FALSE(m.stopped());
  EXPECT_EQ(m.matched(), -1);

  stop_matcher none({});
  EXPECT_EQ(none.push("anything </s>"), "anything </s>");
  EXPECT_EQ(none.finish(), "");
}

TEST(stop_strings, stop_across_pushes) {
  stop_matcher m({"</answer>"});
  EXPECT_EQ(m.push("The end</an"), "The end");
  EXPECT_FALSE(m.stopped());
  EXPECT_EQ(m.push("swer> and more"), "");
  EXPECT_TRUE(m.stopped());
  EXPECT_EQ(m.matched(), 0);
  EXPECT_EQ(m.push("ignored"), "");
  EXPECT_EQ(m.finish(), "");
}

TEST(stop_strings, false_start_is_released) {
  stop_matcher m({"</answer>"});
  EXPECT_EQ(m.push("a </an"), "a ");
  EXPECT_EQ(m.push("d b"), "</and b");
  EXPECT_FALSE(m.stopped());
}

TEST(stop_strings, stop_at_very_start) {
  stop_matcher m({"STOP"});
  EXPECT_EQ(m.push("STOP right there"), "");
  EXPECT_TRUE(m.stopped());
  stop_matcher split({"STOP"});
  EXPECT_EQ(split.push("ST"), "");
  EXPECT_EQ(split.push("OP"), "");
  EXPECT_TRUE(split.stopped());
}

TEST(stop_strings, overlapping_stops_first_to_complete_wins) {
  {
    stop_matcher m({"abcd", "bc"});
    EXPECT_EQ(m.push("xabcd"), "xa");  // "bc" completes before "abcd"
    EXPECT_EQ(m.matched(), 1);
  }
  {
    stop_matcher m({"bc", "abc"});
    EXPECT_EQ(m.push("xab"), "x");
    EXPECT_EQ(m.push("cz"), "");  // both end together: the earlier start ("abc") wins
    EXPECT_EQ(m.matched(), 1);
  }
  {
    stop_matcher m({"\n\n", "\nUser:"});
    EXPECT_EQ(m.push("answer\nUs"), "answer");
    EXPECT_EQ(m.push("er: hi"), "");
    EXPECT_EQ(m.matched(), 1);
  }
}

TEST(stop_strings, multibyte_text_and_stops) {
  stop_matcher m({"。结束"});
  EXPECT_EQ(m.push("你好。结"), "你好");
  EXPECT_EQ(m.push("束了"), "");
  EXPECT_TRUE(m.stopped());

  // Bytes of one character arriving in separate pushes are held until the character is whole.
  stop_matcher bytes({"END"});
  EXPECT_EQ(bytes.push("a\xE7"), "a");
  EXPECT_EQ(bytes.push("\x81"), "");
  EXPECT_EQ(bytes.push("\xAB\xF0\x9F"), "火");
  EXPECT_EQ(bytes.push("\x94\xA5 E"), "🔥 ");
  EXPECT_EQ(bytes.finish(), "E");
}

TEST(stop_strings, output_independent_of_chunking) {
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"The answer is 42.</answer>\nmore", {"</answer>"}},
      {"xxabcabcd", {"abcd", "bc"}},
      {"xabcd", {"abcd", "bc"}},
      {"ababababc", {"abc", "bab"}},
      {"no stop in here at all", {"zz", "at all!"}},
      {"警报器火灾报警。结束了", {"。结束", "报警器"}},
      {"emoji 🔥🔥 then 火", {"🔥 t", "火灾"}},
      {"aaaaab", {"aab", "aaaaaa"}},
      {"<|im_end|>", {"<|im_end|>"}},
  };
  for (const auto& [text, stops] : cases) {
    SCOPED_TRACE(text);
    const outcome want = reference_cut(text, stops);
    outcome whole = feed({text}, stops);
    EXPECT_EQ(whole.text, want.text);
    EXPECT_EQ(whole.stopped, want.stopped);
    std::vector<std::string> bytes;
    for (char c : text) bytes.emplace_back(1, c);
    outcome by_byte = feed(bytes, stops);
    EXPECT_EQ(by_byte.text, want.text);
    EXPECT_EQ(by_byte.stopped, want.stopped);
    for (size_t a = 0; a <= text.size(); ++a) {
      for (size_t b = a; b <= text.size(); ++b) {
        outcome three = feed({text.substr(0, a), text.substr(a, b - a), text.substr(b)}, stops);
        ASSERT_EQ(three.text, want.text) << "split at " << a << "," << b;
        ASSERT_EQ(three.stopped, want.stopped) << "split at " << a << "," << b;
      }
    }
  }
}

}  // namespace smelt
