// Loading chat templates from tokenizer_config.json (string or named list, or the separate
// chat_template.jinja / chat_template.json files newer transformers writes) and rendering them
// with transformers' variables and globals (raise_exception, strftime_now, namespace ...), then
// turning the interpreter's provenance into message spans (method documented in chat_template.h).
#include "model/chat_template.h"

#include <ctime>

#include "core/files.h"
#include "model/jinja_eval.h"
#include "model/jinja_parser.h"

namespace smelt {

namespace {

using nlohmann::ordered_json;

// bos_token / eos_token: a string, an AddedToken object {"content": ...}, or null.
std::string special_token(const ordered_json& config, const char* key) {
  auto it = config.find(key);
  if (it == config.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object()) {
    auto content = it->find("content");
    if (content != it->end() && content->is_string()) return content->get<std::string>();
  }
  return {};
}

jinja::value json_to_value(const ordered_json& j) {
  switch (j.type()) {
    case ordered_json::value_t::null:
      return jinja::value::make_none();
    case ordered_json::value_t::boolean:
      return jinja::value::make_bool(j.get<bool>());
    case ordered_json::value_t::number_integer:
    case ordered_json::value_t::number_unsigned:
      return jinja::value::make_int(j.get<int64_t>());
    case ordered_json::value_t::number_float:
      return jinja::value::make_float(j.get<double>());
    case ordered_json::value_t::string:
      return jinja::value::make_string(j.get<std::string>());
    case ordered_json::value_t::array: {
      jinja::value_list items;
      for (const auto& item : j) items.push_back(json_to_value(item));
      return jinja::value::make_list(std::move(items));
    }
    case ordered_json::value_t::object: {
      jinja::value d = jinja::value::make_dict();
      for (const auto& [k, v] : j.items()) d.dict->set(k, json_to_value(v));
      return d;
    }
    default:
      return jinja::value::make_undefined();
  }
}

// strftime_now(format) as transformers defines it, on options.date when given.
jinja::value make_strftime_now(const std::string& date) {
  return jinja::value::make_function([date](jinja::call_args& args, int line) {
    jinja::value format = args.get(0, "format");
    if (!format.is_string()) throw jinja::template_error(line, "strftime_now: expected a format string");
    std::tm tm{};
    if (date.empty()) {
      std::time_t now = std::time(nullptr);
      localtime_r(&now, &tm);
    } else {
      int y = 0, m = 0, d = 0;
      if (std::sscanf(date.c_str(), "%d-%d-%d", &y, &m, &d) != 3 || m < 1 || m > 12 || d < 1 || d > 31)
        throw jinja::template_error(line, "strftime_now: date '" + date + "' is not YYYY-MM-DD");
      tm.tm_year = y - 1900;
      tm.tm_mon = m - 1;
      tm.tm_mday = d;
      tm.tm_hour = 12;
      std::mktime(&tm);  // fills in the weekday and day of year
    }
    char buf[256];
    size_t n = std::strftime(buf, sizeof buf, format.s.c_str(), &tm);
    return jinja::value::make_string(std::string(buf, n));
  });
}

}  // namespace

result<chat_template> chat_template_parse(std::string source, std::string bos_token, std::string eos_token,
                                          std::string origin) {
  auto parsed = jinja::jinja_parse(source);
  if (!parsed) return make_error(origin + ": chat_template " + parsed.message());
  chat_template t;
  t.name = "default";
  t.source = std::move(source);
  t.bos_token = std::move(bos_token);
  t.eos_token = std::move(eos_token);
  t.origin = std::move(origin);
  t.program = std::make_shared<const jinja::program>(std::move(parsed.value()));
  return t;
}

result<std::optional<chat_template>> chat_template_find(const std::filesystem::path& tokenizer_config,
                                                        const std::string& name) {
  const std::string origin = tokenizer_config.string();
  auto text = file_read(tokenizer_config);
  if (!text) return text.err();
  ordered_json config = ordered_json::parse(*text, nullptr, false);
  if (config.is_discarded() || !config.is_object()) return make_error(origin + ": not a JSON object");

  std::vector<std::pair<std::string, std::string>> named;
  std::string template_origin = origin;
  auto field = config.find("chat_template");
  if (field != config.end() && field->is_string()) {
    named.emplace_back("default", field->get<std::string>());
  } else if (field != config.end() && field->is_array()) {
    for (size_t i = 0; i < field->size(); ++i) {
      const ordered_json& entry = (*field)[i];
      if (!entry.is_object() || !entry.contains("name") || !entry.contains("template") ||
          !entry["name"].is_string() || !entry["template"].is_string())
        return make_error(origin + ": chat_template[" + std::to_string(i) +
                          "]: expected {\"name\", \"template\"}");
      named.emplace_back(entry["name"].get<std::string>(), entry["template"].get<std::string>());
    }
  } else if (field != config.end() && !field->is_null()) {
    return make_error(origin + ": chat_template: expected a string or a list of named templates");
  } else {
    std::filesystem::path dir = tokenizer_config.parent_path();
    if (std::filesystem::exists(dir / "chat_template.jinja")) {
      auto jinja_text = file_read(dir / "chat_template.jinja");
      if (!jinja_text) return jinja_text.err();
      named.emplace_back("default", std::move(jinja_text.value()));
      template_origin = (dir / "chat_template.jinja").string();
    } else if (std::filesystem::exists(dir / "chat_template.json")) {
      template_origin = (dir / "chat_template.json").string();
      auto json_text = file_read(dir / "chat_template.json");
      if (!json_text) return json_text.err();
      ordered_json j = ordered_json::parse(*json_text, nullptr, false);
      if (j.is_discarded() || !j.is_object() || !j.contains("chat_template") ||
          !j["chat_template"].is_string())
        return make_error(template_origin + ": expected {\"chat_template\": \"...\"}");
      named.emplace_back("default", j["chat_template"].get<std::string>());
    } else {
      return std::optional<chat_template>();
    }
  }

  size_t pick = named.size();
  std::string wanted = name.empty() ? "default" : name;
  for (size_t i = 0; i < named.size(); ++i)
    if (named[i].first == wanted) pick = i;
  if (pick == named.size() && name.empty() && named.size() == 1) pick = 0;
  if (pick == named.size()) {
    std::string names;
    for (const auto& [n, s] : named) names += (names.empty() ? "" : ", ") + n;
    return make_error(origin + ": no chat template named '" + wanted + "' (have: " + names + ")");
  }
  auto t = chat_template_parse(named[pick].second, special_token(config, "bos_token"),
                               special_token(config, "eos_token"), template_origin);
  if (!t) return t.err();
  t->name = named[pick].first;
  t->named = std::move(named);
  return std::optional<chat_template>(std::move(*t));
}

result<chat_template> chat_template_load(const std::filesystem::path& tokenizer_config,
                                         const std::string& name) {
  auto found = chat_template_find(tokenizer_config, name);
  if (!found) return found.err();
  if (!*found)
    return make_error(tokenizer_config.string() +
                      ": no chat_template (and no chat_template.jinja beside it)");
  return std::move(**found);
}

namespace {

result<jinja::render_output> render_once(const chat_template& tmpl, const std::vector<chat_message>& messages,
                                         bool add_generation_prompt, const chat_render_options& options) {
  jinja::render_input input;
  jinja::jinja_add_builtin_globals(input.globals);
  input.globals.emplace_back("strftime_now", make_strftime_now(options.date));
  jinja::value_list message_values;
  for (size_t i = 0; i < messages.size(); ++i) {
    jinja::value m = jinja::value::make_dict();
    m.dict->set("role", jinja::value::make_string(messages[i].role));
    jinja::value content = jinja::value::make_string(messages[i].content);
    if (!content.s.empty()) content.runs.push_back({0, content.s.size(), static_cast<int>(i), 0});
    m.dict->set("content", std::move(content));
    input.tracked_items.push_back(m.dict.get());
    message_values.push_back(std::move(m));
  }
  input.globals.emplace_back("messages", jinja::value::make_list(std::move(message_values)));
  input.globals.emplace_back("bos_token", jinja::value::make_string(tmpl.bos_token));
  input.globals.emplace_back("eos_token", jinja::value::make_string(tmpl.eos_token));
  input.globals.emplace_back("add_generation_prompt", jinja::value::make_bool(add_generation_prompt));
  if (options.enable_thinking)
    input.globals.emplace_back("enable_thinking", jinja::value::make_bool(*options.enable_thinking));
  if (options.extra_vars.is_object())
    for (const auto& [k, v] : options.extra_vars.items()) input.globals.emplace_back(k, json_to_value(v));
  if (!tmpl.program) return make_error(tmpl.origin + ": chat template was not parsed");
  auto out = jinja::jinja_render(*tmpl.program, input);
  if (!out) return make_error(tmpl.origin + ": chat_template " + out.message());
  return out;
}

}  // namespace

result<chat_render> chat_template_render(const chat_template& tmpl, const std::vector<chat_message>& messages,
                                         bool add_generation_prompt, const chat_render_options& options) {
  auto rendered = render_once(tmpl, messages, add_generation_prompt, options);
  if (!rendered) return rendered.err();
  jinja::render_output& out = rendered.value();
  chat_render r;
  r.text = std::move(out.text);
  const size_t n = messages.size();

  // Generation prompt: the suffix that add_generation_prompt adds.
  size_t conversation_end = r.text.size();
  if (add_generation_prompt) {
    auto without = render_once(tmpl, messages, false, options);
    if (!without) return without.err();
    const std::string& base = without->text;
    if (base.size() <= r.text.size() && r.text.compare(0, base.size(), base) == 0) {
      conversation_end = base.size();
    } else {
      conversation_end = 0;
      for (const auto& hull : out.item_output)
        if (!hull.empty()) conversation_end = std::max(conversation_end, hull.end);
    }
  }
  r.generation_prompt = {conversation_end, r.text.size()};

  std::vector<jinja::byte_hull> content(n);
  for (const jinja::source_run& run : out.runs)
    if (run.origin >= 0 && static_cast<size_t>(run.origin) < n)
      content[static_cast<size_t>(run.origin)].add(run.begin, run.end);

  r.turn.resize(n);
  std::vector<bool> looped(n, false);
  for (size_t i = 0; i < n; ++i) {
    jinja::byte_hull hull = out.item_output[i];
    if (hull.empty()) continue;
    if (!content[i].empty()) hull.add(content[i].begin, content[i].end);
    r.turn[i] = {hull.begin, hull.end};
    looped[i] = true;
  }
  for (size_t i = 0; i < n; ++i) {
    if (looped[i]) continue;
    size_t begin = i > 0 ? r.turn[i - 1].end : 0;  // earlier turns are final by now
    size_t end = conversation_end;
    for (size_t k = i + 1; k < n; ++k)
      if (looped[k]) {
        end = r.turn[k].begin;
        break;
      }
    if (!content[i].empty()) {
      // Printed inside another message's turn (Llama 2 / Mistral fold the system prompt into the
      // first user turn): the turn is just the content, nested in that turn.
      bool nested = false;
      for (size_t k = 0; k < n; ++k)
        if (looped[k] && r.turn[k].begin <= content[i].begin && content[i].end <= r.turn[k].end)
          nested = true;
      if (nested) {
        begin = content[i].begin;
        end = content[i].end;
      } else {
        begin = std::min(begin, content[i].begin);
        end = std::max(end, content[i].end);
      }
    }
    r.turn[i] = {begin, std::max(begin, end)};
  }
  r.content.resize(n);
  for (size_t i = 0; i < n; ++i)
    r.content[i] = content[i].empty() ? chat_span{r.turn[i].begin, r.turn[i].begin}
                                      : chat_span{content[i].begin, content[i].end};
  return r;
}

result<std::string> chat_template_reply_prompt(const chat_template& tmpl,
                                               const std::vector<chat_message>& messages,
                                               const chat_render_options& options) {
  std::vector<chat_message> with_reply = messages;
  with_reply.push_back({"assistant", "reply"});
  auto r = chat_template_render(tmpl, with_reply, false, options);
  if (r && r->content.back().size() > 0) return r->text.substr(0, r->content.back().begin);
  auto g = chat_template_render(tmpl, messages, true, options);
  if (!g) return g.err();
  return std::move(g->text);
}

}  // namespace smelt
