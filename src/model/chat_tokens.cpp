// Byte spans of a chat rendering carried over to tokens through tokenizer offsets, and the
// assistant loss mask (rules in chat_tokens.h). Rendering is chat_template.cpp's, tokenizing
// tokenizer.cpp's; this file only joins the two.
#include "model/chat_tokens.h"

#include <algorithm>
#include <cstdint>

namespace smelt {

namespace {

bool overlaps(std::pair<size_t, size_t> token, const chat_span& s) {
  return token.first < token.second && token.first < s.end && token.second > s.begin;
}

}  // namespace

chat_tokens chat_tokens_from_render(const chat_render& render, const tokenizer& tok,
                                    const std::vector<chat_message>& messages) {
  chat_tokens out;
  out.text = render.text;
  tokenizer_encoding e = tokenizer_encode_offsets(tok, render.text, false);
  out.ids = std::move(e.ids);
  out.offsets = std::move(e.offsets);
  const size_t n = out.ids.size();
  const size_t m = std::min(messages.size(), render.turn.size());
  out.token_message.assign(n, -1);
  out.token_trained.assign(n, 0);
  out.message_tokens.assign(m, {n, n});

  // Message of each token: the smallest turn holding its first byte.
  for (size_t k = 0; k < n; ++k) {
    size_t at = out.offsets[k].first;
    size_t best_size = SIZE_MAX;
    for (size_t i = 0; i < m; ++i) {
      const chat_span& t = render.turn[i];
      if (t.begin <= at && at < t.end && t.size() < best_size) {
        best_size = t.size();
        out.token_message[k] = int32_t(i);
      }
    }
  }
  for (size_t i = 0; i < m; ++i) {
    const chat_span& t = render.turn[i];
    size_t first = n, last = n, after = n;
    for (size_t k = 0; k < n; ++k) {
      size_t at = out.offsets[k].first;
      if (after == n && at >= t.begin) after = k;
      if (t.begin <= at && at < t.end) {
        if (first == n) first = k;
        last = k;
      }
    }
    out.message_tokens[i] = first == n ? std::pair{after, after} : std::pair{first, last + 1};
  }

  for (size_t i = 0; i < m; ++i) {
    if (messages[i].role != "assistant") continue;
    const chat_span& c = render.content[i];
    const chat_span& t = render.turn[i];
    auto in_turn = [&](size_t k) { return t.begin <= out.offsets[k].first && out.offsets[k].first < t.end; };
    size_t last_content = n;
    if (c.size() > 0)
      for (size_t k = 0; k < n; ++k)
        if (overlaps(out.offsets[k], c)) {
          out.token_trained[k] = 1;
          last_content = k;
        }
    if (last_content < n) {
      for (size_t k = last_content + 1; k < n && out.offsets[k].first < t.end; ++k)
        if (tokenizer_is_special(tok, out.ids[k])) {
          if (in_turn(k)) out.token_trained[k] = 1;
          break;
        }
    } else {
      // Empty content: where it would have been is unknown; the turn's last special token closes it.
      auto [first, end] = out.message_tokens[i];
      for (size_t k = end; k-- > first;)
        if (in_turn(k) && tokenizer_is_special(tok, out.ids[k])) {
          out.token_trained[k] = 1;
          break;
        }
    }
  }

  size_t prompt_first = n;
  if (render.generation_prompt.size() > 0)
    for (size_t k = 0; k < n; ++k)
      if (out.offsets[k].first >= render.generation_prompt.begin) {
        prompt_first = k;
        break;
      }
  out.generation_prompt_tokens = {prompt_first, n};
  for (size_t k = prompt_first; k < n; ++k) out.token_trained[k] = 0;
  return out;
}

result<chat_tokens> chat_tokenize(const chat_template& tmpl, const tokenizer& tok,
                                  const std::vector<chat_message>& messages, bool add_generation_prompt,
                                  const chat_render_options& options) {
  auto render = chat_template_render(tmpl, messages, add_generation_prompt, options);
  if (!render) return render.err();
  return chat_tokens_from_render(*render, tok, messages);
}

}  // namespace smelt
