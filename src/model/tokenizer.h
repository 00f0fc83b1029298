// Hugging Face `tokenizer.json` tokenizers: byte-level BPE (Qwen2/Qwen3, Llama 3) and the
// SentencePiece-style BPE of Llama 2 / Mistral / Gemma 3 files (Metaspace or Prepend/Replace,
// literal Split, byte fallback).
// Encode (optionally with each token's byte offsets), decode and a streaming decoder that never
// emits half a UTF-8 character. Chat templates
// (tokenizer_config.json) live in the chat-template module; this file only maps text <-> ids.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace smelt {

struct tokenizer_impl;  // tokenizer_internal.h

// A loaded tokenizer. Immutable after loading except for an internal word cache guarded by a
// mutex, so one tokenizer may be used from several threads at once. Move-only.
class tokenizer {
 public:
  tokenizer();
  explicit tokenizer(std::unique_ptr<tokenizer_impl> impl);
  ~tokenizer();
  tokenizer(tokenizer&&) noexcept;
  tokenizer& operator=(tokenizer&&) noexcept;

  const tokenizer_impl& impl() const { return *impl_; }

 private:
  std::unique_ptr<tokenizer_impl> impl_;
};

// Reads PATH (a tokenizer.json, or a directory holding one). Errors name the file and, for an
// unsupported part, its type and JSON path: "tokenizer.json: model.type: unsupported "Unigram"".
result<tokenizer> tokenizer_load(const std::string& path);
// Same from JSON text already in memory; `source` names it in messages.
result<tokenizer> tokenizer_parse(std::string_view json_text, const std::string& source);

// Text -> ids as HF tokenizers' encode(text, add_special_tokens). Added/special token text in the
// input ("<|im_start|>") becomes that token. Invalid UTF-8 in `text` is replaced by U+FFFD first.
// add_special_tokens applies the post-processor template (Llama's BOS); Qwen's adds nothing.
std::vector<int32_t> tokenizer_encode(const tokenizer& tok, std::string_view text,
                                      bool add_special_tokens = false);
// Ids plus, per id, the byte range [begin, end) of the input text it came from.
struct tokenizer_encoding {
  std::vector<int32_t> ids;
  std::vector<std::pair<size_t, size_t>> offsets;  // one per id, bytes of the input text
};
// tokenizer_encode with offsets. A token's range is the hull of the input characters whose bytes
// it encodes, so:
// - a character split over several tokens (byte-level pieces of an emoji, <0xNN> byte fallback)
//   gives each of them the whole character's range: neighbours' ranges may overlap;
// - bytes the pipeline inserts (Prepend/Metaspace U+2581, ByteLevel's prefix space) belong to
//   the character they were put in front of; a Replace maps to what it replaced;
// - a normalizer that merges characters (NFC: "e" + U+0301 -> "é") gives the result all of
//   them (HF tokenizers gives only the first; elsewhere the ranges equal HF's, converted from
//   characters to bytes);
// - an added token covers its text plus the whitespace its lstrip/rstrip swallowed;
// - tokens the post-processor adds (Llama's BOS) get an empty range: at 0 before the text, at
//   text.size() after it;
// - a malformed UTF-8 byte is one U+FFFD mapped to that byte.
tokenizer_encoding tokenizer_encode_offsets(const tokenizer& tok, std::string_view text,
                                            bool add_special_tokens = false);
// Ids -> text as HF tokenizers' decode(ids, skip_special_tokens). Unknown ids are skipped.
std::string tokenizer_decode(const tokenizer& tok, std::span<const int32_t> ids, bool skip_special = false);

std::optional<int32_t> tokenizer_token_to_id(const tokenizer& tok, std::string_view token);
std::optional<std::string> tokenizer_id_to_token(const tokenizer& tok, int32_t id);
// Largest id + 1 over the model vocabulary and the added tokens.
size_t tokenizer_vocab_size(const tokenizer& tok);
bool tokenizer_is_special(const tokenizer& tok, int32_t id);

// Streaming decode for generation: push ids one at a time, get back the text they complete.
// Text is held back while it would end inside a UTF-8 character; the concatenation of every
// push() and finish() equals tokenizer_decode() of all ids whenever that decode is valid UTF-8
// (one exception: HF's Metaspace decoder drops every U+2581 of the first decoded token, which
// with byte fallback may span many ids; the stream applies that to the text's start only).
// Keeps a reference to `tok`, which must outlive it.
class tokenizer_decode_stream {
 public:
  explicit tokenizer_decode_stream(const tokenizer& tok, bool skip_special = false);
  std::string push(int32_t id);
  // Emits whatever is held back (an incomplete character comes out as U+FFFD) and resets.
  std::string finish();

 private:
  const tokenizer* tok_;
  bool skip_special_;
  std::vector<int32_t> ids_;  // ids_[prefix_..read_) are context already emitted; read_.. pending
  size_t prefix_ = 0;
  size_t read_ = 0;
  bool mid_text_ = false;  // ids before ids_[0] were dropped: the window is not the text's start
};

}  // namespace smelt
