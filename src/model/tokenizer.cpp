// The encode pipeline in order (added tokens, normalizers, pre-tokenizers, BPE with a per-word
// cache, post-processor template) and vocabulary look-ups. Loading is in tokenizer_json.cpp,
// decoding in tokenizer_decode.cpp, the steps themselves in tokenizer_pretokenize/bpe.cpp.
#include "model/tokenizer.h"

#include <algorithm>

#include "core/text.h"
#include "model/tokenizer_internal.h"

namespace smelt {

namespace {

// Words longer than this are not cached (a Llama 2 text without a pre-tokenizer is one long word).
constexpr size_t k_cache_max_word = 256;
constexpr size_t k_cache_max_entries = 1 << 18;

void encode_word(const tokenizer_impl& t, const std::string& word, std::vector<int32_t>& out) {
  if (word.size() > k_cache_max_word) {
    bpe_encode_word(t.model, word, out);
    return;
  }
  {
    std::lock_guard lock(t.cache_mutex);
    auto it = t.cache.find(word);
    if (it != t.cache.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int32_t> ids;
  bpe_encode_word(t.model, word, ids);
  out.insert(out.end(), ids.begin(), ids.end());
  std::lock_guard lock(t.cache_mutex);
  if (t.cache.size() >= k_cache_max_entries) t.cache.clear();
  t.cache.emplace(word, std::move(ids));
}

}  // namespace

tokenizer::tokenizer() : impl_(std::make_unique<tokenizer_impl>()) {}
tokenizer::tokenizer(std::unique_ptr<tokenizer_impl> impl) : impl_(std::move(impl)) {}
tokenizer::~tokenizer() = default;
tokenizer::tokenizer(tokenizer&&) noexcept = default;
tokenizer& tokenizer::operator=(tokenizer&&) noexcept = default;

std::vector<int32_t> tokenizer_encode(const tokenizer& tok, std::string_view text, bool add_special_tokens) {
  const tokenizer_impl& t = tok.impl();
  std::vector<tok_piece> pieces(1);
  pieces[0].text = utf8_is_valid(text) ? std::string(text) : utf8_sanitize(text);
  pieces[0].at_start = true;
  added_split(t, pieces, false);
  for (auto& p : pieces)
    if (p.added_id < 0) normalize_apply(t.normalizers, p.text);
  if (t.has_normalized_added) added_split(t, pieces, true);
  pretokenize_apply(t.pretokenizers, pieces);

  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  for (const auto& p : pieces) {
    if (p.added_id >= 0)
      ids.push_back(p.added_id);
    else
      encode_word(t, p.text, ids);
  }
  if (!add_special_tokens || t.post_single.empty()) return ids;
  std::vector<int32_t> out;
  out.reserve(ids.size() + 4);
  for (const auto& piece : t.post_single) {
    if (piece.is_sequence)
      out.insert(out.end(), ids.begin(), ids.end());
    else
      out.insert(out.end(), piece.ids.begin(), piece.ids.end());
  }
  return out;
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
