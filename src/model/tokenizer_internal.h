// Internal layout of a loaded tokenizer, shared by the tokenizer_*.cpp files only: the pipeline
// normalizers -> added-token split -> pre-tokenizers -> BPE -> post-processor, and the decoder
// chain. tokenizer_json.cpp fills it; nothing outside src/model/tokenizer* should include this.
#pragma once

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/result.h"
#include "model/tokenizer.h"

namespace smelt {

// A compiled PCRE2 pattern (UTF + UCP, JIT when available). Matching is thread-safe.
struct tok_regex {
  struct code_free {
    void operator()(pcre2_code* c) const { pcre2_code_free(c); }
  };
  std::unique_ptr<pcre2_code, code_free> code;
};
// literal: the pattern is a plain string (HF's {"String": ...}). `where` names it in errors.
result<tok_regex> tok_regex_compile(const std::string& pattern, bool literal, const std::string& where);
// Non-overlapping matches of re in text as (begin, end) byte offsets, left to right.
void tok_regex_find_all(const tok_regex& re, std::string_view text,
                        std::vector<std::pair<size_t, size_t>>& out);

enum normalizer_kind {
  normalizer_nfc,
  normalizer_nfd,
  normalizer_nfkc,
  normalizer_nfkd,
  normalizer_prepend,  // content prepended to a non-empty piece
  normalizer_replace,  // every match of pattern (or literal) -> content
};
struct normalizer_step {
  normalizer_kind kind = normalizer_nfc;
  std::string literal;             // replace with a {"String": ...} pattern
  std::optional<tok_regex> regex;  // replace with a {"Regex": ...} pattern
  std::string content;
};

enum split_behavior {
  split_behavior_isolated,
  split_behavior_removed,
  split_behavior_merged_with_previous,
  split_behavior_merged_with_next,
  split_behavior_contiguous,
};
enum prepend_scheme { prepend_scheme_always, prepend_scheme_first, prepend_scheme_never };
enum pretok_kind { pretok_split, pretok_byte_level, pretok_metaspace };
struct pretok_step {
  pretok_kind kind = pretok_split;
  // split
  std::optional<tok_regex> regex;
  split_behavior behavior = split_behavior_isolated;
  bool invert = false;
  // byte_level
  bool add_prefix_space = false;
  bool use_regex = false;  // split with the GPT-2 pattern first
  // metaspace
  std::string replacement = "\xE2\x96\x81";  // U+2581
  prepend_scheme scheme = prepend_scheme_always;
  bool split = true;
};

// BPE as HF tokenizers' models::bpe. Words reach it either as raw bytes (byte_level: each byte
// is one initial symbol, looked up through the GPT-2 byte->char table) or as UTF-8 text (each
// character one symbol; missing ones fall back to <0xNN> byte tokens or to unk).
struct bpe_model {
  std::unordered_map<std::string, int32_t> vocab;
  std::vector<std::string> tokens;  // id -> token, "" where the id is unused
  // (left id << 32 | right id) -> (rank, merged id)
  std::unordered_map<uint64_t, std::pair<int32_t, int32_t>> merges;
  bool byte_level = false;              // set when a ByteLevel pre-tokenizer is present
  std::array<int32_t, 256> byte_ids{};  // byte_level: id of the mapped char; else id of <0xNN>
  bool byte_fallback = false;
  bool ignore_merges = false;
  bool fuse_unk = false;
  std::optional<int32_t> unk_id;
};
// Appends the ids of one pre-tokenized word; with `ends`, also each token's end as a byte offset
// into `word` (a token starts where the previous one ended; bytes HF drops go to the next token).
void bpe_encode_word(const bpe_model& m, std::string_view word, std::vector<int32_t>& out,
                     std::vector<uint32_t>* ends = nullptr);

struct added_token {
  std::string content;
  std::string match;  // what the input must contain: content, normalized when `normalized`
  int32_t id = 0;
  bool special = false;
  bool lstrip = false;
  bool rstrip = false;
  bool single_word = false;
  bool normalized = false;
};

enum decoder_kind {
  decoder_byte_level,
  decoder_replace,
  decoder_byte_fallback,
  decoder_fuse,
  decoder_strip,
  decoder_metaspace,
};
struct decoder_step {
  decoder_kind kind = decoder_byte_level;
  std::string pattern;  // replace: literal pattern; metaspace: the replacement char
  std::string content;  // replace: content; strip: the character stripped
  size_t start = 0;     // strip: how many leading `content` chars at most
  size_t stop = 0;      // strip: how many trailing
  prepend_scheme scheme = prepend_scheme_always;
};

struct template_piece {
  bool is_sequence = false;  // the encoded text ("A"); otherwise `ids` of a special token
  std::vector<int32_t> ids;
};

struct tokenizer_impl {
  std::string source;  // file name for messages
  std::vector<normalizer_step> normalizers;
  std::vector<pretok_step> pretokenizers;
  bpe_model model;
  std::vector<added_token> added;                   // in file order
  std::unordered_map<int32_t, size_t> added_by_id;  // id -> index in added
  std::unordered_map<std::string, size_t> added_by_content;
  // Candidates by first byte, longest first (leftmost-longest matching), per `normalized` flag.
  std::array<std::vector<size_t>, 256> added_raw_index;
  std::array<std::vector<size_t>, 256> added_normalized_index;
  bool has_normalized_added = false;
  std::vector<template_piece> post_single;  // empty: add_special_tokens adds nothing
  std::vector<decoder_step> decoders;
  bool has_decoder = false;

  struct cached_word {
    std::vector<int32_t> ids;
    std::vector<uint32_t> ends;  // per id: end byte offset in the word
  };
  mutable std::mutex cache_mutex;  // guards cache (encode may run on several threads)
  mutable std::unordered_map<std::string, cached_word> cache;
};

// Where one byte of a piece came from: the input bytes [begin, end) of the character (or of
// the characters a normalizer merged) that produced it. Only filled when offsets are asked for.
struct tok_align {
  uint32_t begin = 0, end = 0;
};
// Hull of align[b, e) ({0,0} when empty).
tok_align tok_align_hull(const std::vector<tok_align>& align, size_t b, size_t e);

// One piece of text on its way through the pipeline. Pieces that matched an added token carry
// its id and are not touched by normalizers, pre-tokenizers or the model.
struct tok_piece {
  std::string text;
  int32_t added_id = -1;
  bool at_start = false;         // begins at offset 0 of the input (Metaspace prepend_scheme "first")
  std::vector<tok_align> align;  // per byte of text when tracking offsets, else empty
};

// tokenizer_pretokenize.cpp
// With `align` (one entry per byte of s), keeps it in step with the rewritten text.
void normalize_apply(const std::vector<normalizer_step>& steps, std::string& s,
                     std::vector<tok_align>* align = nullptr);
// Splits pieces on added tokens (raw or normalized ones, by `normalized`).
void added_split(const tokenizer_impl& t, std::vector<tok_piece>& pieces, bool normalized);
void pretokenize_apply(const std::vector<pretok_step>& steps, std::vector<tok_piece>& pieces);

// tokenizer_decode.cpp: runs the decoder chain over token strings. raw: keep invalid UTF-8 bytes
// as they are (for the streaming decoder) instead of replacing them with U+FFFD. at_start: the
// tokens begin the text (Metaspace drops the first token's prefix space and Strip trims the
// start only there); false for a streaming window in mid-text.
std::string decode_tokens(const tokenizer_impl& t, std::vector<std::string> tokens, bool raw,
                          bool at_start = true);
// Lossy UTF-8 conversion as Rust's String::from_utf8_lossy (one U+FFFD per maximal bad subpart).
std::string utf8_lossy(std::string_view bytes);

// GPT-2 byte-level table: byte -> code point, and code point -> byte (-1 if none).
char32_t byte_level_char(uint8_t b);
int byte_level_byte(char32_t cp);

}  // namespace smelt
