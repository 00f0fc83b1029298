// Tokenizer against HF tokenizers: the references in testdata/tokenizer_refs/*.json are written
// during the test run by tests/tools/gen_tokenizer_refs.mjs (@anush008/tokenizers on the real
// Qwen3, Llama 3.1, Llama 2 and Gemma 3 tokenizer.json files, plus cut-down and Mistral-style
// variants of them with flagged added tokens) and compared exactly here, token offsets included. Also the
// streaming decoder, look-ups, `smelt tokenize` and the errors for bad or unsupported files.
#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <map>

#include "core/text.h"
#include "model/tokenizer.h"
#include "support/test_support.h"

namespace smelt {
namespace {

using json = nlohmann::json;

json load_refs(const std::string& name) {
  std::ifstream in(test::testdata("tokenizer_refs/" + name + ".json"));
  if (!in) return json();
  return json::parse(in);
}

// Each test process loads a tokenizer at most once per name.
const tokenizer& cached_tokenizer(const std::string& path) {
  static std::map<std::string, tokenizer> cache;
  auto it = cache.find(path);
  if (it == cache.end()) {
    auto t = tokenizer_load(path);
    EXPECT_TRUE(t.ok()) << t.message();
    it = cache.emplace(path, t.ok() ? std::move(*t) : tokenizer()).first;
  }
  return it->second;
}

std::string show(const std::string& s) {
  return json(s).dump(-1, ' ', true, json::error_handler_t::replace);
}

class tokenizer_reference : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    refs_ = load_refs(GetParam());
    ASSERT_TRUE(refs_.is_object()) << "missing " << test::testdata("tokenizer_refs/" + GetParam() + ".json");
    tok_ = &cached_tokenizer(refs_["tokenizer"].get<std::string>());
  }
  json refs_;
  const tokenizer* tok_ = nullptr;
};

TEST_P(tokenizer_reference, encode_matches_hf) {
  size_t n = 0;
  for (const auto& c : refs_["cases"]) {
    std::string text = c["text"];
    auto ids = tokenizer_encode(*tok_, text, false);
    EXPECT_EQ(ids, c["ids"].get<std::vector<int32_t>>()) << "text " << show(text);
    auto ids_special = tokenizer_encode(*tok_, text, true);
    EXPECT_EQ(ids_special, c["ids_special"].get<std::vector<int32_t>>())
        << "text (add_special) " << show(text);
    ++n;
  }
  EXPECT_GT(n, 80u);
}

TEST_P(tokenizer_reference, offsets_match_hf) {
  // HF's offsets (characters, converted to bytes by the generator) must equal smelt's, except
  // where NFC merged characters: there HF keeps only the first part, smelt all of them, so HF's
  // range must lie inside smelt's.
  size_t exact = 0, merged = 0;
  for (const auto& c : refs_["cases"]) {
    std::string text = c["text"];
    tokenizer_encoding e = tokenizer_encode_offsets(*tok_, text, true);
    ASSERT_EQ(e.ids, c["ids_special"].get<std::vector<int32_t>>()) << show(text);
    auto hf = c["offsets_special"].get<std::vector<std::pair<size_t, size_t>>>();
    ASSERT_EQ(e.offsets.size(), hf.size()) << show(text);
    for (size_t k = 0; k < hf.size(); ++k) {
      EXPECT_LE(e.offsets[k].first, e.offsets[k].second);
      EXPECT_LE(e.offsets[k].second, text.size());
      if (!c["nfc_changes"].get<bool>()) {
        EXPECT_EQ(e.offsets[k], hf[k]) << "token " << k << " of " << show(text);
      } else {
        EXPECT_LE(e.offsets[k].first, hf[k].first) << "token " << k << " of " << show(text);
        EXPECT_GE(e.offsets[k].second, hf[k].second) << "token " << k << " of " << show(text);
      }
    }
    ++(c["nfc_changes"].get<bool>() ? merged : exact);
    // Offsets never change the ids.
    EXPECT_EQ(tokenizer_encode_offsets(*tok_, text, false).ids, c["ids"].get<std::vector<int32_t>>());
  }
  EXPECT_GT(exact, 80u);
}

TEST_P(tokenizer_reference, offsets_cover_the_text_in_order) {
  // Every byte of the text belongs to some token, ranges never go backwards, and the bytes a
  // token covers re-encode to that token when it is a whole-character token.
  for (const auto& c : refs_["cases"]) {
    std::string text = c["text"];
    if (!utf8_is_valid(text)) continue;
    tokenizer_encoding e = tokenizer_encode_offsets(*tok_, text, false);
    std::vector<char> covered(text.size(), 0);
    size_t last_begin = 0;
    for (auto [b, end] : e.offsets) {
      EXPECT_GE(b, last_begin) << show(text);
      last_begin = b;
      for (size_t k = b; k < end; ++k) covered[k] = 1;
    }
    for (size_t k = 0; k < text.size(); ++k) EXPECT_TRUE(covered[k]) << "byte " << k << " of " << show(text);
  }
}

TEST(tokenizer_offsets, split_characters_share_their_range_and_bad_bytes_map_to_themselves) {
  json refs = load_refs("qwen3");
  ASSERT_TRUE(refs.is_object());
  const tokenizer& tok = cached_tokenizer(refs["tokenizer"].get<std::string>());
  // 𪚥 alone is several byte-level tokens in Qwen3's vocabulary: each gets the character's 4 bytes.
  std::string text = "\xF0\xAA\x9A\xA5";
  tokenizer_encoding e = tokenizer_encode_offsets(tok, text);
  ASSERT_GE(e.ids.size(), 2u);
  for (auto range : e.offsets) EXPECT_EQ(range, (std::pair<size_t, size_t>{0, 4}));
  // A malformed byte is U+FFFD (as tokenizer_encode) mapped to that one byte: ranges stay inside
  // the 3-byte input (the replacement's own 3 bytes do not shift them) and cover all of it.
  std::string bad = "x\xFFy";
  tokenizer_encoding f = tokenizer_encode_offsets(tok, bad);
  EXPECT_EQ(f.ids, tokenizer_encode(tok, bad));
  std::vector<char> covered(bad.size(), 0);
  for (auto [b, end] : f.offsets) {
    EXPECT_LE(end, bad.size());
    for (size_t k = b; k < end && k < bad.size(); ++k) covered[k] = 1;
  }
  EXPECT_EQ(covered, std::vector<char>(bad.size(), 1));
  EXPECT_EQ(f.offsets.back().second, bad.size());
}

TEST_P(tokenizer_reference, decode_matches_hf) {
  for (const auto& c : refs_["cases"]) {
    auto ids = c["ids_special"].get<std::vector<int32_t>>();
    EXPECT_EQ(tokenizer_decode(*tok_, ids, false), c["decode"].get<std::string>()) << show(c["text"]);
    EXPECT_EQ(tokenizer_decode(*tok_, ids, true), c["decode_skip"].get<std::string>()) << show(c["text"]);
  }
}

TEST_P(tokenizer_reference, decode_of_arbitrary_ids_matches_hf) {
  // Random id runs: split UTF-8 characters, byte-fallback runs, specials in the middle.
  for (const auto& d : refs_["decodes"]) {
    auto ids = d["ids"].get<std::vector<int32_t>>();
    EXPECT_EQ(tokenizer_decode(*tok_, ids, false), d["text"].get<std::string>()) << d["ids"].dump();
    EXPECT_EQ(tokenizer_decode(*tok_, ids, true), d["text_skip"].get<std::string>()) << d["ids"].dump();
  }
}

TEST_P(tokenizer_reference, token_lookups_match_hf) {
  for (const auto& t : refs_["tokens"]) {
    int32_t id = t[0];
    std::string token = t[1];
    EXPECT_EQ(tokenizer_id_to_token(*tok_, id).value_or("<none>"), token) << id;
    // Only the first id of a token string round-trips (a vocabulary may repeat a string).
    auto back = tokenizer_token_to_id(*tok_, token);
    ASSERT_TRUE(back.has_value()) << token;
    EXPECT_EQ(tokenizer_id_to_token(*tok_, *back).value_or("<none>"), token);
  }
  EXPECT_EQ(tokenizer_vocab_size(*tok_), refs_["vocab_size"].get<size_t>());
  EXPECT_FALSE(tokenizer_id_to_token(*tok_, -1).has_value());
  EXPECT_FALSE(tokenizer_id_to_token(*tok_, int32_t(tokenizer_vocab_size(*tok_))).has_value());
  EXPECT_FALSE(tokenizer_token_to_id(*tok_, "no such token, surely").has_value());
}

TEST_P(tokenizer_reference, streaming_decode_never_splits_a_character) {
  for (const auto& c : refs_["cases"]) {
    auto ids = c["ids_special"].get<std::vector<int32_t>>();
    for (bool skip : {false, true}) {
      // HF's Metaspace decoder drops every U+2581 of the first decoded token. mistral_small spells
      // most text in <0xNN> bytes, which ByteFallback fuses into one token: without <s>, HF decodes
      // the whole text without spaces, while the stream (rightly) keeps the spaces of later ids.
      if (skip && GetParam() == "mistral_small") continue;
      tokenizer_decode_stream stream(*tok_, skip);
      std::string all;
      for (int32_t id : ids) {
        std::string piece = stream.push(id);
        EXPECT_TRUE(utf8_is_valid(piece)) << "half a character after id " << id << " in " << show(c["text"]);
        all += piece;
      }
      all += stream.finish();
      EXPECT_EQ(all, c[skip ? "decode_skip" : "decode"].get<std::string>()) << show(c["text"]);
    }
  }
}

TEST_P(tokenizer_reference, streaming_decode_holds_back_split_characters) {
  // Rare 4-byte characters come out of every one of these tokenizers as several byte tokens;
  // nothing may be emitted while a character is incomplete.
  const std::string text = "𪚥𠀀🜁";
  auto ids = tokenizer_encode(*tok_, text);
  ASSERT_GT(ids.size(), 3u);
  tokenizer_decode_stream stream(*tok_);
  std::string all;
  size_t held = 0;
  for (int32_t id : ids) {
    std::string piece = stream.push(id);
    EXPECT_TRUE(utf8_is_valid(piece)) << show(piece);
    held += piece.empty();
    all += piece;
  }
  all += stream.finish();
  EXPECT_GT(held, 0u);
  EXPECT_EQ(all, tokenizer_decode(*tok_, ids));
  EXPECT_NE(all.find(text), std::string::npos) << show(all);
  // finish() on a cut-off character gives U+FFFD, never raw bytes.
  size_t cut_at = 1;
  while (cut_at < ids.size() &&
         !tokenizer_decode(*tok_, std::span(ids).first(cut_at)).ends_with("\xEF\xBF\xBD"))
    ++cut_at;
  ASSERT_LT(cut_at, ids.size());
  tokenizer_decode_stream cut(*tok_);
  std::string out;
  for (size_t k = 0; k < cut_at; ++k) out += cut.push(ids[k]);
  EXPECT_EQ(out, "");
  out += cut.finish();
  EXPECT_TRUE(out.ends_with("\xEF\xBF\xBD")) << show(out);
}

TEST_P(tokenizer_reference, long_text_is_fast) {
  std::string text;
  for (const auto& c : refs_["cases"]) text += c["text"].get<std::string>() + "\n";
  while (text.size() < (1u << 20)) text += text;  // >= 1 MiB of mixed text
  auto start = std::chrono::steady_clock::now();
  auto ids = tokenizer_encode(*tok_, text);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_GT(ids.size(), text.size() / 8);
  // Generous bound (a release build does ~10+ MB/s here): catches a quadratic slip, not noise.
  EXPECT_LT(seconds, 10.0) << text.size() << " bytes";
  std::printf("%s: %.1f MB/s\n", GetParam().c_str(), text.size() / seconds / 1e6);
}

INSTANTIATE_TEST_SUITE_P(hf, tokenizer_reference,
                         ::testing::Values("qwen3", "llama3_1", "llama2", "gemma3", "qwen3_small",
                                           "mistral_small", "metaspace_split", "gemma3_small",
                                           "gemma3_split_small"));

// ---- errors -------------------------------------------------------------------------------

std::string parse_error(const std::string& json_text) {
  auto t = tokenizer_parse(json_text, "dir/tokenizer.json");
  return t.ok() ? "(loaded)" : t.message();
}

const char* k_tiny_model =
    R"("model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]})";

TEST(tokenizer_errors, tiny_valid_file_loads_and_merges) {
  auto t = tokenizer_parse(std::string("{") + k_tiny_model + "}", "tiny.json");
  ASSERT_TRUE(t.ok()) << t.message();
  EXPECT_EQ(tokenizer_encode(*t, "abba"), (std::vector<int32_t>{2, 1, 0}));  // no pre-tokenizer: one word
}

TEST(tokenizer_errors, split_on_a_literal_string_loads) {
  // {"String": ...} is the text itself, regex characters included (Gemma 3 splits on " ").
  auto split_on = [](const std::string& literal) {
    return tokenizer_parse(std::string("{") + k_tiny_model +
                               R"(, "pre_tokenizer": {"type": "Split", "pattern": )" + R"({"String": ")" +
                               literal + R"("}, "behavior": "Isolated"}})",
                           "tiny.json");
  };
  auto b = split_on("b");
  ASSERT_TRUE(b.ok()) << b.message();
  EXPECT_EQ(tokenizer_encode(*b, "abab"), (std::vector<int32_t>{0, 1, 0, 1}));
  auto dot = split_on(".");  // as a regex "." would split every character
  ASSERT_TRUE(dot.ok()) << dot.message();
  EXPECT_EQ(tokenizer_encode(*dot, "abab"), (std::vector<int32_t>{2, 2}));
}

TEST(tokenizer_errors, corrupt_json_names_the_file) {
  std::string m = parse_error("{\"model\": {\"type\": \"BPE\", ");
  EXPECT_TRUE(m.starts_with("dir/tokenizer.json: not valid JSON: ")) << m;
}

TEST(tokenizer_errors, unsupported_model_type) {
  EXPECT_EQ(parse_error(R"({"model": {"type": "Unigram", "vocab": []}})"),
            "dir/tokenizer.json: model.type: unsupported \"Unigram\"");
}

TEST(tokenizer_errors, unsupported_normalizer_names_its_path) {
  EXPECT_EQ(
      parse_error(
          std::string("{") + k_tiny_model +
          R"(, "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFC"}, {"type": "Lowercase"}]}})"),
      "dir/tokenizer.json: normalizer.normalizers[1].type: unsupported \"Lowercase\"");
}

TEST(tokenizer_errors, unsupported_pre_tokenizer_names_its_path) {
  EXPECT_EQ(
      parse_error(std::string("{") + k_tiny_model +
                  R"(, "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Whitespace"}]}})"),
      "dir/tokenizer.json: pre_tokenizer.pretokenizers[0].type: unsupported \"Whitespace\"");
}

TEST(tokenizer_errors, unsupported_decoder_and_post_processor) {
  EXPECT_EQ(parse_error(std::string("{") + k_tiny_model + R"(, "decoder": {"type": "WordPiece"}})"),
            "dir/tokenizer.json: decoder.type: unsupported \"WordPiece\"");
  EXPECT_EQ(
      parse_error(std::string("{") + k_tiny_model + R"(, "post_processor": {"type": "BertProcessing"}})"),
      "dir/tokenizer.json: post_processor.type: unsupported \"BertProcessing\"");
}

TEST(tokenizer_errors, merge_of_unknown_token) {
  EXPECT_EQ(parse_error(R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a b"]}})"),
            "dir/tokenizer.json: model.merges[0]: token \"ab\" is not in the vocabulary");
  EXPECT_EQ(parse_error(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b c"]}})"),
            "dir/tokenizer.json: model.merges[0]: expected two tokens separated by one space");
}

TEST(tokenizer_errors, bad_regex_and_bad_types) {
  std::string m = parse_error(
      std::string("{") + k_tiny_model +
      R"(, "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(unclosed"}, "behavior": "Isolated"}})");
  EXPECT_TRUE(m.starts_with("dir/tokenizer.json: pre_tokenizer.pattern: bad regex at offset ")) << m;
  EXPECT_EQ(parse_error(R"({"model": {"type": "BPE", "vocab": {"a": "zero"}, "merges": []}})"),
            "dir/tokenizer.json: model.vocab[\"a\"]: expected an integer");
  EXPECT_EQ(parse_error(R"({"model": {"type": "BPE", "vocab": {"a": 99999999999}, "merges": []}})"),
            "dir/tokenizer.json: model.vocab[\"a\"]: value 99999999999 out of range");
  EXPECT_EQ(parse_error("[1, 2]"), "dir/tokenizer.json: (top level): expected an object");
  EXPECT_EQ(parse_error("{}"), "dir/tokenizer.json: (top level).model: missing");
}

TEST(tokenizer_errors, deep_nesting_is_refused) {
  std::string n = R"({"type": "NFC"})";
  for (int k = 0; k < 40; ++k) n = R"({"type": "Sequence", "normalizers": [)" + n + "]}";
  std::string m = parse_error(std::string("{") + k_tiny_model + R"(, "normalizer": )" + n + "}");
  EXPECT_TRUE(m.starts_with("dir/tokenizer.json: normalizer.normalizers[0].normalizers[0].")) << m;
  EXPECT_TRUE(m.ends_with("]: nested too deeply")) << m;
}

TEST(tokenizer_errors, missing_file_names_the_path) {
  test::temp_dir dir;
  auto t = tokenizer_load(dir.path().string());  // a directory without tokenizer.json
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.message().find((dir.path() / "tokenizer.json").string()), std::string::npos) << t.message();
}

// ---- smelt tokenize -------------------------------------------------------------------------

TEST(tokenize_command, prints_ids_like_hf) {
  json refs = load_refs("qwen3");
  ASSERT_TRUE(refs.is_object());
  std::filesystem::path file = refs["tokenizer"].get<std::string>();
  // A directory holding only tokenizer files is a valid MODEL_DIR.
  test::temp_dir dir;
  std::filesystem::copy_file(file, dir / "tokenizer.json");
  const json& c = refs["cases"][13];  // the <|im_start|> chat text
  ASSERT_EQ(c["text"].get<std::string>().rfind("<|im_start|>", 0), 0u);
  test::write_file(dir / "input.txt", c["text"].get<std::string>());
  auto r = test::run_smelt("tokenize " + test::shell_quote(dir.path()) + " < " +
                           test::shell_quote(dir / "input.txt"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json out = json::parse(r.out);
  EXPECT_EQ(out["ids"], c["ids"]);
  EXPECT_EQ(out["count"].get<size_t>(), c["ids"].size());

  r = test::run_smelt("tokenize " + test::shell_quote(file) + " --tokens --text 'Hello, world!'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  out = json::parse(r.out);
  EXPECT_EQ(out["ids"], refs["cases"][0]["ids"]);
  ASSERT_EQ(out["tokens"].size(), out["ids"].size());
  EXPECT_EQ(out["tokens"][0], "Hello");
}

TEST(tokenize_command, gemma3_prints_ids_like_hf) {
  // Gemma 3's file (literal Split pre-tokenizer) once failed to load here.
  json refs = load_refs("gemma3");
  ASSERT_TRUE(refs.is_object());
  const json& c = refs["cases"][7];  // runs of spaces, tabs and newlines
  ASSERT_EQ(c["text"].get<std::string>().rfind("a  b", 0), 0u);
  test::temp_dir dir;
  test::write_file(dir / "input.txt", c["text"].get<std::string>());
  auto r = test::run_smelt("tokenize " + test::shell_quote(refs["tokenizer"].get<std::string>()) +
                           " --add-special < " + test::shell_quote(dir / "input.txt"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["ids"], c["ids_special"]);
}

TEST(tokenize_command, bad_model_dir_is_a_clear_error) {
  test::temp_dir dir;
  test::write_file(dir / "tokenizer.json", "{\"model\": {\"type\": \"WordPiece\"}}");
  auto r = test::run_smelt("tokenize " + test::shell_quote(dir.path()) + " --text hi");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("tokenizer.json: model.type: unsupported \"WordPiece\""), std::string::npos) << r.err;
}

}  // namespace
}  // namespace smelt
