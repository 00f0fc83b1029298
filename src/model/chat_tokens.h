// A conversation as the model sees it: the chat template's rendering (chat_template.h) tokenized
// once, with each token's message and whether training puts loss on it. Training builds its
// masks from this and serving feeds the same ids; label shifting, packing and truncation are
// the training code's business.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/chat_message.h"
#include "core/result.h"
#include "model/chat_template.h"
#include "model/tokenizer.h"

namespace smelt {

struct chat_tokens {
  std::string text;  // the rendered conversation
  std::vector<int32_t> ids;
  std::vector<std::pair<size_t, size_t>> offsets;  // per token: bytes of text (tokenizer_encode_offsets)
  std::vector<int32_t> token_message;  // per token: index of the message whose turn contains it, -1 outside
  std::vector<uint8_t> token_trained;  // per token: 1 for assistant content and that turn's end-of-turn token
  std::vector<std::pair<size_t, size_t>> message_tokens;  // per message: token range [begin, end) of its turn
  std::pair<size_t, size_t> generation_prompt_tokens;     // empty at ids.size() without a prompt
};

// Renders `messages` with add_generation_prompt and tokenizes the text once without adding
// special tokens, as transformers' apply_chat_template(tokenize=True) does (templates print their
// own BOS: Llama 3.1's <|begin_of_text|>, Llama 2's <s>). Rules, by token byte ranges (offsets):
// - token_message: the innermost turn (chat_render::turn) holding the token's first byte, so a
//   system prompt that Llama 2 folds into the first user turn stays the system message's;
// - message_tokens[i]: first to last token whose first byte lies in turn i (an outer turn's range
//   includes a nested one's tokens); an empty turn is an empty range where it would start;
// - trained: every token that overlaps the bytes of an assistant message's content span, even
//   partly: a token straddling the content's edge ("▁It" of Llama 2's " It", where the space is
//   the template's) is trained, since it produces content; template text of the turn that does
//   not share a token with content (Qwen3's empty "<think>\n\n</think>\n\n") is not;
// - plus that turn's end-of-turn token: the first special token (tokenizer_is_special) after the
//   last content token and inside the turn (Qwen <|im_end|>, Llama 3 <|eot_id|>, Llama 2 and
//   Mistral </s>, Gemma <end_of_turn>); tokens between content and it (Llama 2's "▁" before
//   </s>) are not trained. With empty content the turn's last special token is taken;
// - generation prompt tokens and tokens outside every turn are never trained.
// Errors: the template's own (rendering failed, roles out of order) as chat_template_render.
result<chat_tokens> chat_tokenize(const chat_template& tmpl, const tokenizer& tok,
                                  const std::vector<chat_message>& messages, bool add_generation_prompt,
                                  const chat_render_options& options = {});

// The same from a rendering already made (rules above); `messages` gives the roles.
chat_tokens chat_tokens_from_render(const chat_render& render, const tokenizer& tok,
                                    const std::vector<chat_message>& messages);

}  // namespace smelt
