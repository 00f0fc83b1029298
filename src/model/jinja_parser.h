// Parser of the chat-template Jinja subset into an AST: statements (text, output, if/elif/else,
// for with loop.* and else, set incl. namespace attributes and set blocks, macro, break/continue,
// generation blocks) and Jinja2's expression grammar. Evaluation lives in jinja_eval.h.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "model/jinja_value.h"

namespace smelt::jinja {

enum class expr_kind {
  expr_literal,      // literal
  expr_name,         // name
  expr_list,         // [args...]
  expr_tuple,        // (args...) — evaluated as a list
  expr_dict,         // {args[0]: args[1], ...}
  expr_attribute,    // args[0].name
  expr_subscript,    // args[0][args[1]]
  expr_slice,        // args[0][args[1]:args[2]:args[3]] (null parts allowed)
  expr_call,         // args[0](args[1..], kwargs)
  expr_filter,       // args[0] | name(args[1..], kwargs)
  expr_test,         // args[0] is [not] name(args[1..])
  expr_unary,        // op args[0]: not, -, +
  expr_binary,       // args[0] op args[1]
  expr_conditional,  // args[0] if args[1] else args[2] (args[2] may be null)
};

struct expr;
using expr_ptr = std::unique_ptr<expr>;

struct expr {
  expr_kind kind;
  int line = 0;
  std::string name;  // name, attribute, filter, test, operator
  bool negated = false;
  value literal;
  std::vector<expr_ptr> args;
  std::vector<std::pair<std::string, expr_ptr>> kwargs;
};

enum class stmt_kind {
  stmt_text,
  stmt_output,
  stmt_if,
  stmt_for,
  stmt_set,
  stmt_set_block,
  stmt_macro,
  stmt_break,
  stmt_continue,
  stmt_generation,  // transformers' {% generation %} block: renders its body
};

struct stmt;
using stmt_ptr = std::unique_ptr<stmt>;
using stmt_list = std::vector<stmt_ptr>;

struct stmt {
  stmt_kind kind;
  int line = 0;
  std::string text;                  // stmt_text
  expr_ptr expression;               // output, set value, for iterable
  std::vector<expr_ptr> conditions;  // if/elif conditions; for: optional filter in [0]
  std::vector<stmt_list> bodies;     // if: one per condition (+ else); for: body (+ else)
  std::vector<std::string> targets;  // for/set names; set ns.attr: {"ns", "attr"} with is_attribute
  bool is_attribute = false;
  bool has_else = false;
  std::string name;                                      // macro name
  std::vector<std::pair<std::string, expr_ptr>> params;  // macro parameters with defaults (may be null)
};

struct program {
  stmt_list body;
};

// Parses a template; errors read "line N: ..." and name the unsupported construct.
result<program> jinja_parse(std::string_view source);

}  // namespace smelt::jinja
