// Chat templates as models ship them: the Jinja `chat_template` of tokenizer_config.json (or a
// chat_template.jinja / chat_template.json beside it), rendered with the variables transformers
// passes, plus the byte span of every message in the output (training builds loss masks from
// them; serving uses the same renderer). Token spans are left to the tokenizer, which maps bytes
// to tokens; the Jinja interpreter itself lives in jinja_*.h.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/chat_message.h"
#include "core/result.h"

namespace smelt {

namespace jinja {
struct program;
}

struct chat_template {
  std::string name;    // "default", or the name picked from a list of named templates
  std::string source;  // the template text
  std::vector<std::pair<std::string, std::string>> named;  // every (name, source) the file offers
  std::string bos_token, eos_token;                        // "" when the config has none
  std::string origin;                                      // file named in error messages
  // Parsed `source`; immutable, so copies of a chat_template share it.
  std::shared_ptr<const jinja::program> program;
};

// Reads tokenizer_config.json. `name` picks one of several named templates (empty: "default",
// or the only one). Errors name the file and, for template syntax, the line.
result<chat_template> chat_template_load(const std::filesystem::path& tokenizer_config,
                                         const std::string& name = {});
// The same, but a model that ships no template at all (a base model) gives an empty optional
// instead of an error.
result<std::optional<chat_template>> chat_template_find(const std::filesystem::path& tokenizer_config,
                                                        const std::string& name = {});
// A template from text (tests, --chat-template overrides); origin is used in error messages.
result<chat_template> chat_template_parse(std::string source, std::string bos_token, std::string eos_token,
                                          std::string origin = "chat template");

struct chat_span {
  size_t begin = 0, end = 0;  // bytes [begin, end) of chat_render::text
  size_t size() const { return end - begin; }
};

struct chat_render {
  std::string text;
  // Per message, in input order. content: the bytes of text copied from message.content (after
  // the template's own trimming or splitting; empty span at the turn start if not printed).
  // turn: everything the template wrote for that message, markers and end-of-turn token included.
  std::vector<chat_span> content;
  std::vector<chat_span> turn;
  chat_span generation_prompt;  // empty at text.size() without add_generation_prompt
};

struct chat_render_options {
  std::optional<bool> enable_thinking;  // passed as `enable_thinking` only when set (Qwen3)
  std::string date;                     // YYYY-MM-DD seen by strftime_now(); empty: today, local time
  nlohmann::ordered_json extra_vars = nlohmann::ordered_json::object();  // more template variables
};

// Renders messages as transformers' apply_chat_template(tokenize=False) would.
//
// Span method: message contents enter the template as strings tagged with their message index;
// the tags survive concatenation, slicing, trim/strip/split, so the content span is the hull of
// output bytes carrying message i's tag. A turn is the hull of the output written while the
// template's loop visits message i's dict (identity, so `messages[1:]` keeps it); a message the
// loop never prints (a system message rendered before the loop) owns the gap between its
// neighbours' turns, or only its content when that sits inside another message's turn (Llama 2
// and Mistral fold the system prompt into the first user turn). The generation prompt is the suffix added by
// add_generation_prompt (the text rendered without it is a prefix), else what follows the last turn.
result<chat_render> chat_template_render(const chat_template& tmpl, const std::vector<chat_message>& messages,
                                         bool add_generation_prompt, const chat_render_options& options = {});

// The text a reply to MESSAGES continues, opened the way training renders an assistant turn: the
// conversation plus an assistant message, cut where that message's content begins. Training puts
// loss on assistant content only, so a fine-tuned model has learned to answer after exactly this
// prefix. It equals the add_generation_prompt rendering for templates that open an assistant turn
// the same way in both (Llama 3.x, Qwen2.5); Qwen3 writes an empty think block before the content,
// so there it equals the enable_thinking=false prompt. Falls back to the add_generation_prompt
// rendering when the template prints no assistant content.
result<std::string> chat_template_reply_prompt(const chat_template& tmpl,
                                               const std::vector<chat_message>& messages,
                                               const chat_render_options& options = {});

}  // namespace smelt
