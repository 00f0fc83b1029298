// Lexer of the chat-template Jinja subset: splits a template into text and tag tokens, applying
// whitespace control as transformers configures Jinja2 (trim_blocks, lstrip_blocks, `-` markers,
// one trailing newline dropped). Grammar lives in jinja_parser.h.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace smelt::jinja {

enum class token_kind {
  token_text,         // literal output between tags
  token_var_begin,    // {{
  token_var_end,      // }}
  token_block_begin,  // {%
  token_block_end,    // %}
  token_name,
  token_string,  // text holds the unescaped value
  token_integer,
  token_float,
  token_operator,  // text holds the operator or punctuation
  token_eof,
};

struct token {
  token_kind kind;
  std::string text;
  int line;
};

// Throws template_error (caught by jinja_parse) on an unterminated tag, string or comment.
std::vector<token> jinja_tokenize(std::string_view source);

}  // namespace smelt::jinja
