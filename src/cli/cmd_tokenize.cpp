// `smelt tokenize MODEL_DIR`: text (--text or standard input) -> token ids as one JSON object, or
// with --chat, each conversation of a chat JSONL file rendered by the model's chat template and
// tokenized, with per-token roles and loss mask. Counting tokens for users and checking
// tokenization in tests; the tokenizer, template and spans live in src/model.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <iterator>

#include "cli/commands.h"
#include "core/files.h"
#include "core/log.h"
#include "model/chat_tokens.h"
#include "model/tokenizer.h"

namespace smelt {

const command_spec tokenize_spec = {
    "tokenize",
    "MODEL_DIR",
    "print the token ids of a text or of chat conversations as JSON, with a model's tokenizer",
    "MODEL_DIR holds tokenizer.json (the rest of a model directory is not needed; a path to the\n"
    "tokenizer.json file itself works too). Without --text or --chat the text is read from standard\n"
    "input, as is, trailing newline included. Output: {\"count\": N, \"ids\": [...]} (+ \"tokens\" with\n"
    "--tokens).\n"
    "With --chat FILE, each line {\"messages\": [{\"role\": ..., \"content\": ...}, ...]} (or a file\n"
    "holding one such object) is rendered with the chat template of MODEL_DIR/tokenizer_config.json\n"
    "and printed as one line {\"text\", \"ids\", \"roles\", \"trained\", \"count\"}: per token the role of\n"
    "the message whose turn holds it (null outside turns) and 1 where training puts loss (assistant\n"
    "content and its end-of-turn token).",
    {
        {"text", 't', "TEXT", "", "text to tokenize instead of standard input"},
        {"add-special", 0, "", "",
         "add the tokenizer's special tokens (e.g. Llama's BOS), as HF add_special_tokens"},
        {"tokens", 0, "", "", "also print each token's string"},
        {"chat", 0, "FILE.jsonl", "", "tokenize the conversations of a chat JSONL file"},
        {"generation-prompt", 0, "", "", "with --chat: end each conversation with the generation prompt"},
    },
    1,
};

namespace {

using nlohmann::ordered_json;

// One conversation; errors name the field ("messages[1].role: ...") for the caller to prefix.
result<std::vector<chat_message>> conversation_parse(const ordered_json& j) {
  if (!j.is_object()) return make_error("expected an object {\"messages\": [...]}");
  auto it = j.find("messages");
  if (it == j.end()) return make_error("messages: missing");
  if (!it->is_array()) return make_error("messages: expected an array");
  if (it->empty()) return make_error("messages: empty");
  std::vector<chat_message> out;
  for (size_t i = 0; i < it->size(); ++i) {
    const ordered_json& m = (*it)[i];
    std::string where = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) return make_error(where + ": expected an object");
    auto role = m.find("role");
    if (role == m.end()) return make_error(where + ".role: missing");
    if (!role->is_string() || (*role != "system" && *role != "user" && *role != "assistant"))
      return make_error(where + ".role: expected system|user|assistant, got " + role->dump());
    auto content = m.find("content");
    if (content == m.end()) return make_error(where + ".content: missing");
    if (!content->is_string())
      return make_error(where + ".content: expected a string, got " + content->dump());
    out.push_back({role->get<std::string>(), content->get<std::string>()});
  }
  return out;
}

std::string json_line(const ordered_json& j) {
  // Token strings or text may hold bytes of a split character: replace rather than throw.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

int tokenize_chat(const tokenizer& tok, const parsed_args& args) {
  std::filesystem::path model = args.positional[0];
  std::filesystem::path dir = std::filesystem::is_directory(model) ? model : model.parent_path();
  auto tmpl = chat_template_load(dir / "tokenizer_config.json");
  if (!tmpl) {
    log_error("{}", tmpl.message());
    return exit_failed;
  }
  const std::string file = args.get("chat");
  auto text = file_read(file);
  if (!text) {
    log_error("{}", text.message());
    return exit_failed;
  }
  // A file holding one object (possibly spread over lines) is one conversation; else JSONL.
  std::vector<std::pair<size_t, ordered_json>> records;
  ordered_json whole = ordered_json::parse(*text, nullptr, false);
  if (!whole.is_discarded() && whole.is_object()) {
    records.emplace_back(1, std::move(whole));
  } else {
    size_t number = 0, at = 0;
    while (at < text->size()) {
      size_t nl = text->find('\n', at);
      std::string_view line(text->data() + at, (nl == std::string::npos ? text->size() : nl) - at);
      at = nl == std::string::npos ? text->size() : nl + 1;
      ++number;
      if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
      ordered_json j = ordered_json::parse(line, nullptr, false);
      if (j.is_discarded()) {
        log_error("{}:{}: not valid JSON", file, number);
        return exit_failed;
      }
      records.emplace_back(number, std::move(j));
    }
  }
  if (records.empty()) {
    log_error("{}: no conversations", file);
    return exit_failed;
  }
  for (const auto& [number, j] : records) {
    auto messages = conversation_parse(j);
    if (!messages) {
      log_error("{}:{}: {}", file, number, messages.message());
      return exit_failed;
    }
    auto ct = chat_tokenize(*tmpl, tok, *messages, args.flag("generation-prompt"));
    if (!ct) {
      log_error("{}:{}: {}", file, number, ct.message());
      return exit_failed;
    }
    ordered_json roles = ordered_json::array();
    for (int32_t m : ct->token_message)
      roles.push_back(m < 0 ? ordered_json(nullptr) : ordered_json((*messages)[size_t(m)].role));
    ordered_json out;
    out["text"] = ct->text;
    out["ids"] = ct->ids;
    out["roles"] = std::move(roles);
    out["trained"] = ct->token_trained;
    out["count"] = ct->ids.size();
    std::string s = json_line(out);
    std::fwrite(s.data(), 1, s.size(), stdout);
  }
  return exit_ok;
}

}  // namespace

int tokenize_run(const parsed_args& args) {
  if (args.was_given("chat") && (args.was_given("text") || args.flag("add-special") || args.flag("tokens"))) {
    log_error("smelt tokenize: --chat cannot be combined with --text, --add-special or --tokens");
    return exit_usage;
  }
  if (args.flag("generation-prompt") && !args.was_given("chat")) {
    log_error("smelt tokenize: --generation-prompt needs --chat");
    return exit_usage;
  }
  auto tok = tokenizer_load(args.positional[0]);
  if (!tok.ok()) {
    log_error("{}", tok.message());
    return exit_failed;
  }
  if (args.was_given("chat")) return tokenize_chat(*tok, args);
  std::string text;
  if (args.was_given("text")) {
    text = args.get("text");
  } else {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  std::vector<int32_t> ids = tokenizer_encode(*tok, text, args.flag("add-special"));
  ordered_json j;
  j["count"] = ids.size();
  j["ids"] = ids;
  if (args.flag("tokens")) {
    nlohmann::json tokens = nlohmann::json::array();
    for (int32_t id : ids) tokens.push_back(tokenizer_id_to_token(*tok, id).value_or(""));
    j["tokens"] = tokens;
  }
  std::string out = json_line(j);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return exit_ok;
}

}  // namespace smelt
