// The encode pipeline in order (added tokens, normalizers, pre-tokenizers, BPE with a per-word
// cache, post-processor template), optionally tracking token offsets, and vocabulary look-ups. Loading is in
// tokenizer_json.cpp, decoding in tokenizer_decode.cpp, the steps themselves in
// tokenizer_pretokenize/bpe.cpp.
#include "model/tokenizer.h"

#include <algorithm>

#include "core/text.h"
#include "model/tokenizer_internal.h"

namespace smelt {

namespace {

// Words longer than this are not cached (a Llama 2 text without a pre-tokenizer is one long word).
constexpr size_t k_cache_max_word = 256;
constexpr size_t k_cache_max_entries = 1 << 18;

// Appends the ids of one word, and with `ends` each token's end byte in the word.
void encode_word(const tokenizer_impl& t, const std::string& word, std::vector<int32_t>& out,
                 std::vector<uint32_t>* ends) {
  if (word.size() > k_cache_max_word) {
    bpe_encode_word(t.model, word, out, ends);
    return;
  }
  {
    std::lock_guard lock(t.cache_mutex);
    auto it = t.cache.find(word);
    if (it != t.cache.end()) {
      out.insert(out.end(), it->second.ids.begin(), it->second.ids.end());
      if (ends) ends->insert(ends->end(), it->second.ends.begin(), it->second.ends.end());
      return;
    }
  }
  tokenizer_impl::cached_word w;
  bpe_encode_word(t.model, word, w.ids, &w.ends);
  out.insert(out.end(), w.ids.begin(), w.ids.end());
  if (ends) ends->insert(ends->end(), w.ends.begin(), w.ends.end());
  std::lock_guard lock(t.cache_mutex);
  if (t.cache.size() >= k_cache_max_entries) t.cache.clear();
  t.cache.emplace(word, std::move(w));
}

// Per byte of the (sanitized) input, the input bytes of its character; a malformed byte becomes
// the three bytes of U+FFFD, all mapped to that byte (utf8_sanitize's replacement).
std::vector<tok_align> input_alignment(std::string_view text) {
  std::vector<tok_align> align;
  align.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    char32_t c = utf8_next(text, i);
    size_t out_bytes =
        (c == 0xFFFD && i - start == 1 && static_cast<unsigned char>(text[start]) >= 0x80) ? 3 : i - start;
    align.insert(align.end(), out_bytes, tok_align{uint32_t(start), uint32_t(i)});
  }
  return align;
}

// The encode pipeline; with `offsets`, also each token's input byte range (rule in tokenizer.h).
std::vector<int32_t> encode_pipeline(const tokenizer& tok, std::string_view text, bool add_special_tokens,
                                     std::vector<std::pair<size_t, size_t>>* offsets) {
  const tokenizer_impl& t = tok.impl();
  std::vector<tok_piece> pieces(1);
  pieces[0].text = utf8_is_valid(text) ? std::string(text) : utf8_sanitize(text);
  pieces[0].at_start = true;
  if (offsets) pieces[0].align = input_alignment(text);
  added_split(t, pieces, false);
  for (auto& p : pieces)
    if (p.added_id < 0) normalize_apply(t.normalizers, p.text, offsets ? &p.align : nullptr);
  if (t.has_normalized_added) added_split(t, pieces, true);
  pretokenize_apply(t.pretokenizers, pieces);

  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  std::vector<uint32_t> ends;
  for (const auto& p : pieces) {
    // A piece whose alignment was lost (an empty input that a pre-tokenizer grew) maps to an
    // empty range where it starts, or 0.
    bool aligned = offsets && p.align.size() == p.text.size() && !p.align.empty();
    if (p.added_id >= 0) {
      ids.push_back(p.added_id);
      if (offsets) {
        tok_align h = aligned ? tok_align_hull(p.align, 0, p.align.size()) : tok_align{};
        offsets->emplace_back(h.begin, h.end);
      }
      continue;
    }
    if (!offsets) {
      encode_word(t, p.text, ids, nullptr);
      continue;
    }
    size_t first = ids.size();
    ends.clear();
    encode_word(t, p.text, ids, &ends);
    uint32_t at = 0;
    for (size_t k = first; k < ids.size(); ++k) {
      uint32_t end = ends[k - first];
      tok_align h = aligned ? tok_align_hull(p.align, at, end) : tok_align{};
      offsets->emplace_back(h.begin, h.end);
      at = end;
    }
  }
  if (!add_special_tokens || t.post_single.empty()) return ids;
  std::vector<int32_t> out;
  std::vector<std::pair<size_t, size_t>> out_offsets;
  out.reserve(ids.size() + 4);
  bool after = false;  // past the text: special tokens go to an empty range at its end
  for (const auto& piece : t.post_single) {
    if (piece.is_sequence) {
      out.insert(out.end(), ids.begin(), ids.end());
      if (offsets) out_offsets.insert(out_offsets.end(), offsets->begin(), offsets->end());
      after = true;
    } else {
      out.insert(out.end(), piece.ids.begin(), piece.ids.end());
      size_t at = after ? text.size() : 0;
      if (offsets) out_offsets.insert(out_offsets.end(), piece.ids.size(), {at, at});
    }
  }
  if (offsets) *offsets = std::move(out_offsets);
  return out;
}

}  // namespace

tokenizer::tokenizer() : impl_(std::make_unique<tokenizer_impl>()) {}
tokenizer::tokenizer(std::unique_ptr<tokenizer_impl> impl) : impl_(std::move(impl)) {}
tokenizer::~tokenizer() = default;
tokenizer::tokenizer(tokenizer&&) noexcept = default;
tokenizer& tokenizer::operator=(tokenizer&&) noexcept = default;

std::vector<int32_t> tokenizer_encode(const tokenizer& tok, std::string_view text, bool add_special_tokens) {
  return encode_pipeline(tok, text, add_special_tokens, nullptr);
}

tokenizer_encoding tokenizer_encode_offsets(const tokenizer& tok, std::string_view text,
                                            bool add_special_tokens) {
  tokenizer_encoding e;
  e.ids = encode_pipeline(tok, text, add_special_tokens, &e.offsets);
  return e;
}

std::optional<int32_t> tokenizer_token_to_id(const tokenizer& tok, std::string_view token) {
  const tokenizer_impl& t = tok.impl();
  std::string key(token);
  auto a = t.added_by_content.find(key);
  if (a != t.added_by_content.end()) return t.added[a->second].id;
  auto it = t.model.vocab.find(key);
  if (it != t.model.vocab.end()) return it->second;
  return std::nullopt;
}

std::optional<std::string> tokenizer_id_to_token(const tokenizer& tok, int32_t id) {
  const tokenizer_impl& t = tok.impl();
  auto a = t.added_by_id.find(id);
  if (a != t.added_by_id.end()) return t.added[a->second].content;
  if (id >= 0 && size_t(id) < t.model.tokens.size() && !t.model.tokens[id].empty()) return t.model.tokens[id];
  return std::nullopt;
}

size_t tokenizer_vocab_size(const tokenizer& tok) {
  const tokenizer_impl& t = tok.impl();
  size_t n = t.model.tokens.size();
  for (const auto& a : t.added) n = std::max(n, size_t(a.id) + 1);
  return n;
}

bool tokenizer_is_special(const tokenizer& tok, int32_t id) {
  const tokenizer_impl& t = tok.impl();
  auto a = t.added_by_id.find(id);
  return a != t.added_by_id.end() && t.added[a->second].special;
}

}  // namespace smelt
