// `smelt tokenize MODEL_DIR`: text (--text or standard input) -> token ids as one JSON object, with
// the model's own tokenizer.json. Counting tokens for users and checking tokenization in tests;
// the tokenizer itself lives in src/model/tokenizer.h.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>
#include <iterator>

#include "cli/commands.h"
#include "core/log.h"
#include "model/tokenizer.h"

namespace smelt {

const command_spec tokenize_spec = {
    "tokenize",
    "MODEL_DIR",
    "print the token ids of a text as JSON, with a model's tokenizer.json",
    "MODEL_DIR holds tokenizer.json (the rest of a model directory is not needed; a path to the\n"
    "tokenizer.json file itself works too). Without --text the text is read from standard input, as\n"
    "is, trailing newline included. Output: {\"count\": N, \"ids\": [...]} (+ \"tokens\" with --tokens).",
    {
        {"text", 't', "TEXT", "", "text to tokenize instead of standard input"},
        {"add-special", 0, "", "",
         "add the tokenizer's special tokens (e.g. Llama's BOS), as HF add_special_tokens"},
        {"tokens", 0, "", "", "also print each token's string"},
    },
    1,
};

int tokenize_run(const parsed_args& args) {
  auto tok = tokenizer_load(args.positional[0]);
  if (!tok.ok()) {
    log_error("{}", tok.message());
    return exit_failed;
  }
  std::string text;
  if (args.was_given("text")) {
    text = args.get("text");
  } else {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  std::vector<int32_t> ids = tokenizer_encode(*tok, text, args.flag("add-special"));
  nlohmann::ordered_json j;
  j["count"] = ids.size();
  j["ids"] = ids;
  if (args.flag("tokens")) {
    nlohmann::json tokens = nlohmann::json::array();
    for (int32_t id : ids) tokens.push_back(tokenizer_id_to_token(*tok, id).value_or(""));
    j["tokens"] = tokens;
  }
  // Token strings may hold bytes of a split character: replace rather than throw.
  std::string out = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  std::fwrite(out.data(), 1, out.size(), stdout);
  return exit_ok;
}

}  // namespace smelt
