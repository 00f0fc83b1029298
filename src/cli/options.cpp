// Option-table parsing and --help generation.
#include "cli/options.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>

#include "core/text.h"

namespace smelt {

namespace {

const option_spec* option_find(const command_spec& spec, std::string_view name, char short_name) {
  for (const auto& o : spec.options)
    if ((!name.empty() && o.name == name) || (short_name && o.short_name == short_name)) return &o;
  return nullptr;
}

// A value_name like "text|markdown|json" is a closed set of choices; "N" or "DIR" is free.
std::vector<std::string> option_choices(const option_spec& o) {
  std::vector<std::string> choices;
  if (o.value_name.find('|') == std::string::npos) return choices;
  size_t start = 0;
  while (true) {
    size_t bar = o.value_name.find('|', start);
    choices.push_back(o.value_name.substr(start, bar - start));
    if (bar == std::string::npos) break;
    start = bar + 1;
  }
  return choices;
}

}  // namespace

const std::string& parsed_args::get(const std::string& name) const {
  static const std::string empty;
  auto it = values.find(name);
  return it == values.end() ? empty : it->second;
}

bool parsed_args::flag(const std::string& name) const {
  return get(name) == "true";
}

result<long> parsed_args::get_int(const std::string& name) const {
  const std::string& v = get(name);
  char* end = nullptr;
  long n = std::strtol(v.c_str(), &end, 10);
  if (v.empty() || *end) return make_error(fmt::format("--{}: expected a whole number, got '{}'", name, v));
  return n;
}

result<double> parsed_args::get_double(const std::string& name) const {
  const std::string& v = get(name);
  char* end = nullptr;
  double d = std::strtod(v.c_str(), &end);
  if (v.empty() || *end) return make_error(fmt::format("--{}: expected a number, got '{}'", name, v));
  return d;
}

result<parsed_args> options_parse(const command_spec& spec, const std::vector<std::string>& args) {
  parsed_args out;
  for (const auto& o : spec.options) out.values[o.name] = o.value_name.empty() ? "false" : o.default_value;
  auto fail = [&](const std::string& what) {
    return make_error(fmt::format("smelt {}: {}", spec.name, what));
  };
  bool only_positional = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (only_positional || a == "-" || a.size() < 2 || a[0] != '-') {
      out.positional.push_back(a);
      continue;
    }
    if (a == "--") {
      only_positional = true;
      continue;
    }
    if (a == "--help" || a == "-h") {
      out.values["help"] = "true";
      out.given["help"] = true;
      continue;
    }
    std::string name, value;
    bool has_value = false;
    const option_spec* o = nullptr;
    if (a[1] == '-') {
      name = a.substr(2);
      size_t eq = name.find('=');
      if (eq != std::string::npos) value = name.substr(eq + 1), name = name.substr(0, eq), has_value = true;
      o = option_find(spec, name, 0);
    } else if (a.size() == 2) {
      o = option_find(spec, "", a[1]);
    }
    if (!o) return fail(fmt::format("unknown option '{}' (see smelt {} --help)", a, spec.name));
    if (o->value_name.empty()) {
      if (has_value) return fail(fmt::format("--{} takes no value", o->name));
      out.values[o->name] = "true";
    } else {
      if (!has_value) {
        if (i + 1 >= args.size()) return fail(fmt::format("--{} needs a value ({})", o->name, o->value_name));
        value = args[++i];
      }
      auto choices = option_choices(*o);
      if (!choices.empty() && std::find(choices.begin(), choices.end(), value) == choices.end())
        return fail(fmt::format("--{}: expected {}, got '{}'", o->name, o->value_name, value));
      out.values[o->name] = value;
    }
    out.given[o->name] = true;
  }
  if (!out.flag("help") && out.positional.size() < spec.min_positional)
    return fail(fmt::format("expected {} (see smelt {} --help)", spec.arguments, spec.name));
  return out;
}

std::string options_help(const command_spec& spec) {
  std::string out =
      fmt::format("usage: smelt {} [options] {}\n\n{}\n", spec.name, spec.arguments, spec.summary);
  if (!spec.description.empty()) out += "\n" + spec.description + "\n";
  out += "\noptions:\n";
  std::vector<std::pair<std::string, const option_spec*>> rows;
  size_t width = 0;
  for (const auto& o : spec.options) {
    std::string left =
        o.short_name ? fmt::format("  -{}, --{}", o.short_name, o.name) : fmt::format("      --{}", o.name);
    if (!o.value_name.empty()) left += " " + o.value_name;
    width = std::max(width, left.size());
    rows.emplace_back(left, &o);
  }
  rows.emplace_back("  -h, --help", nullptr);
  for (const auto& [left, o] : rows) {
    std::string help = o ? o->help : "show this help";
    if (o && !o->value_name.empty())
      help += fmt::format(" (default: {})", o->default_value.empty() ? "none" : o->default_value);
    out += fmt::format("{:<{}}  {}\n", left, width, help);
  }
  return out;
}

}  // namespace smelt
