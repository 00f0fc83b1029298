// Ids -> text: the HF decoder chain (ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace,
// Sequence) over token strings, tokenizer_decode, and the streaming decoder that holds back text
// ending inside a UTF-8 character. Which decoders a file uses is decided in tokenizer_json.cpp.
#include <algorithm>

#include "core/text.h"
#include "model/tokenizer_internal.h"

namespace smelt {

namespace {

const char* k_replacement_char = "\xEF\xBF\xBD";  // U+FFFD

// Length of the well-formed prefix of a UTF-8 sequence starting at s[i] (0 if s[i] cannot start
// one), and the full length it needs.
std::pair<size_t, size_t> utf8_sequence_at(std::string_view s, size_t i) {
  auto c = static_cast<unsigned char>(s[i]);
  size_t need;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c < 0x80) return {1, 1};
  if (c >= 0xC2 && c <= 0xDF)
    need = 2;
  else if (c >= 0xE0 && c <= 0xEF)
    need = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
  else if (c >= 0xF0 && c <= 0xF4)
    need = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
  else
    return {0, 1};
  size_t have = 1;
  while (have < need && i + have < s.size()) {
    auto d = static_cast<unsigned char>(s[i + have]);
    if (d < (have == 1 ? lo : 0x80) || d > (have == 1 ? hi : 0xBF)) break;
    ++have;
  }
  return {have, need};
}

// True if s ends with the start of a character that more bytes could still complete.
bool utf8_ends_incomplete(std::string_view s) {
  for (size_t back = 1; back <= 3 && back <= s.size(); ++back) {
    size_t i = s.size() - back;
    auto c = static_cast<unsigned char>(s[i]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: look further back
    auto [have, need] = utf8_sequence_at(s, i);
    return have == back && have < need;
  }
  return false;
}

// HF ByteFallback: runs of <0xNN> tokens become the bytes they spell when those are valid UTF-8,
// else one U+FFFD per token (raw: the bytes as they are).
void byte_fallback(std::vector<std::string>& tokens, bool raw) {
  std::vector<std::string> out;
  std::string run;
  size_t run_tokens = 0;
  auto flush = [&] {
    if (run_tokens == 0) return;
    if (raw || utf8_is_valid(run)) {
      out.push_back(run);
    } else {
      for (size_t k = 0; k < run_tokens; ++k) out.emplace_back(k_replacement_char);
    }
    run.clear();
    run_tokens = 0;
  };
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (auto& t : tokens) {
    if (t.size() == 6 && t.starts_with("<0x") && t[5] == '>' && hex(t[3]) >= 0 && hex(t[4]) >= 0) {
      run.push_back(char(hex(t[3]) * 16 + hex(t[4])));
      ++run_tokens;
    } else {
      flush();
      out.push_back(std::move(t));
    }
  }
  flush();
  tokens = std::move(out);
}

std::string strip_token(std::string_view t, const std::string& ch, size_t start, size_t stop) {
  for (size_t k = 0; k < start && !ch.empty() && t.starts_with(ch); ++k) t.remove_prefix(ch.size());
  for (size_t k = 0; k < stop && !ch.empty() && t.ends_with(ch); ++k) t.remove_suffix(ch.size());
  return std::string(t);
}

std::string ids_text(const tokenizer_impl& t, std::span<const int32_t> ids, bool skip_special, bool raw,
                     bool at_start = true) {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    auto a = t.added_by_id.find(id);
    if (a != t.added_by_id.end()) {
      const added_token& tok = t.added[a->second];
      if (!(skip_special && tok.special)) tokens.push_back(tok.content);
    } else if (id >= 0 && size_t(id) < t.model.tokens.size() && !t.model.tokens[id].empty()) {
      tokens.push_back(t.model.tokens[id]);
    }
  }
  return decode_tokens(t, std::move(tokens), raw, at_start);
}

}  // namespace

std::string utf8_lossy(std::string_view bytes) {
  if (utf8_is_valid(bytes)) return std::string(bytes);
  std::string out;
  out.reserve(bytes.size() + 8);
  size_t i = 0;
  while (i < bytes.size()) {
    auto [have, need] = utf8_sequence_at(bytes, i);
    if (have == need) {
      out.append(bytes.substr(i, have));
      i += have;
    } else {
      out += k_replacement_char;
      i += std::max<size_t>(have, 1);
    }
  }
  return out;
}

std::string decode_tokens(const tokenizer_impl& t, std::vector<std::string> tokens, bool raw, bool at_start) {
  if (!t.has_decoder) {
    std::string joined;
    for (size_t k = 0; k < tokens.size(); ++k) joined += (k ? " " : "") + tokens[k];
    return joined;
  }
  for (const auto& st : t.decoders) {
    switch (st.kind) {
      case decoder_byte_level: {
        std::string bytes;
        for (const auto& tok : tokens) {
          std::string mapped;
          bool all = true;
          for (size_t i = 0; i < tok.size() && all;) {
            int b = byte_level_byte(utf8_next(tok, i));
            if (b < 0)
              all = false;
            else
              mapped.push_back(char(b));
          }
          bytes += all ? mapped : tok;
        }
        tokens.assign(1, raw ? bytes : utf8_lossy(bytes));
        break;
      }
      case decoder_replace:
        for (auto& tok : tokens) tok = text_replace_all(std::move(tok), st.pattern, st.content);
        break;
      case decoder_byte_fallback:
        byte_fallback(tokens, raw);
        break;
      case decoder_fuse: {
        std::string joined;
        for (const auto& tok : tokens) joined += tok;
        tokens.assign(1, joined);
        break;
      }
      case decoder_strip:
        for (auto& tok : tokens) tok = strip_token(tok, st.content, at_start ? st.start : 0, st.stop);
        break;
      case decoder_metaspace:
        for (size_t k = 0; k < tokens.size(); ++k) {
          // HF drops every replacement char of the first token when a prefix space was added.
          bool drop = k == 0 && at_start && st.scheme != prepend_scheme_never;
          tokens[k] = text_replace_all(std::move(tokens[k]), st.pattern, drop ? "" : " ");
        }
        break;
    }
  }
  std::string out;
  for (const auto& tok : tokens) out += tok;
  return out;
}

std::string tokenizer_decode(const tokenizer& tok, std::span<const int32_t> ids, bool skip_special) {
  return utf8_lossy(ids_text(tok.impl(), ids, skip_special, false));
}

tokenizer_decode_stream::tokenizer_decode_stream(const tokenizer& tok, bool skip_special)
    : tok_(&tok), skip_special_(skip_special) {}

std::string tokenizer_decode_stream::push(int32_t id) {
  ids_.push_back(id);
  std::span<const int32_t> all(ids_);
  // The window starts mid-text once the sequence's first id has left it.
  bool at_start = !mid_text_ && prefix_ == 0;
  std::string before =
      ids_text(tok_->impl(), all.subspan(prefix_, read_ - prefix_), skip_special_, true, at_start);
  std::string now = ids_text(tok_->impl(), all.subspan(prefix_), skip_special_, true, at_start);
  if (now.size() <= before.size() || utf8_ends_incomplete(now)) return "";
  size_t common = 0;
  while (common < before.size() && now[common] == before[common]) ++common;
  std::string out = utf8_lossy(std::string_view(now).substr(common));
  prefix_ = read_;
  read_ = ids_.size();
  if (prefix_ > 0) {  // ids before the window are no longer needed
    ids_.erase(ids_.begin(), ids_.begin() + std::ptrdiff_t(prefix_));
    read_ -= prefix_;
    prefix_ = 0;
    mid_text_ = true;
  }
  return out;
}

std::string tokenizer_decode_stream::finish() {
  std::string out;
  if (read_ < ids_.size()) {
    std::span<const int32_t> all(ids_);
    bool at_start = !mid_text_ && prefix_ == 0;
    std::string before =
        ids_text(tok_->impl(), all.subspan(prefix_, read_ - prefix_), skip_special_, true, at_start);
    std::string now = ids_text(tok_->impl(), all.subspan(prefix_), skip_special_, true, at_start);
    size_t common = 0;
    while (common < before.size() && common < now.size() && now[common] == before[common]) ++common;
    out = utf8_lossy(std::string_view(now).substr(common));
  }
  ids_.clear();
  prefix_ = read_ = 0;
  mid_text_ = false;
  return out;
}

}  // namespace smelt
