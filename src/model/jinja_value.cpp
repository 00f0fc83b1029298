// Value semantics of the chat-template interpreter, written to match Python/Jinja2 (what
// transformers runs): truthiness, ==, str(), repr(), json.dumps(ensure_ascii=False). Filters and
// methods that build on these live in jinja_builtins.cpp.
#include "model/jinja_value.h"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace smelt::jinja {

value value::make_undefined(std::string name) {
  value v;
  v.undefined_name = std::move(name);
  return v;
}
value value::make_none() {
  value v;
  v.kind = value_kind::none;
  return v;
}
value value::make_bool(bool b) {
  value v;
  v.kind = value_kind::boolean;
  v.b = b;
  return v;
}
value value::make_int(int64_t i) {
  value v;
  v.kind = value_kind::integer;
  v.i = i;
  return v;
}
value value::make_float(double f) {
  value v;
  v.kind = value_kind::floating;
  v.f = f;
  return v;
}
value value::make_string(std::string s) {
  value v;
  v.kind = value_kind::string;
  v.s = std::move(s);
  return v;
}
value value::make_list(value_list items) {
  value v;
  v.kind = value_kind::list;
  v.list = std::make_shared<value_list>(std::move(items));
  return v;
}
value value::make_dict() {
  value v;
  v.kind = value_kind::dict;
  v.dict = std::make_shared<value_dict>();
  return v;
}
value value::make_function(native_function f) {
  value v;
  v.kind = value_kind::function;
  v.fn = std::make_shared<native_function>(std::move(f));
  return v;
}

const value* value_dict::find(std::string_view key) const {
  for (const auto& [k, v] : items)
    if (k == key) return &v;
  return nullptr;
}

void value_dict::set(const std::string& key, value v) {
  for (auto& [k, old] : items) {
    if (k == key) {
      old = std::move(v);
      return;
    }
  }
  items.emplace_back(key, std::move(v));
}

value call_args::get(size_t index, std::string_view name, value fallback) const {
  if (index < positional.size()) return positional[index];
  for (const auto& [k, v] : keyword)
    if (k == name) return v;
  return fallback;
}

const char* value_kind_name(value_kind k) {
  switch (k) {
    case value_kind::undefined:
      return "undefined";
    case value_kind::none:
      return "none";
    case value_kind::boolean:
      return "bool";
    case value_kind::integer:
      return "int";
    case value_kind::floating:
      return "float";
    case value_kind::string:
      return "string";
    case value_kind::list:
      return "list";
    case value_kind::dict:
      return "dict";
    case value_kind::function:
      return "function";
  }
  return "?";
}

bool value_truthy(const value& v) {
  switch (v.kind) {
    case value_kind::undefined:
    case value_kind::none:
      return false;
    case value_kind::boolean:
      return v.b;
    case value_kind::integer:
      return v.i != 0;
    case value_kind::floating:
      return v.f != 0;
    case value_kind::string:
      return !v.s.empty();
    case value_kind::list:
      return !v.list->empty();
    case value_kind::dict:
      return v.dict->is_namespace || !v.dict->items.empty();
    case value_kind::function:
      return true;
  }
  return false;
}

static double number_of(const value& v) {
  if (v.kind == value_kind::integer) return static_cast<double>(v.i);
  if (v.kind == value_kind::boolean) return v.b ? 1 : 0;
  return v.f;
}

bool value_equal(const value& a, const value& b) {
  auto numeric = [](const value& v) {
    return v.kind == value_kind::integer || v.kind == value_kind::floating || v.kind == value_kind::boolean;
  };
  if (numeric(a) && numeric(b)) {
    if (a.kind == value_kind::floating || b.kind == value_kind::floating) return number_of(a) == number_of(b);
    return static_cast<int64_t>(number_of(a)) == static_cast<int64_t>(number_of(b));
  }
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case value_kind::undefined:
    case value_kind::none:
      return true;
    case value_kind::string:
      return a.s == b.s;
    case value_kind::list:
      if (a.list->size() != b.list->size()) return false;
      for (size_t i = 0; i < a.list->size(); ++i)
        if (!value_equal((*a.list)[i], (*b.list)[i])) return false;
      return true;
    case value_kind::dict:
      if (a.dict->items.size() != b.dict->items.size()) return false;
      for (const auto& [k, v] : a.dict->items) {
        const value* other = b.dict->find(k);
        if (!other || !value_equal(v, *other)) return false;
      }
      return true;
    case value_kind::function:
      return a.fn == b.fn;
    default:
      return false;
  }
}

// Python repr(float): shortest round-trip digits, exponent form outside [1e-4, 1e16).
static std::string float_repr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, r.ptr);
  size_t e_pos = sci.find('e');
  std::string mantissa = sci.substr(0, e_pos);
  int exponent = std::stoi(sci.substr(e_pos + 1));
  bool negative = !mantissa.empty() && mantissa[0] == '-';
  if (negative) mantissa.erase(0, 1);
  std::string digits;
  for (char c : mantissa)
    if (c != '.') digits += c;
  std::string out;
  if (exponent >= -5 + 1 && exponent < 16) {
    if (exponent < 0) {
      out = "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
    } else if (static_cast<size_t>(exponent) + 1 >= digits.size()) {
      out = digits + std::string(static_cast<size_t>(exponent) + 1 - digits.size(), '0') + ".0";
    } else {
      out = digits.substr(0, static_cast<size_t>(exponent) + 1) + "." +
            digits.substr(static_cast<size_t>(exponent) + 1);
    }
  } else {
    out = digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char exp_buf[16];
    std::snprintf(exp_buf, sizeof exp_buf, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
    out += exp_buf;
  }
  return negative ? "-" + out : out;
}

static std::string string_repr(const std::string& s) {
  // Python prefers single quotes unless the text has ' and no ".
  char quote = (s.find('\'') != std::string::npos && s.find('"') == std::string::npos) ? '"' : '\'';
  std::string out(1, quote);
  for (unsigned char c : s) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c == static_cast<unsigned char>(quote)) {
          out += '\\';
          out += static_cast<char>(c);
        } else if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += quote;
  return out;
}

std::string value_repr(const value& v) {
  switch (v.kind) {
    case value_kind::string:
      return string_repr(v.s);
    case value_kind::undefined:
      return "";
    default:
      return value_to_text(v);
  }
}

std::string value_to_text(const value& v) {
  switch (v.kind) {
    case value_kind::undefined:
      return "";
    case value_kind::none:
      return "None";
    case value_kind::boolean:
      return v.b ? "True" : "False";
    case value_kind::integer:
      return std::to_string(v.i);
    case value_kind::floating:
      return float_repr(v.f);
    case value_kind::string:
      return v.s;
    case value_kind::list: {
      std::string out = "[";
      for (size_t i = 0; i < v.list->size(); ++i) {
        if (i) out += ", ";
        out += value_repr((*v.list)[i]);
      }
      return out + "]";
    }
    case value_kind::dict: {
      if (v.dict->is_namespace) return "<Namespace>";
      std::string out = "{";
      bool first = true;
      for (const auto& [k, item] : v.dict->items) {
        if (!first) out += ", ";
        first = false;
        out += string_repr(k) + ": " + value_repr(item);
      }
      return out + "}";
    }
    case value_kind::function:
      return "<function>";
  }
  return "";
}

static std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string value_to_json(const value& v, int indent, int depth) {
  std::string pad_inner, pad_outer;
  if (indent >= 0) {
    pad_inner = "\n" + std::string(static_cast<size_t>(indent * (depth + 1)), ' ');
    pad_outer = "\n" + std::string(static_cast<size_t>(indent * depth), ' ');
  }
  const char* item_sep = indent >= 0 ? "," : ", ";
  switch (v.kind) {
    case value_kind::undefined:
    case value_kind::none:
      return "null";
    case value_kind::boolean:
      return v.b ? "true" : "false";
    case value_kind::integer:
      return std::to_string(v.i);
    case value_kind::floating:
      if (std::isnan(v.f)) return "NaN";
      if (std::isinf(v.f)) return v.f > 0 ? "Infinity" : "-Infinity";
      return float_repr(v.f);
    case value_kind::string:
      return json_string(v.s);
    case value_kind::list: {
      if (v.list->empty()) return "[]";
      std::string out = "[";
      for (size_t i = 0; i < v.list->size(); ++i) {
        if (i) out += item_sep;
        out += pad_inner + value_to_json((*v.list)[i], indent, depth + 1);
      }
      return out + pad_outer + "]";
    }
    case value_kind::dict: {
      if (v.dict->items.empty()) return "{}";
      std::string out = "{";
      bool first = true;
      for (const auto& [k, item] : v.dict->items) {
        if (!first) out += item_sep;
        first = false;
        out += pad_inner + json_string(k) + ": " + value_to_json(item, indent, depth + 1);
      }
      return out + pad_outer + "}";
    }
    case value_kind::function:
      throw template_error(0, "tojson: a function cannot be written as JSON");
  }
  return "null";
}

value string_substr(const value& s, size_t begin, size_t end) {
  value out = value::make_string(s.s.substr(begin, end - begin));
  for (const source_run& r : s.runs) {
    size_t b = std::max(r.begin, begin), e = std::min(r.end, end);
    if (b >= e) continue;
    out.runs.push_back({b - begin, e - begin, r.origin, r.origin_offset + (b - r.begin)});
  }
  return out;
}

value string_concat(const value& a, const value& b) {
  value out = value::make_string(a.s + b.s);
  out.runs = a.runs;
  for (source_run r : b.runs) {
    r.begin += a.s.size();
    r.end += a.s.size();
    out.runs.push_back(r);
  }
  return out;
}

}  // namespace smelt::jinja
