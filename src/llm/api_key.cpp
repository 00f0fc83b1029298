// Reads the API key from the environment (see api_key.h); what to do without one is the caller's.
#include "llm/api_key.h"

#include <fmt/format.h>

#include <cstdlib>

#include "core/text.h"

namespace smelt {

result<std::string> llm_api_key_from_env(std::string_view var_name) {
  if (var_name.empty()) return make_error("llm: no environment variable named for the API key");
  std::string name(var_name);
  const char* value = std::getenv(name.c_str());
  if (!value) {
    return make_error(fmt::format(
        "missing API key: environment variable {} is not set (export {}=<your key>)", name, name));
  }
  std::string key(text_trim(value));
  if (key.empty()) {
    return make_error(
        fmt::format("missing API key: environment variable {} is empty (export {}=<your key>)", name, name));
  }
  return key;
}

}  // namespace smelt
