// Tree-walking evaluator for the chat-template Jinja subset, with Jinja2 scoping (a for loop body
// is its own scope; namespace() objects carry values out of it), Python operator semantics and
// provenance tracking for message spans. Filters, tests and methods are in jinja_builtins.cpp.
// Internally errors unwind as template_error; jinja_render turns them into a result.
#include <algorithm>
#include <cmath>
#include <optional>
#include <unordered_map>

#include "core/text.h"
#include "model/jinja_eval.h"

namespace smelt::jinja {

namespace {

constexpr int max_depth = 200;                           // nested macro calls / expressions
constexpr size_t max_output_bytes = 256u * 1024 * 1024;  // a runaway template stops here

enum class flow { flow_normal, flow_break, flow_continue };

struct macro_def {
  const stmt* definition;
};

class evaluator {
 public:
  explicit evaluator(const render_input& input) : input_(input) {
    scopes_.emplace_back();
    for (const auto& [k, v] : input.globals) scopes_.back()[k] = v;
    out_.item_output.resize(input.tracked_items.size());
  }

  render_output run(const program& p) {
    exec_list(p.body);
    return std::move(out_);
  }

 private:
  const render_input& input_;
  std::vector<std::unordered_map<std::string, value>> scopes_;
  render_output out_;
  int current_item_ = -1;
  int capturing_ = 0;
  int depth_ = 0;

  // ---- output ----
  void emit_text(const std::string& text, const std::vector<source_run>* runs, int line) {
    if (text.empty()) return;
    size_t base = out_.text.size();
    if (base + text.size() > max_output_bytes) throw template_error(line, "output exceeds 256 MiB");
    out_.text += text;
    if (runs) {
      for (source_run r : *runs) {
        r.begin += base;
        r.end += base;
        out_.runs.push_back(r);
      }
    }
    if (current_item_ >= 0 && capturing_ == 0)
      out_.item_output[static_cast<size_t>(current_item_)].add(base, out_.text.size());
  }
  void emit_value(const value& v, int line) {
    if (v.is_string()) {
      emit_text(v.s, &v.runs, line);
    } else {
      emit_text(value_to_text(v), nullptr, line);
    }
  }

  // ---- variables ----
  const value* lookup(const std::string& name) const {
    for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
      auto found = it->find(name);
      if (found != it->end()) return &found->second;
    }
    return nullptr;
  }
  void assign(const std::string& name, value v) { scopes_.back()[name] = std::move(v); }

  // ---- statements ----
  flow exec_list(const stmt_list& list) {
    for (const stmt_ptr& s : list) {
      flow f = exec(*s);
      if (f != flow::flow_normal) return f;
    }
    return flow::flow_normal;
  }

  flow exec(const stmt& s) {
    switch (s.kind) {
      case stmt_kind::stmt_text:
        emit_text(s.text, nullptr, s.line);
        return flow::flow_normal;
      case stmt_kind::stmt_output:
        emit_value(eval(*s.expression), s.line);
        return flow::flow_normal;
      case stmt_kind::stmt_if:
        for (size_t i = 0; i < s.conditions.size(); ++i)
          if (value_truthy(eval(*s.conditions[i]))) return exec_list(s.bodies[i]);
        if (s.has_else) return exec_list(s.bodies.back());
        return flow::flow_normal;
      case stmt_kind::stmt_for:
        exec_for(s);
        return flow::flow_normal;
      case stmt_kind::stmt_set:
        exec_set(s);
        return flow::flow_normal;
      case stmt_kind::stmt_set_block: {
        render_output saved = std::move(out_);
        out_ = render_output{};
        out_.item_output.resize(saved.item_output.size());
        ++capturing_;
        exec_list(s.bodies[0]);
        --capturing_;
        value captured = value::make_string(std::move(out_.text));
        captured.runs = std::move(out_.runs);
        out_ = std::move(saved);
        assign(s.targets[0], std::move(captured));
        return flow::flow_normal;
      }
      case stmt_kind::stmt_macro:
        define_macro(s);
        return flow::flow_normal;
      case stmt_kind::stmt_break:
        return flow::flow_break;
      case stmt_kind::stmt_continue:
        return flow::flow_continue;
      case stmt_kind::stmt_generation:
        return exec_list(s.bodies[0]);
    }
    return flow::flow_normal;
  }

  void exec_set(const stmt& s) {
    value v = eval(*s.expression);
    if (s.is_attribute) {
      const value* target = lookup(s.targets[0]);
      if (!target || !target->is_dict() || !target->dict->is_namespace)
        throw template_error(s.line, "cannot set attribute '" + s.targets[1] + "' of '" + s.targets[0] +
                                         "': it is not a namespace()");
      target->dict->set(s.targets[1], std::move(v));
      return;
    }
    if (s.targets.size() == 1) {
      assign(s.targets[0], std::move(v));
      return;
    }
    if (!v.is_list() || v.list->size() != s.targets.size())
      throw template_error(s.line, "cannot unpack into " + std::to_string(s.targets.size()) + " names");
    for (size_t i = 0; i < s.targets.size(); ++i) assign(s.targets[i], (*v.list)[i]);
  }

  static value_list iteration_items(const value& v, int line) {
    switch (v.kind) {
      case value_kind::list:
        return *v.list;
      case value_kind::undefined:
        return {};
      case value_kind::dict: {
        value_list keys;
        for (const auto& [k, item] : v.dict->items) keys.push_back(value::make_string(k));
        return keys;
      }
      case value_kind::string: {
        value_list chars;
        size_t i = 0;
        while (i < v.s.size()) {
          size_t start = i;
          utf8_next(v.s, i);
          chars.push_back(string_substr(v, start, i));
        }
        return chars;
      }
      default:
        throw template_error(line, std::string("cannot iterate over a ") + value_kind_name(v.kind));
    }
  }

  void bind_targets(const stmt& s, const value& item) {
    if (s.targets.size() == 1) {
      assign(s.targets[0], item);
      return;
    }
    if (!item.is_list() || item.list->size() != s.targets.size())
      throw template_error(s.line,
                           "cannot unpack loop item into " + std::to_string(s.targets.size()) + " names");
    for (size_t i = 0; i < s.targets.size(); ++i) assign(s.targets[i], (*item.list)[i]);
  }

  void exec_for(const stmt& s) {
    value_list items = iteration_items(eval(*s.expression), s.line);
    if (!s.conditions.empty()) {
      value_list kept;
      for (const value& item : items) {
        scopes_.emplace_back();
        bind_targets(s, item);
        bool keep = value_truthy(eval(*s.conditions[0]));
        scopes_.pop_back();
        if (keep) kept.push_back(item);
      }
      items = std::move(kept);
    }
    if (items.empty()) {
      if (s.has_else) exec_list(s.bodies[1]);
      return;
    }
    const int64_t n = static_cast<int64_t>(items.size());
    for (int64_t i = 0; i < n; ++i) {
      const value& item = items[static_cast<size_t>(i)];
      scopes_.emplace_back();
      value loop = value::make_dict();
      loop.dict->set("index0", value::make_int(i));
      loop.dict->set("index", value::make_int(i + 1));
      loop.dict->set("revindex0", value::make_int(n - i - 1));
      loop.dict->set("revindex", value::make_int(n - i));
      loop.dict->set("first", value::make_bool(i == 0));
      loop.dict->set("last", value::make_bool(i == n - 1));
      loop.dict->set("length", value::make_int(n));
      loop.dict->set("previtem",
                     i > 0 ? items[static_cast<size_t>(i - 1)] : value::make_undefined("previtem"));
      loop.dict->set("nextitem",
                     i + 1 < n ? items[static_cast<size_t>(i + 1)] : value::make_undefined("nextitem"));
      assign("loop", std::move(loop));
      bind_targets(s, item);
      int saved_item = current_item_;
      if (current_item_ < 0 && item.is_dict()) {
        for (size_t k = 0; k < input_.tracked_items.size(); ++k)
          if (input_.tracked_items[k] == item.dict.get()) current_item_ = static_cast<int>(k);
      }
      flow f = exec_list(s.bodies[0]);
      current_item_ = saved_item;
      scopes_.pop_back();
      if (f == flow::flow_break) break;
    }
  }

  void define_macro(const stmt& s) {
    const stmt* def = &s;
    assign(s.name, value::make_function([this, def](call_args& args, int line) {
             if (++depth_ > max_depth) throw template_error(line, "macro calls nested too deeply");
             // Macros see the template's top-level names plus their parameters (Jinja2 semantics).
             std::vector<std::unordered_map<std::string, value>> saved(scopes_.begin() + 1, scopes_.end());
             scopes_.resize(1);
             scopes_.emplace_back();
             for (size_t i = 0; i < def->params.size(); ++i) {
               const auto& [name, fallback] = def->params[i];
               value v = args.get(i, name);
               if (v.is_undefined() && fallback) v = eval(*fallback);
               assign(name, v);
             }
             render_output saved_out = std::move(out_);
             out_ = render_output{};
             out_.item_output.resize(saved_out.item_output.size());
             ++capturing_;
             exec_list(def->bodies[0]);
             --capturing_;
             value result = value::make_string(std::move(out_.text));
             result.runs = std::move(out_.runs);
             out_ = std::move(saved_out);
             scopes_.resize(1);
             for (auto& scope : saved) scopes_.push_back(std::move(scope));
             --depth_;
             return result;
           }));
  }

  // ---- expressions ----
  value eval(const expr& e) {
    if (++depth_ > max_depth) throw template_error(e.line, "expression nested too deeply");
    value v = eval_inner(e);
    --depth_;
    return v;
  }

  call_args eval_args(const expr& e, size_t first) {
    call_args args;
    for (size_t i = first; i < e.args.size(); ++i) args.positional.push_back(eval(*e.args[i]));
    for (const auto& [k, arg] : e.kwargs) args.keyword.emplace_back(k, eval(*arg));
    return args;
  }

  value eval_inner(const expr& e) {
    switch (e.kind) {
      case expr_kind::expr_literal:
        return e.literal;
      case expr_kind::expr_name: {
        const value* v = lookup(e.name);
        return v ? *v : value::make_undefined(e.name);
      }
      case expr_kind::expr_list:
      case expr_kind::expr_tuple: {
        value_list items;
        for (const auto& a : e.args) items.push_back(eval(*a));
        return value::make_list(std::move(items));
      }
      case expr_kind::expr_dict: {
        value d = value::make_dict();
        for (size_t i = 0; i + 1 < e.args.size(); i += 2) {
          value key = eval(*e.args[i]);
          if (!key.is_string()) throw template_error(e.line, "dict keys must be strings");
          d.dict->set(key.s, eval(*e.args[i + 1]));
        }
        return d;
      }
      case expr_kind::expr_attribute:
        return get_attribute(eval(*e.args[0]), e.name, e.line);
      case expr_kind::expr_subscript:
        return get_item(eval(*e.args[0]), eval(*e.args[1]), e.line);
      case expr_kind::expr_slice:
        return eval_slice(e);
      case expr_kind::expr_call:
        return eval_call(e);
      case expr_kind::expr_filter: {
        value input = eval(*e.args[0]);
        call_args args = eval_args(e, 1);
        return jinja_apply_filter(e.name, input, args, e.line);
      }
      case expr_kind::expr_test: {
        value input = eval(*e.args[0]);
        call_args args = eval_args(e, 1);
        bool r = jinja_apply_test(e.name, input, args, e.line);
        return value::make_bool(e.negated ? !r : r);
      }
      case expr_kind::expr_unary: {
        value v = eval(*e.args[0]);
        if (e.name == "not") return value::make_bool(!value_truthy(v));
        if (v.kind == value_kind::integer) return value::make_int(e.name == "-" ? -v.i : v.i);
        if (v.kind == value_kind::floating) return value::make_float(e.name == "-" ? -v.f : v.f);
        throw template_error(e.line, "bad operand type for unary " + e.name + ": " + value_kind_name(v.kind));
      }
      case expr_kind::expr_binary:
        return eval_binary(e);
      case expr_kind::expr_conditional:
        if (value_truthy(eval(*e.args[1]))) return eval(*e.args[0]);
        return e.args[2] ? eval(*e.args[2]) : value::make_undefined();
    }
    return value::make_undefined();
  }

  static value get_attribute(const value& object, const std::string& name, int line) {
    if (object.is_undefined())
      throw template_error(
          line, "'" + (object.undefined_name.empty() ? std::string("value") : object.undefined_name) +
                    "' is undefined (reading attribute '" + name + "')");
    if (object.is_dict()) {
      if (const value* v = object.dict->find(name)) return *v;
    }
    return value::make_undefined(name);
  }

  static int64_t normalize_index(int64_t index, int64_t size) { return index < 0 ? index + size : index; }

  static value get_item(const value& object, const value& key, int line) {
    if (object.is_undefined())
      throw template_error(
          line, "'" + (object.undefined_name.empty() ? std::string("value") : object.undefined_name) +
                    "' is undefined (reading an item)");
    if (object.is_dict()) {
      if (key.is_string()) {
        if (const value* v = object.dict->find(key.s)) return *v;
        return value::make_undefined(key.s);
      }
      return value::make_undefined();
    }
    if ((object.is_list() || object.is_string()) && key.kind == value_kind::integer) {
      if (object.is_list()) {
        int64_t i = normalize_index(key.i, static_cast<int64_t>(object.list->size()));
        if (i < 0 || i >= static_cast<int64_t>(object.list->size())) return value::make_undefined();
        return (*object.list)[static_cast<size_t>(i)];
      }
      std::vector<size_t> starts = char_starts(object.s);
      int64_t count = static_cast<int64_t>(starts.size()) - 1;
      int64_t i = normalize_index(key.i, count);
      if (i < 0 || i >= count) return value::make_undefined();
      return string_substr(object, starts[static_cast<size_t>(i)], starts[static_cast<size_t>(i) + 1]);
    }
    if (key.is_string()) return value::make_undefined(key.s);
    return value::make_undefined();
  }

  // Byte offsets of each code point plus the end, so Python's character indexing works on UTF-8.
  static std::vector<size_t> char_starts(const std::string& s) {
    std::vector<size_t> starts;
    size_t i = 0;
    while (i < s.size()) {
      starts.push_back(i);
      utf8_next(s, i);
    }
    starts.push_back(s.size());
    return starts;
  }

  value eval_slice(const expr& e) {
    value object = eval(*e.args[0]);
    auto part = [&](size_t k) -> std::optional<int64_t> {
      if (!e.args[k]) return std::nullopt;
      value v = eval(*e.args[k]);
      if (v.is_none()) return std::nullopt;
      if (v.kind != value_kind::integer) throw template_error(e.line, "slice indices must be integers");
      return v.i;
    };
    std::optional<int64_t> start = part(1), stop = part(2), step_opt = part(3);
    int64_t step = step_opt.value_or(1);
    if (step == 0) throw template_error(e.line, "slice step cannot be zero");
    std::vector<size_t> starts;
    int64_t size;
    if (object.is_list()) {
      size = static_cast<int64_t>(object.list->size());
    } else if (object.is_string()) {
      starts = char_starts(object.s);
      size = static_cast<int64_t>(starts.size()) - 1;
    } else {
      throw template_error(e.line, std::string("cannot slice a ") + value_kind_name(object.kind));
    }
    // Python's slice.indices().
    auto clamp = [&](std::optional<int64_t> v, int64_t fallback) {
      if (!v) return fallback;
      int64_t x = *v < 0 ? *v + size : *v;
      if (step > 0) return std::clamp<int64_t>(x, 0, size);
      return std::clamp<int64_t>(x, -1, size - 1);
    };
    int64_t b = clamp(start, step > 0 ? 0 : size - 1);
    int64_t en = clamp(stop, step > 0 ? size : -1);
    std::vector<int64_t> picked;
    for (int64_t i = b; step > 0 ? i < en : i > en; i += step) picked.push_back(i);
    if (object.is_list()) {
      value_list items;
      for (int64_t i : picked) items.push_back((*object.list)[static_cast<size_t>(i)]);
      return value::make_list(std::move(items));
    }
    if (step == 1) {
      return string_substr(object, starts[static_cast<size_t>(b)],
                           starts[static_cast<size_t>(std::max(b, en))]);
    }
    value out = value::make_string("");
    for (int64_t i : picked)
      out = string_concat(
          out, string_substr(object, starts[static_cast<size_t>(i)], starts[static_cast<size_t>(i) + 1]));
    return out;
  }

  value eval_call(const expr& e) {
    const expr& callee = *e.args[0];
    if (callee.kind == expr_kind::expr_attribute) {
      value object = eval(*callee.args[0]);
      if (object.is_string() || object.is_list() || (object.is_dict() && !object.dict->find(callee.name))) {
        call_args args = eval_args(e, 1);
        value out;
        if (jinja_call_method(object, callee.name, args, e.line, &out)) return out;
        throw template_error(e.line, std::string("unsupported construct: method '") + callee.name +
                                         "' of a " + value_kind_name(object.kind));
      }
      value fn = get_attribute(object, callee.name, e.line);
      return call_value(fn, e, callee.name);
    }
    value fn = eval(callee);
    return call_value(fn, e, callee.kind == expr_kind::expr_name ? callee.name : std::string("expression"));
  }

  value call_value(const value& fn, const expr& e, const std::string& name) {
    if (fn.kind != value_kind::function) {
      if (fn.is_undefined())
        throw template_error(e.line, "unsupported construct: unknown function '" + name + "'");
      throw template_error(e.line, "'" + name + "' is not callable");
    }
    call_args args = eval_args(e, 1);
    return (*fn.fn)(args, e.line);
  }

  static double as_double(const value& v) {
    return v.kind == value_kind::integer ? static_cast<double>(v.i) : v.f;
  }

  [[noreturn]] static void operand_error(const std::string& op, const value& a, const value& b, int line) {
    throw template_error(line, "unsupported operand types for " + op + ": " + value_kind_name(a.kind) +
                                   " and " + value_kind_name(b.kind));
  }

  static value to_number(const value& v) {
    if (v.kind == value_kind::boolean) return value::make_int(v.b ? 1 : 0);
    return v;
  }

  value eval_binary(const expr& e) {
    const std::string& op = e.name;
    if (op == "and") {
      value a = eval(*e.args[0]);
      return value_truthy(a) ? eval(*e.args[1]) : a;
    }
    if (op == "or") {
      value a = eval(*e.args[0]);
      return value_truthy(a) ? a : eval(*e.args[1]);
    }
    value a = eval(*e.args[0]);
    value b = eval(*e.args[1]);
    int line = e.line;
    if (op == "==") return value::make_bool(value_equal(a, b));
    if (op == "!=") return value::make_bool(!value_equal(a, b));
    if (op == "~") {
      value sa = a.is_string() ? a : value::make_string(value_to_text(a));
      value sb = b.is_string() ? b : value::make_string(value_to_text(b));
      return string_concat(sa, sb);
    }
    if (op == "in" || op == "not in") {
      bool found = false;
      if (b.is_string()) {
        if (!a.is_string()) operand_error("in", a, b, line);
        found = b.s.find(a.s) != std::string::npos;
      } else if (b.is_list()) {
        for (const value& item : *b.list) found = found || value_equal(a, item);
      } else if (b.is_dict()) {
        found = a.is_string() && b.dict->find(a.s) != nullptr;
      } else if (!b.is_undefined()) {
        operand_error("in", a, b, line);
      }
      return value::make_bool(op == "in" ? found : !found);
    }
    if (a.is_undefined() || b.is_undefined()) {
      const value& u = a.is_undefined() ? a : b;
      throw template_error(line, "'" + (u.undefined_name.empty() ? std::string("value") : u.undefined_name) +
                                     "' is undefined (operator " + op + ")");
    }
    if (op == "<" || op == "<=" || op == ">" || op == ">=") {
      int cmp;
      value na = to_number(a), nb = to_number(b);
      if (na.is_number() && nb.is_number()) {
        double x = as_double(na), y = as_double(nb);
        cmp = x < y ? -1 : x > y ? 1 : 0;
      } else if (a.is_string() && b.is_string()) {
        cmp = a.s.compare(b.s);
      } else {
        operand_error(op, a, b, line);
      }
      if (op == "<") return value::make_bool(cmp < 0);
      if (op == "<=") return value::make_bool(cmp <= 0);
      if (op == ">") return value::make_bool(cmp > 0);
      return value::make_bool(cmp >= 0);
    }
    if (op == "+") {
      if (a.is_string() && b.is_string()) return string_concat(a, b);
      if (a.is_list() && b.is_list()) {
        value_list items = *a.list;
        items.insert(items.end(), b.list->begin(), b.list->end());
        return value::make_list(std::move(items));
      }
    }
    if (op == "*") {
      value n = a.is_string() ? to_number(b) : to_number(a);
      const value& s = a.is_string() ? a : b;
      if (s.is_string() && n.kind == value_kind::integer) {
        value out = value::make_string("");
        for (int64_t i = 0; i < n.i && out.s.size() < max_output_bytes; ++i) out = string_concat(out, s);
        return out;
      }
    }
    value na = to_number(a), nb = to_number(b);
    if (!na.is_number() || !nb.is_number()) operand_error(op, a, b, line);
    bool both_int = na.kind == value_kind::integer && nb.kind == value_kind::integer;
    double x = as_double(na), y = as_double(nb);
    if (op == "+") return both_int ? value::make_int(na.i + nb.i) : value::make_float(x + y);
    if (op == "-") return both_int ? value::make_int(na.i - nb.i) : value::make_float(x - y);
    if (op == "*") return both_int ? value::make_int(na.i * nb.i) : value::make_float(x * y);
    if (op == "/") {
      if (y == 0) throw template_error(line, "division by zero");
      return value::make_float(x / y);
    }
    if (op == "//" || op == "%") {
      if (y == 0) throw template_error(line, "division by zero");
      if (both_int) {
        int64_t q = na.i / nb.i;
        if ((na.i % nb.i != 0) && ((na.i < 0) != (nb.i < 0))) --q;
        return op == "//" ? value::make_int(q) : value::make_int(na.i - q * nb.i);
      }
      double q = std::floor(x / y);
      return op == "//" ? value::make_float(q) : value::make_float(x - q * y);
    }
    if (op == "**") {
      if (both_int && nb.i >= 0) {
        int64_t r = 1;
        for (int64_t i = 0; i < nb.i && i < 64; ++i) r *= na.i;
        return value::make_int(r);
      }
      return value::make_float(std::pow(x, y));
    }
    throw template_error(line, "unsupported operator " + op);
  }
};

}  // namespace

result<render_output> jinja_render(const program& p, const render_input& input) {
  try {
    return evaluator(input).run(p);
  } catch (const template_error& e) {
    return make_error("line " + std::to_string(e.line) + ": " + e.what());
  }
}

}  // namespace smelt::jinja
