// Where an OpenAI-compatible endpoint's API key comes from: an environment variable named by the user
// (never a command-line argument, so it stays out of shell history and `ps`). Deciding whether a key is
// needed at all (local servers need none) is the caller's.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace smelt {

// The value of $VAR_NAME; an error naming the variable when it is unset or empty.
result<std::string> llm_api_key_from_env(std::string_view var_name);

}  // namespace smelt
