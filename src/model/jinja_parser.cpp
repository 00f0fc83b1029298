// Recursive-descent parser for the chat-template Jinja subset, following Jinja2's precedence:
// conditional < or < and < not < comparisons/in < + - < ~ < * / // % < ** < unary < filters/tests.
// Constructs outside the subset (include, extends, block, call, filter blocks, with, do, raw) are
// rejected with their name and line, never silently skipped.
#include "model/jinja_parser.h"

#include <set>

#include "model/jinja_lexer.h"

namespace smelt::jinja {

namespace {

class parser {
 public:
  explicit parser(std::vector<token> tokens) : tokens_(std::move(tokens)) {}

  program run() {
    program p;
    std::string ended_by;
    p.body = parse_body({}, &ended_by);
    return p;
  }

 private:
  std::vector<token> tokens_;
  size_t at_ = 0;
  int depth_ = 0;  // nesting of expressions and blocks; a hostile template must not overflow the stack

  struct depth_guard {
    parser& p;
    explicit depth_guard(parser& owner) : p(owner) {
      if (++p.depth_ > 200) p.fail("template nested too deeply (over 200 levels)");
    }
    ~depth_guard() { --p.depth_; }
  };

  const token& peek(size_t ahead = 0) const {
    size_t i = std::min(at_ + ahead, tokens_.size() - 1);
    return tokens_[i];
  }
  const token& next() {
    const token& t = tokens_[at_];
    if (at_ + 1 < tokens_.size()) ++at_;
    return t;
  }
  bool is_op(const char* op, size_t ahead = 0) const {
    return peek(ahead).kind == token_kind::token_operator && peek(ahead).text == op;
  }
  bool is_name(const char* name, size_t ahead = 0) const {
    return peek(ahead).kind == token_kind::token_name && peek(ahead).text == name;
  }
  [[noreturn]] void fail(const std::string& message) const { throw template_error(peek().line, message); }
  static std::string describe(const token& t) {
    switch (t.kind) {
      case token_kind::token_text:
        return "text";
      case token_kind::token_var_begin:
        return "'{{'";
      case token_kind::token_var_end:
        return "'}}'";
      case token_kind::token_block_begin:
        return "'{%'";
      case token_kind::token_block_end:
        return "'%}'";
      case token_kind::token_eof:
        return "end of template";
      case token_kind::token_string:
        return "string '" + t.text + "'";
      default:
        return "'" + t.text + "'";
    }
  }
  void expect_op(const char* op) {
    if (!is_op(op)) fail(std::string("expected '") + op + "', got " + describe(peek()));
    next();
  }
  void expect_block_end() {
    if (peek().kind != token_kind::token_block_end) fail("expected '%}', got " + describe(peek()));
    next();
  }
  std::string expect_name() {
    if (peek().kind != token_kind::token_name) fail("expected a name, got " + describe(peek()));
    return next().text;
  }

  // Statements until one of `enders` opens a block tag; the ender's name is consumed and stored.
  stmt_list parse_body(const std::set<std::string>& enders, std::string* ended_by) {
    stmt_list body;
    for (;;) {
      const token& t = peek();
      if (t.kind == token_kind::token_eof) {
        if (!enders.empty()) fail("missing {% " + *enders.rbegin() + " %} (end of template reached)");
        return body;
      }
      if (t.kind == token_kind::token_text) {
        auto s = std::make_unique<stmt>();
        s->kind = stmt_kind::stmt_text;
        s->line = t.line;
        s->text = next().text;
        body.push_back(std::move(s));
      } else if (t.kind == token_kind::token_var_begin) {
        next();
        auto s = std::make_unique<stmt>();
        s->kind = stmt_kind::stmt_output;
        s->line = t.line;
        s->expression = parse_tuple_or_expression();
        if (peek().kind != token_kind::token_var_end) fail("expected '}}', got " + describe(peek()));
        next();
        body.push_back(std::move(s));
      } else if (t.kind == token_kind::token_block_begin) {
        next();
        if (peek().kind != token_kind::token_name) fail("expected a statement name after '{%'");
        std::string keyword = peek().text;
        if (enders.count(keyword)) {
          next();
          *ended_by = keyword;
          return body;
        }
        body.push_back(parse_statement());
      } else {
        fail("unexpected " + describe(t));
      }
    }
  }

  stmt_ptr parse_statement() {
    depth_guard guard(*this);
    int line = peek().line;
    std::string keyword = next().text;
    auto s = std::make_unique<stmt>();
    s->line = line;
    if (keyword == "if") {
      s->kind = stmt_kind::stmt_if;
      s->conditions.push_back(parse_expression());
      expect_block_end();
      for (;;) {
        std::string ended_by;
        s->bodies.push_back(parse_body({"elif", "else", "endif"}, &ended_by));
        if (ended_by == "elif") {
          s->conditions.push_back(parse_expression());
          expect_block_end();
        } else if (ended_by == "else") {
          expect_block_end();
          s->has_else = true;
          s->bodies.push_back(parse_body({"endif"}, &ended_by));
          expect_block_end();
          break;
        } else {
          expect_block_end();
          break;
        }
      }
    } else if (keyword == "for") {
      s->kind = stmt_kind::stmt_for;
      bool paren = is_op("(");
      if (paren) next();
      s->targets.push_back(expect_name());
      while (is_op(",")) {
        next();
        s->targets.push_back(expect_name());
      }
      if (paren) expect_op(")");
      if (!is_name("in")) fail("expected 'in' in for loop, got " + describe(peek()));
      next();
      s->expression = parse_or();
      if (is_name("if")) {
        next();
        s->conditions.push_back(parse_expression());
      }
      if (is_name("recursive")) fail("unsupported construct 'recursive' for loop");
      expect_block_end();
      std::string ended_by;
      s->bodies.push_back(parse_body({"else", "endfor"}, &ended_by));
      if (ended_by == "else") {
        expect_block_end();
        s->has_else = true;
        s->bodies.push_back(parse_body({"endfor"}, &ended_by));
      }
      expect_block_end();
    } else if (keyword == "set") {
      s->targets.push_back(expect_name());
      if (is_op(".")) {
        next();
        s->targets.push_back(expect_name());
        s->is_attribute = true;
      }
      while (!s->is_attribute && is_op(",")) {
        next();
        s->targets.push_back(expect_name());
      }
      if (is_op("=")) {
        next();
        s->kind = stmt_kind::stmt_set;
        s->expression = parse_tuple_or_expression();
        expect_block_end();
      } else {
        if (s->is_attribute || s->targets.size() != 1) fail("expected '=' in set");
        if (is_op("|")) fail("unsupported construct 'set' block with a filter");
        expect_block_end();
        s->kind = stmt_kind::stmt_set_block;
        std::string ended_by;
        s->bodies.push_back(parse_body({"endset"}, &ended_by));
        expect_block_end();
      }
    } else if (keyword == "macro") {
      s->kind = stmt_kind::stmt_macro;
      s->name = expect_name();
      expect_op("(");
      while (!is_op(")")) {
        std::string param = expect_name();
        expr_ptr fallback;
        if (is_op("=")) {
          next();
          fallback = parse_expression();
        }
        s->params.emplace_back(param, std::move(fallback));
        if (!is_op(",")) break;
        next();
      }
      expect_op(")");
      expect_block_end();
      std::string ended_by;
      s->bodies.push_back(parse_body({"endmacro"}, &ended_by));
      expect_block_end();
    } else if (keyword == "break" || keyword == "continue") {
      s->kind = keyword == "break" ? stmt_kind::stmt_break : stmt_kind::stmt_continue;
      expect_block_end();
    } else if (keyword == "generation") {
      s->kind = stmt_kind::stmt_generation;
      expect_block_end();
      std::string ended_by;
      s->bodies.push_back(parse_body({"endgeneration"}, &ended_by));
      expect_block_end();
    } else {
      throw template_error(line, "unsupported construct '{% " + keyword + " %}'");
    }
    return s;
  }

  expr_ptr make(expr_kind kind, int line) {
    auto e = std::make_unique<expr>();
    e->kind = kind;
    e->line = line;
    return e;
  }

  // `a, b` outside brackets (e.g. {{ a, b }} or set x = 1, 2) is a tuple.
  expr_ptr parse_tuple_or_expression() {
    int line = peek().line;
    expr_ptr first = parse_expression();
    if (!is_op(",")) return first;
    auto tuple = make(expr_kind::expr_tuple, line);
    tuple->args.push_back(std::move(first));
    while (is_op(",")) {
      next();
      tuple->args.push_back(parse_expression());
    }
    return tuple;
  }

  expr_ptr parse_expression() {
    depth_guard guard(*this);
    expr_ptr e = parse_or();
    while (is_name("if")) {
      int line = next().line;
      auto cond = make(expr_kind::expr_conditional, line);
      cond->args.push_back(std::move(e));
      cond->args.push_back(parse_or());
      if (is_name("else")) {
        next();
        cond->args.push_back(parse_expression());
      } else {
        cond->args.push_back(nullptr);
      }
      e = std::move(cond);
    }
    return e;
  }

  expr_ptr binary(const std::string& op, expr_ptr left, expr_ptr right, int line) {
    auto e = make(expr_kind::expr_binary, line);
    e->name = op;
    e->args.push_back(std::move(left));
    e->args.push_back(std::move(right));
    return e;
  }

  expr_ptr parse_or() {
    expr_ptr e = parse_and();
    while (is_name("or")) {
      int line = next().line;
      e = binary("or", std::move(e), parse_and(), line);
    }
    return e;
  }
  expr_ptr parse_and() {
    expr_ptr e = parse_not();
    while (is_name("and")) {
      int line = next().line;
      e = binary("and", std::move(e), parse_not(), line);
    }
    return e;
  }
  expr_ptr parse_not() {
    if (is_name("not")) {
      auto e = make(expr_kind::expr_unary, next().line);
      e->name = "not";
      e->args.push_back(parse_not());
      return e;
    }
    return parse_compare();
  }
  expr_ptr parse_compare() {
    expr_ptr e = parse_math1();
    for (;;) {
      int line = peek().line;
      if (peek().kind == token_kind::token_operator &&
          (peek().text == "==" || peek().text == "!=" || peek().text == "<" || peek().text == "<=" ||
           peek().text == ">" || peek().text == ">=")) {
        std::string op = next().text;
        e = binary(op, std::move(e), parse_math1(), line);
      } else if (is_name("in")) {
        next();
        e = binary("in", std::move(e), parse_math1(), line);
      } else if (is_name("not") && is_name("in", 1)) {
        next();
        next();
        e = binary("not in", std::move(e), parse_math1(), line);
      } else {
        return e;
      }
    }
  }
  expr_ptr parse_math1() {
    expr_ptr e = parse_concat();
    while (is_op("+") || is_op("-")) {
      int line = peek().line;
      std::string op = next().text;
      e = binary(op, std::move(e), parse_concat(), line);
    }
    return e;
  }
  expr_ptr parse_concat() {
    expr_ptr e = parse_math2();
    while (is_op("~")) {
      int line = next().line;
      e = binary("~", std::move(e), parse_math2(), line);
    }
    return e;
  }
  expr_ptr parse_math2() {
    expr_ptr e = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      int line = peek().line;
      std::string op = next().text;
      e = binary(op, std::move(e), parse_pow(), line);
    }
    return e;
  }
  expr_ptr parse_pow() {
    expr_ptr e = parse_unary(true);
    while (is_op("**")) {
      int line = next().line;
      e = binary("**", std::move(e), parse_unary(true), line);
    }
    return e;
  }
  expr_ptr parse_unary(bool with_filter) {
    depth_guard guard(*this);
    expr_ptr e;
    if (is_op("-") || is_op("+")) {
      e = make(expr_kind::expr_unary, peek().line);
      e->name = next().text;
      e->args.push_back(parse_unary(false));
    } else {
      e = parse_postfix(parse_primary());
    }
    if (with_filter) e = parse_filter_expr(std::move(e));
    return e;
  }

  expr_ptr parse_primary() {
    const token& t = peek();
    int line = t.line;
    auto e = make(expr_kind::expr_literal, line);
    switch (t.kind) {
      case token_kind::token_name: {
        std::string n = next().text;
        if (n == "true" || n == "True") {
          e->literal = value::make_bool(true);
        } else if (n == "false" || n == "False") {
          e->literal = value::make_bool(false);
        } else if (n == "none" || n == "None") {
          e->literal = value::make_none();
        } else {
          e->kind = expr_kind::expr_name;
          e->name = n;
        }
        return e;
      }
      case token_kind::token_string: {
        std::string s = next().text;
        while (peek().kind == token_kind::token_string) s += next().text;
        e->literal = value::make_string(std::move(s));
        return e;
      }
      case token_kind::token_integer:
        try {
          e->literal = value::make_int(std::stoll(next().text));
        } catch (const std::exception&) {
          fail("integer literal out of range");
        }
        return e;
      case token_kind::token_float:
        e->literal = value::make_float(std::stod(next().text));
        return e;
      default:
        break;
    }
    if (is_op("(")) {
      next();
      if (is_op(")")) {
        next();
        e->kind = expr_kind::expr_tuple;
        return e;
      }
      expr_ptr inner = parse_expression();
      if (is_op(")")) {
        next();
        return inner;
      }
      e->kind = expr_kind::expr_tuple;
      e->args.push_back(std::move(inner));
      while (is_op(",")) {
        next();
        if (is_op(")")) break;
        e->args.push_back(parse_expression());
      }
      expect_op(")");
      return e;
    }
    if (is_op("[")) {
      next();
      e->kind = expr_kind::expr_list;
      while (!is_op("]")) {
        e->args.push_back(parse_expression());
        if (!is_op(",")) break;
        next();
      }
      expect_op("]");
      return e;
    }
    if (is_op("{")) {
      next();
      e->kind = expr_kind::expr_dict;
      while (!is_op("}")) {
        e->args.push_back(parse_expression());
        expect_op(":");
        e->args.push_back(parse_expression());
        if (!is_op(",")) break;
        next();
      }
      expect_op("}");
      return e;
    }
    fail("unexpected " + describe(t) + " in an expression");
  }

  expr_ptr parse_postfix(expr_ptr e) {
    for (;;) {
      int line = peek().line;
      if (is_op(".")) {
        next();
        auto a = make(expr_kind::expr_attribute, line);
        if (peek().kind == token_kind::token_integer) {
          a->kind = expr_kind::expr_subscript;
          auto index = make(expr_kind::expr_literal, line);
          index->literal = value::make_int(std::stoll(next().text));
          a->args.push_back(std::move(e));
          a->args.push_back(std::move(index));
        } else {
          a->name = expect_name();
          a->args.push_back(std::move(e));
        }
        e = std::move(a);
      } else if (is_op("[")) {
        next();
        e = parse_subscript(std::move(e), line);
      } else if (is_op("(")) {
        e = parse_call(std::move(e), expr_kind::expr_call, line);
      } else {
        return e;
      }
    }
  }

  expr_ptr parse_subscript(expr_ptr target, int line) {
    expr_ptr parts[3];
    bool is_slice = false;
    for (int i = 0; i < 3; ++i) {
      if (!is_op(":") && !is_op("]")) parts[i] = parse_expression();
      if (i < 2 && is_op(":")) {
        next();
        is_slice = true;
      } else {
        break;
      }
    }
    expect_op("]");
    auto e = make(is_slice ? expr_kind::expr_slice : expr_kind::expr_subscript, line);
    e->args.push_back(std::move(target));
    if (!is_slice) {
      if (!parts[0]) throw template_error(line, "empty subscript []");
      e->args.push_back(std::move(parts[0]));
    } else {
      for (auto& p : parts) e->args.push_back(std::move(p));
    }
    return e;
  }

  // Parses `(args, name=value)` after callee; kind is call, filter or test (callee in args[0]).
  expr_ptr parse_call(expr_ptr callee, expr_kind kind, int line, std::string name = {}) {
    auto e = make(kind, line);
    e->name = std::move(name);
    e->args.push_back(std::move(callee));
    expect_op("(");
    while (!is_op(")")) {
      if (is_op("*") || is_op("**")) fail("unsupported construct '*args' in a call");
      if (peek().kind == token_kind::token_name && is_op("=", 1)) {
        std::string key = next().text;
        next();
        e->kwargs.emplace_back(key, parse_expression());
      } else {
        e->args.push_back(parse_expression());
      }
      if (!is_op(",")) break;
      next();
    }
    expect_op(")");
    return e;
  }

  expr_ptr parse_filter_expr(expr_ptr e) {
    for (;;) {
      int line = peek().line;
      if (is_op("|")) {
        next();
        std::string name = expect_name();
        while (is_op(".")) {
          next();
          name += "." + expect_name();
        }
        if (is_op("(")) {
          e = parse_call(std::move(e), expr_kind::expr_filter, line, name);
        } else {
          auto f = make(expr_kind::expr_filter, line);
          f->name = name;
          f->args.push_back(std::move(e));
          e = std::move(f);
        }
      } else if (is_name("is")) {
        next();
        bool negated = false;
        if (is_name("not")) {
          next();
          negated = true;
        }
        std::string name = expect_name();
        expr_ptr t;
        if (is_op("(")) {
          t = parse_call(std::move(e), expr_kind::expr_test, line, name);
        } else {
          t = make(expr_kind::expr_test, line);
          t->name = name;
          t->args.push_back(std::move(e));
          const token& a = peek();
          bool takes_arg = a.kind == token_kind::token_string || a.kind == token_kind::token_integer ||
                           a.kind == token_kind::token_float || is_op("[") || is_op("{") ||
                           (a.kind == token_kind::token_name && a.text != "and" && a.text != "or" &&
                            a.text != "else" && a.text != "if" && a.text != "in" && a.text != "is" &&
                            a.text != "not" && a.text != "recursive");
          if (takes_arg) t->args.push_back(parse_postfix(parse_primary()));
        }
        t->negated = negated;
        e = std::move(t);
      } else if (is_op("(")) {
        e = parse_call(std::move(e), expr_kind::expr_call, line);
      } else {
        return e;
      }
    }
  }
};

}  // namespace

result<program> jinja_parse(std::string_view source) {
  try {
    return parser(jinja_tokenize(source)).run();
  } catch (const template_error& e) {
    return make_error("line " + std::to_string(e.line) + ": " + e.what());
  }
}

}  // namespace smelt::jinja
