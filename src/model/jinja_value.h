// Values of the chat-template Jinja interpreter: undefined, none, bool, int, float, string, list,
// dict, namespace and callables, with Python/Jinja2 semantics for truth, equality and printing.
// Strings carry source runs (which bytes came from which message's content) so the renderer can
// report message spans; parsing and evaluation live in jinja_parser.h / jinja_eval.h.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace smelt::jinja {

// Internal error of the interpreter. It never leaves the library: jinja_parse and jinja_render
// catch it and return smelt::result errors naming the template line.
struct template_error : std::runtime_error {
  int line;
  template_error(int line_, const std::string& message) : std::runtime_error(message), line(line_) {}
};

// Bytes [begin, end) of a string came from content of message `origin` starting at origin_offset.
struct source_run {
  size_t begin = 0, end = 0;
  int origin = -1;
  size_t origin_offset = 0;
};

enum class value_kind { undefined, none, boolean, integer, floating, string, list, dict, function };

struct value;
struct value_dict;
struct call_args;
using value_list = std::vector<value>;
using native_function = std::function<value(call_args&, int line)>;

struct value {
  value_kind kind = value_kind::undefined;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s;
  std::vector<source_run> runs;  // only for strings; sorted, non-overlapping
  // Lists and dicts are shared like Python objects: `set a = b` aliases, namespace attributes
  // written in a loop are seen outside it, and message identity survives slicing.
  std::shared_ptr<value_list> list;
  std::shared_ptr<value_dict> dict;
  std::shared_ptr<native_function> fn;
  std::string undefined_name;  // for "'x' is undefined" messages

  static value make_undefined(std::string name = {});
  static value make_none();
  static value make_bool(bool v);
  static value make_int(int64_t v);
  static value make_float(double v);
  static value make_string(std::string v);
  static value make_list(value_list items = {});
  static value make_dict();
  static value make_function(native_function f);

  bool is_undefined() const { return kind == value_kind::undefined; }
  bool is_none() const { return kind == value_kind::none; }
  bool is_string() const { return kind == value_kind::string; }
  bool is_list() const { return kind == value_kind::list; }
  bool is_dict() const { return kind == value_kind::dict; }
  bool is_number() const { return kind == value_kind::integer || kind == value_kind::floating; }
};

// Insertion-ordered mapping (Python dicts keep order; tojson and items() rely on it).
struct value_dict {
  std::vector<std::pair<std::string, value>> items;
  bool is_namespace = false;
  const value* find(std::string_view key) const;
  void set(const std::string& key, value v);
};

struct call_args {
  std::vector<value> positional;
  std::vector<std::pair<std::string, value>> keyword;
  // The positional argument at index, else the keyword `name`, else fallback.
  value get(size_t index, std::string_view name, value fallback = value::make_undefined()) const;
};

bool value_truthy(const value& v);
bool value_equal(const value& a, const value& b);
// Text as `{{ v }}` prints it (Python str()): None, True, 1.5, ['a', 1] ...
std::string value_to_text(const value& v);
// Python repr() used inside list/dict printing.
std::string value_repr(const value& v);
// JSON as transformers' tojson writes it (json.dumps, ensure_ascii=False); indent < 0 means none.
std::string value_to_json(const value& v, int indent, int depth = 0);
const char* value_kind_name(value_kind k);

// Source-run helpers: a substring keeps the provenance of the bytes it keeps.
value string_substr(const value& s, size_t begin, size_t end);
value string_concat(const value& a, const value& b);

}  // namespace smelt::jinja
