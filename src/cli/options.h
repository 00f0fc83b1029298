// Command-line options: each command declares one table of options, from which parsing and the
// generated --help (with defaults) both come. No option is parsed anywhere else.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/result.h"

namespace smelt {

struct option_spec {
  std::string name;           // long name without dashes: "format"
  char short_name = 0;        // 'o' for -o, 0 for none
  std::string value_name;     // "text|markdown|json"; empty for a boolean flag
  std::string default_value;  // printed in --help; empty = none
  std::string help;
};

struct command_spec {
  std::string name;         // "extract", "data check"
  std::string arguments;    // "FILE|DIR..."
  std::string summary;      // one line
  std::string description;  // optional paragraph after the usage line
  std::vector<option_spec> options;
  size_t min_positional = 0;
};

class parsed_args {
 public:
  std::vector<std::string> positional;
  std::map<std::string, std::string> values;  // every option, defaults filled in
  std::map<std::string, bool> given;          // options the user actually passed

  const std::string& get(const std::string& name) const;
  bool flag(const std::string& name) const;
  bool was_given(const std::string& name) const { return given.count(name) > 0; }
  result<long> get_int(const std::string& name) const;
  result<double> get_double(const std::string& name) const;
  // Checks the value is one of the '|'-separated choices of its value_name.
};

// Errors read "smelt extract: --format: expected text|markdown|json, got 'pdf'".
result<parsed_args> options_parse(const command_spec& spec, const std::vector<std::string>& args);
std::string options_help(const command_spec& spec);

}  // namespace smelt
