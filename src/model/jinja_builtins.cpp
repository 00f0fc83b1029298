// Filters, tests, Python string/dict methods and globals (namespace, range, raise_exception) of
// the chat-template interpreter, with Jinja2/Python semantics. Anything not listed here is an
// "unsupported construct" error naming it and its line, never a silent empty result.
#include <utf8proc.h>

#include <algorithm>

#include "core/text.h"
#include "model/jinja_eval.h"

namespace smelt::jinja {

namespace {

// Python str.isspace().
bool is_py_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f ||
         c == 0x3000;
}

[[noreturn]] void fail(int line, const std::string& message) {
  throw template_error(line, message);
}

const std::string& need_string(const value& v, const char* what, int line) {
  if (!v.is_string()) fail(line, std::string(what) + ": expected a string, got " + value_kind_name(v.kind));
  return v.s;
}

// Strips code points from the left and/or right: whitespace when chars is undefined/none.
value strip_string(const value& s, const value& chars, bool left, bool right, int line) {
  std::vector<char32_t> set;
  bool whitespace = chars.is_undefined() || chars.is_none();
  if (!whitespace) {
    const std::string& c = need_string(chars, "strip", line);
    for (size_t i = 0; i < c.size();) set.push_back(utf8_next(c, i));
  }
  auto strippable = [&](char32_t cp) {
    return whitespace ? is_py_space(cp) : std::find(set.begin(), set.end(), cp) != set.end();
  };
  std::vector<size_t> starts;
  for (size_t i = 0; i < s.s.size();) {
    starts.push_back(i);
    utf8_next(s.s, i);
  }
  size_t b = 0, e = starts.size();
  auto cp_at = [&](size_t k) {
    size_t i = starts[k];
    return utf8_next(s.s, i);
  };
  if (left)
    while (b < e && strippable(cp_at(b))) ++b;
  if (right)
    while (e > b && strippable(cp_at(e - 1))) --e;
  size_t byte_b = b < starts.size() ? starts[b] : s.s.size();
  size_t byte_e = e < starts.size() ? starts[e] : s.s.size();
  return string_substr(s, byte_b, std::max(byte_b, byte_e));
}

value split_string(const value& s, const value& sep, const value& maxsplit_v, int line) {
  int64_t maxsplit = maxsplit_v.kind == value_kind::integer ? maxsplit_v.i : -1;
  value_list parts;
  if (sep.is_undefined() || sep.is_none()) {
    size_t i = 0;
    int64_t splits = 0;
    while (i < s.s.size()) {
      size_t start = i, probe = i;
      if (is_py_space(utf8_next(s.s, probe))) {
        i = probe;
        continue;
      }
      if (maxsplit >= 0 && splits >= maxsplit) {
        value rest = strip_string(string_substr(s, start, s.s.size()), value::make_none(), false, true, line);
        parts.push_back(rest);
        break;
      }
      size_t end = start;
      while (end < s.s.size()) {
        size_t next = end;
        if (is_py_space(utf8_next(s.s, next))) break;
        end = next;
      }
      parts.push_back(string_substr(s, start, end));
      ++splits;
      i = end;
    }
    return value::make_list(std::move(parts));
  }
  const std::string& d = need_string(sep, "split", line);
  if (d.empty()) fail(line, "split: empty separator");
  size_t start = 0;
  int64_t splits = 0;
  for (;;) {
    size_t found = (maxsplit >= 0 && splits >= maxsplit) ? std::string::npos : s.s.find(d, start);
    if (found == std::string::npos) {
      parts.push_back(string_substr(s, start, s.s.size()));
      break;
    }
    parts.push_back(string_substr(s, start, found));
    start = found + d.size();
    ++splits;
  }
  return value::make_list(std::move(parts));
}

std::string map_case(const std::string& s, int mode) {  // 0 lower, 1 upper, 2 title, 3 capitalize
  std::string out;
  bool word_start = true, first = true;
  for (size_t i = 0; i < s.size();) {
    char32_t cp = utf8_next(s, i);
    bool upper = mode == 1 || (mode == 2 && word_start) || (mode == 3 && first);
    char32_t mapped = static_cast<char32_t>(upper ? utf8proc_toupper(static_cast<utf8proc_int32_t>(cp))
                                                  : utf8proc_tolower(static_cast<utf8proc_int32_t>(cp)));
    utf8_append(out, mapped);
    utf8proc_category_t cat = utf8proc_category(static_cast<utf8proc_int32_t>(cp));
    bool cased = cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL || cat == UTF8PROC_CATEGORY_LT;
    word_start = !cased;
    first = false;
  }
  return out;
}

value replace_string(const value& s, const value& from, const value& to, const value& count_v, int line) {
  const std::string& f = need_string(from, "replace", line);
  const std::string& t = need_string(to, "replace", line);
  int64_t count = count_v.kind == value_kind::integer ? count_v.i : -1;
  std::string out;
  size_t pos = 0;
  int64_t done = 0;
  if (f.empty()) fail(line, "replace: empty search string is not supported");
  for (;;) {
    size_t found = (count >= 0 && done >= count) ? std::string::npos : s.s.find(f, pos);
    if (found == std::string::npos) break;
    out += s.s.substr(pos, found - pos) + t;
    pos = found + f.size();
    ++done;
  }
  out += s.s.substr(pos);
  return value::make_string(std::move(out));
}

bool prefix_match(const value& s, const value& arg, bool suffix, int line) {
  auto one = [&](const std::string& p) { return suffix ? text_ends_with(s.s, p) : text_starts_with(s.s, p); };
  if (arg.is_list()) {
    for (const value& p : *arg.list)
      if (one(need_string(p, suffix ? "endswith" : "startswith", line))) return true;
    return false;
  }
  return one(need_string(arg, suffix ? "endswith" : "startswith", line));
}

int64_t length_of(const value& v, int line) {
  switch (v.kind) {
    case value_kind::string:
      return static_cast<int64_t>(utf8_length(v.s));
    case value_kind::list:
      return static_cast<int64_t>(v.list->size());
    case value_kind::dict:
      return static_cast<int64_t>(v.dict->items.size());
    case value_kind::undefined:
      return 0;
    default:
      fail(line, std::string("length: a ") + value_kind_name(v.kind) + " has no length");
  }
}

value_list as_items(const value& v, const char* what, int line) {
  if (v.is_list()) return *v.list;
  if (v.is_undefined()) return {};
  if (v.is_dict()) {
    value_list keys;
    for (const auto& [k, item] : v.dict->items) keys.push_back(value::make_string(k));
    return keys;
  }
  if (v.is_string()) {
    value_list chars;
    for (size_t i = 0; i < v.s.size();) {
      size_t start = i;
      utf8_next(v.s, i);
      chars.push_back(string_substr(v, start, i));
    }
    return chars;
  }
  fail(line, std::string(what) + ": expected a list, got " + value_kind_name(v.kind));
}

value attribute_of(const value& v, const std::string& path) {
  value cur = v;
  size_t start = 0;
  while (start <= path.size()) {
    size_t dot = path.find('.', start);
    std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!cur.is_dict()) return value::make_undefined(part);
    const value* next = cur.dict->find(part);
    if (!next) return value::make_undefined(part);
    cur = *next;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return cur;
}

// select/reject/selectattr/rejectattr: args from `first` are the test name and its arguments.
value filter_by_test(const value& input, call_args& args, size_t first, bool by_attribute, bool keep,
                     int line) {
  std::string attribute;
  if (by_attribute) attribute = need_string(args.get(0, "attribute"), "selectattr", line);
  value test_name = args.get(first, "");
  call_args test_args;
  for (size_t i = first + 1; i < args.positional.size(); ++i)
    test_args.positional.push_back(args.positional[i]);
  value_list kept;
  for (const value& item : as_items(input, "select", line)) {
    value subject = by_attribute ? attribute_of(item, attribute) : item;
    bool passed = test_name.is_undefined()
                      ? value_truthy(subject)
                      : jinja_apply_test(need_string(test_name, "select", line), subject, test_args, line);
    if (passed == keep) kept.push_back(item);
  }
  return value::make_list(std::move(kept));
}

value join_values(const value& input, const value& sep_v, const value& attribute, int line) {
  std::string sep = sep_v.is_undefined() ? "" : need_string(sep_v, "join", line);
  value out = value::make_string("");
  bool first = true;
  for (value item : as_items(input, "join", line)) {
    if (!attribute.is_undefined()) item = attribute_of(item, value_to_text(attribute));
    if (!first) out = string_concat(out, value::make_string(sep));
    first = false;
    out = string_concat(out, item.is_string() ? item : value::make_string(value_to_text(item)));
  }
  return out;
}

// Jinja2's indent filter: every line after the first gets pad (blank lines only when `blank`).
std::string indent_text(const std::string& s, const std::string& pad, bool first, bool blank) {
  std::string out;
  size_t start = 0;
  for (bool is_first = true;; is_first = false) {
    size_t nl = s.find('\n', start);
    std::string line = s.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    if (is_first ? first : (blank || !line.empty())) out += pad;
    out += line;
    if (nl == std::string::npos) break;
    out += '\n';
    start = nl + 1;
  }
  return out;
}

}  // namespace

value jinja_apply_filter(const std::string& name, const value& input, call_args& args, int line) {
  if (name == "trim") {
    value text = input.is_string() ? input : value::make_string(value_to_text(input));
    return strip_string(text, args.get(0, "chars"), true, true, line);
  }
  if (name == "length" || name == "count") return value::make_int(length_of(input, line));
  if (name == "tojson") {
    value indent = args.get(0, "indent");
    return value::make_string(
        value_to_json(input, indent.kind == value_kind::integer ? static_cast<int>(indent.i) : -1));
  }
  if (name == "string") return input.is_string() ? input : value::make_string(value_to_text(input));
  if (name == "upper" || name == "lower" || name == "title" || name == "capitalize") {
    int mode = name == "lower" ? 0 : name == "upper" ? 1 : name == "title" ? 2 : 3;
    return value::make_string(map_case(value_to_text(input), mode));
  }
  if (name == "replace") {
    value s = input.is_string() ? input : value::make_string(value_to_text(input));
    return replace_string(s, args.get(0, "old"), args.get(1, "new"), args.get(2, "count"), line);
  }
  if (name == "default" || name == "d") {
    bool boolean = value_truthy(args.get(1, "boolean"));
    bool use_default = input.is_undefined() || (boolean && !value_truthy(input));
    return use_default ? args.get(0, "default_value", value::make_string("")) : input;
  }
  if (name == "join") return join_values(input, args.get(0, "d"), args.get(1, "attribute"), line);
  if (name == "first" || name == "last") {
    value_list items = as_items(input, name.c_str(), line);
    if (items.empty()) return value::make_undefined();
    return name == "first" ? items.front() : items.back();
  }
  if (name == "items") {
    if (input.is_undefined()) return value::make_list();
    if (!input.is_dict())
      fail(line, std::string("items: expected a mapping, got ") + value_kind_name(input.kind));
    value_list pairs;
    for (const auto& [k, v] : input.dict->items)
      pairs.push_back(value::make_list({value::make_string(k), v}));
    return value::make_list(std::move(pairs));
  }
  if (name == "list") return value::make_list(as_items(input, "list", line));
  if (name == "select" || name == "reject")
    return filter_by_test(input, args, 0, false, name == "select", line);
  if (name == "selectattr" || name == "rejectattr")
    return filter_by_test(input, args, 1, true, name == "selectattr", line);
  if (name == "map") {
    value attribute = args.get(99, "attribute");
    value_list out;
    if (!attribute.is_undefined()) {
      value fallback = args.get(99, "default");
      for (const value& item : as_items(input, "map", line)) {
        value v = attribute_of(item, value_to_text(attribute));
        out.push_back(v.is_undefined() && !fallback.is_undefined() ? fallback : v);
      }
    } else {
      std::string filter = need_string(args.get(0, ""), "map", line);
      call_args rest;
      rest.positional.assign(args.positional.begin() + 1, args.positional.end());
      for (const value& item : as_items(input, "map", line))
        out.push_back(jinja_apply_filter(filter, item, rest, line));
    }
    return value::make_list(std::move(out));
  }
  if (name == "int") {
    if (input.kind == value_kind::integer) return input;
    if (input.kind == value_kind::floating) return value::make_int(static_cast<int64_t>(input.f));
    if (input.kind == value_kind::boolean) return value::make_int(input.b);
    try {
      return value::make_int(std::stoll(std::string(text_trim(value_to_text(input)))));
    } catch (const std::exception&) {
      return args.get(0, "default", value::make_int(0));
    }
  }
  if (name == "float") {
    if (input.kind == value_kind::integer) return value::make_float(static_cast<double>(input.i));
    if (input.kind == value_kind::floating) return input;
    try {
      return value::make_float(std::stod(std::string(text_trim(value_to_text(input)))));
    } catch (const std::exception&) {
      return args.get(0, "default", value::make_float(0));
    }
  }
  if (name == "abs") {
    if (input.kind == value_kind::integer) return value::make_int(input.i < 0 ? -input.i : input.i);
    if (input.kind == value_kind::floating) return value::make_float(input.f < 0 ? -input.f : input.f);
    fail(line, "abs: expected a number");
  }
  if (name == "safe") return input;
  if (name == "indent") {
    value width = args.get(0, "width", value::make_int(4));
    std::string pad =
        width.is_string() ? width.s : std::string(static_cast<size_t>(std::max<int64_t>(0, width.i)), ' ');
    return value::make_string(indent_text(value_to_text(input), pad, value_truthy(args.get(1, "first")),
                                          value_truthy(args.get(2, "blank"))));
  }
  fail(line, "unsupported construct: filter '" + name + "'");
}

bool jinja_apply_test(const std::string& name, const value& input, call_args& args, int line) {
  value arg = args.get(0, "");
  if (name == "defined") return !input.is_undefined();
  if (name == "undefined") return input.is_undefined();
  if (name == "none") return input.is_none();
  if (name == "boolean") return input.kind == value_kind::boolean;
  if (name == "true") return input.kind == value_kind::boolean && input.b;
  if (name == "false") return input.kind == value_kind::boolean && !input.b;
  if (name == "integer") return input.kind == value_kind::integer;
  if (name == "float") return input.kind == value_kind::floating;
  if (name == "number") return input.is_number();
  if (name == "string") return input.is_string();
  if (name == "mapping") return input.is_dict();
  if (name == "iterable") return input.is_list() || input.is_dict() || input.is_string();
  if (name == "sequence") return input.is_list() || input.is_dict() || input.is_string();
  if (name == "callable") return input.kind == value_kind::function;
  if (name == "odd" || name == "even") {
    if (input.kind != value_kind::integer) fail(line, "test '" + name + "': expected an integer");
    return (input.i % 2 != 0) == (name == "odd");
  }
  if (name == "divisibleby") {
    if (input.kind != value_kind::integer || arg.kind != value_kind::integer || arg.i == 0)
      fail(line, "test 'divisibleby': expected integers");
    return input.i % arg.i == 0;
  }
  if (name == "eq" || name == "equalto" || name == "==") return value_equal(input, arg);
  if (name == "ne" || name == "!=") return !value_equal(input, arg);
  if (name == "sameas") return input.kind == arg.kind && value_equal(input, arg);
  if (name == "in") {
    if (arg.is_list())
      return std::any_of(arg.list->begin(), arg.list->end(),
                         [&](const value& v) { return value_equal(v, input); });
    if (arg.is_string() && input.is_string()) return arg.s.find(input.s) != std::string::npos;
    if (arg.is_dict()) return input.is_string() && arg.dict->find(input.s);
    return false;
  }
  if (name == "lower") return input.is_string() && map_case(input.s, 0) == input.s;
  if (name == "upper") return input.is_string() && map_case(input.s, 1) == input.s;
  if (name == "lt" || name == "le" || name == "gt" || name == "ge" || name == "<" || name == ">" ||
      name == "<=" || name == ">=") {
    if (!input.is_number() || !arg.is_number()) fail(line, "test '" + name + "': expected numbers");
    double x = input.kind == value_kind::integer ? static_cast<double>(input.i) : input.f;
    double y = arg.kind == value_kind::integer ? static_cast<double>(arg.i) : arg.f;
    if (name == "lt" || name == "<") return x < y;
    if (name == "le" || name == "<=") return x <= y;
    if (name == "gt" || name == ">") return x > y;
    return x >= y;
  }
  fail(line, "unsupported construct: test '" + name + "'");
}

bool jinja_call_method(const value& object, const std::string& name, call_args& args, int line, value* out) {
  if (object.is_string()) {
    if (name == "startswith" || name == "endswith") {
      *out = value::make_bool(prefix_match(object, args.get(0, "prefix"), name == "endswith", line));
    } else if (name == "strip" || name == "lstrip" || name == "rstrip") {
      *out = strip_string(object, args.get(0, "chars"), name != "rstrip", name != "lstrip", line);
    } else if (name == "split") {
      *out = split_string(object, args.get(0, "sep"), args.get(1, "maxsplit"), line);
    } else if (name == "upper" || name == "lower" || name == "title" || name == "capitalize") {
      int mode = name == "lower" ? 0 : name == "upper" ? 1 : name == "title" ? 2 : 3;
      *out = value::make_string(map_case(object.s, mode));
    } else if (name == "replace") {
      *out = replace_string(object, args.get(0, "old"), args.get(1, "new"), args.get(2, "count"), line);
    } else if (name == "find") {
      size_t at = object.s.find(need_string(args.get(0, "sub"), "find", line));
      *out = value::make_int(
          at == std::string::npos ? -1 : static_cast<int64_t>(utf8_length(object.s.substr(0, at))));
    } else if (name == "count") {
      const std::string& sub = need_string(args.get(0, "sub"), "count", line);
      int64_t n = 0;
      for (size_t at = object.s.find(sub); !sub.empty() && at != std::string::npos;
           at = object.s.find(sub, at + sub.size()))
        ++n;
      *out = value::make_int(n);
    } else if (name == "join") {
      *out = join_values(args.get(0, "iterable"), object, value::make_undefined(), line);
    } else {
      return false;
    }
    return true;
  }
  if (object.is_dict()) {
    if (name == "items") {
      value_list pairs;
      for (const auto& [k, v] : object.dict->items)
        pairs.push_back(value::make_list({value::make_string(k), v}));
      *out = value::make_list(std::move(pairs));
    } else if (name == "keys" || name == "values") {
      value_list items;
      for (const auto& [k, v] : object.dict->items)
        items.push_back(name == "keys" ? value::make_string(k) : v);
      *out = value::make_list(std::move(items));
    } else if (name == "get") {
      value key = args.get(0, "key");
      const value* found = key.is_string() ? object.dict->find(key.s) : nullptr;
      *out = found ? *found : args.get(1, "default", value::make_none());
    } else {
      return false;
    }
    return true;
  }
  return false;
}

void jinja_add_builtin_globals(std::vector<std::pair<std::string, value>>& globals) {
  globals.emplace_back("namespace", value::make_function([](call_args& args, int line) {
                         value ns = value::make_dict();
                         ns.dict->is_namespace = true;
                         for (const value& p : args.positional) {
                           if (!p.is_dict()) fail(line, "namespace(): positional arguments must be mappings");
                           for (const auto& [k, v] : p.dict->items) ns.dict->set(k, v);
                         }
                         for (const auto& [k, v] : args.keyword) ns.dict->set(k, v);
                         return ns;
                       }));
  globals.emplace_back("dict", value::make_function([](call_args& args, int) {
                         value d = value::make_dict();
                         for (const auto& [k, v] : args.keyword) d.dict->set(k, v);
                         return d;
                       }));
  globals.emplace_back("range", value::make_function([](call_args& args, int line) {
                         int64_t start = 0, stop = 0, step = 1;
                         for (const value& a : args.positional)
                           if (a.kind != value_kind::integer)
                             fail(line, "range(): arguments must be integers");
                         if (args.positional.size() == 1) {
                           stop = args.positional[0].i;
                         } else if (args.positional.size() >= 2) {
                           start = args.positional[0].i;
                           stop = args.positional[1].i;
                           if (args.positional.size() >= 3) step = args.positional[2].i;
                         }
                         if (step == 0) fail(line, "range(): step must not be zero");
                         value_list items;
                         for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
                           if (items.size() >= 1000000) fail(line, "range(): more than 1,000,000 items");
                           items.push_back(value::make_int(i));
                         }
                         return value::make_list(std::move(items));
                       }));
  globals.emplace_back("raise_exception", value::make_function([](call_args& args, int line) -> value {
                         fail(line, "raise_exception: " + value_to_text(args.get(0, "message")));
                       }));
}

}  // namespace smelt::jinja
