// Dify DSL reader. The export's shape (what we read of it):
//   kind: app            version: 0.1.x .. 0.5.x
//   app: {name, mode: workflow | advanced-chat}
//   workflow:
//     environment_variables: [{name, value, value_type}]
//     graph: {nodes: [{id, type: custom | custom-note, data: {type, title, ...}}], edges: [...]}
// Node data by data.type:
//   start               variables: [{variable, label, type:
//   text-input|paragraph|select|number|file|file-list,
//                                    default?}]
//   document-extractor  variable_selector: [node_id, var]; output `text`
//   code                code_language, code, variables: [{variable, value_selector}], outputs: {name: {type}}
//   llm                 model: {provider, name, mode: chat|completion, completion_params: {...}},
//                       prompt_template: [{role, text, edition_type?}] (chat) | {text} (completion),
//                       context: {enabled, variable_selector}, memory?: {query_prompt_template}, vision?
//   end / answer        outputs / answer text (nothing to run)
// Edges are not followed: references in the LLM prompt say where its inputs come from.
#include "corpus/dify_workflow.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <map>
#include <set>

#include "core/files.h"

namespace smelt {

namespace {

std::string scalar(const YAML::Node& n, const char* key) {
  YAML::Node v = n[key];
  if (!v || !v.IsScalar()) return "";
  return v.Scalar();
}

// Dify writes booleans as true/false; anything else counts as off.
bool flag(const YAML::Node& n) {
  return n && n.IsScalar() && (n.Scalar() == "true" || n.Scalar() == "True");
}

std::string node_label(const std::string& type, const std::string& title, const std::string& id) {
  return type + " (title \"" + title + "\" id " + id + ")";
}

struct start_variable {
  std::string name;
  std::string type;
  std::optional<std::string> default_value;
};

struct code_cut {
  size_t cap = 0;
  std::string output;  // the output variable name ("result" in the seed)
  std::vector<std::string> input_selector;
};

// ---- the seed's code node: join the extracted texts, keep the first N characters ----

struct py_token {
  enum kind_t { ident, number, string, punct } kind;
  std::string text;  // identifier, number digits, decoded string, or the punctuation character(s)
};

// A small Python tokenizer: enough to recognize the seed's code, not to run anything.
bool py_tokenize(const std::string& code, std::vector<py_token>& out, std::string& why) {
  size_t i = 0;
  while (i < code.size()) {
    char c = code[i];
    if (c == '#') {
      while (i < code.size() && code[i] != '\n') ++i;
    } else if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_' ||
               static_cast<unsigned char>(c) >= 0x80) {
      size_t b = i;
      while (i < code.size() && (std::isalnum(static_cast<unsigned char>(code[i])) || code[i] == '_' ||
                                 static_cast<unsigned char>(code[i]) >= 0x80))
        ++i;
      std::string word = code.substr(b, i - b);
      // String prefixes (f"", r"", b""): f-strings could run code; refuse them.
      if (i < code.size() && (code[i] == '"' || code[i] == '\'') && word.size() <= 2) {
        if (word.find_first_of("fF") != std::string::npos) {
          why = "uses an f-string";
          return false;
        }
        continue;  // r/b/u prefix: the string follows
      }
      out.push_back({py_token::ident, word});
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      std::string digits;
      while (i < code.size() &&
             (std::isalnum(static_cast<unsigned char>(code[i])) || code[i] == '_' || code[i] == '.')) {
        if (code[i] != '_') digits += code[i];
        ++i;
      }
      out.push_back({py_token::number, digits});
    } else if (c == '"' || c == '\'') {
      bool triple = code.compare(i, 3, std::string(3, c)) == 0;
      size_t q = triple ? 3 : 1;
      i += q;
      std::string text;
      bool closed = false;
      while (i < code.size()) {
        if (code[i] == '\\' && i + 1 < code.size()) {
          char e = code[i + 1];
          text += e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e;
          i += 2;
        } else if (code.compare(i, q, std::string(q, c)) == 0) {
          i += q;
          closed = true;
          break;
        } else {
          text += code[i++];
        }
      }
      if (!closed) {
        why = "has an unterminated string";
        return false;
      }
      out.push_back({py_token::string, text});
    } else {
      std::string p(1, c);
      if (i + 1 < code.size() && ((c == '-' && code[i + 1] == '>') || (c == '=' && code[i + 1] == '=')))
        p += code[i + 1];
      out.push_back({py_token::punct, p});
      i += p.size();
    }
  }
  return true;
}

// Recognizes `"<sep>".join(<input>)[:N]`-style code (any local names, try/except allowed) and nothing
// with other calls, attributes, imports, loops or indexing. Returns the cap, or explains in `why`.
std::optional<size_t> recognize_join_and_cut(const std::string& code, const std::set<std::string>& inputs,
                                             std::string& why) {
  std::vector<py_token> t;
  if (!py_tokenize(code, t, why)) return std::nullopt;
  static const std::set<std::string> keywords = {"def",       "main", "try",  "except", "as",   "return",
                                                 "Exception", "list", "dict", "str",    "None", "join"};
  std::set<std::string> names = inputs;
  for (size_t k = 0; k + 1 < t.size(); ++k) {
    if (t[k].kind == py_token::ident && t[k + 1].kind == py_token::punct && t[k + 1].text == "=")
      names.insert(t[k].text);  // an assignment
    if (t[k].kind == py_token::ident && t[k].text == "as" && t[k + 1].kind == py_token::ident)
      names.insert(t[k + 1].text);
    if (t[k].kind == py_token::ident && t[k].text == "main" && t[k + 1].text == "(") {
      for (size_t m = k + 2; m < t.size() && t[m].text != ")"; ++m)  // parameters
        if (t[m].kind == py_token::ident && (m == k + 2 || t[m - 1].text == ",")) names.insert(t[m].text);
    }
  }
  std::optional<size_t> cap;
  std::optional<std::string> separator;
  for (size_t k = 0; k < t.size(); ++k) {
    const py_token& tok = t[k];
    if (tok.kind == py_token::ident) {
      if (!keywords.count(tok.text) && !names.count(tok.text)) {
        why = "uses `" + tok.text + "`";
        return std::nullopt;
      }
      bool attribute = k > 0 && t[k - 1].text == ".";
      if (tok.text == "join" && !attribute) {
        why = "uses `join` as a name";
        return std::nullopt;
      }
      if (attribute && tok.text != "join") {
        why = "uses `." + tok.text + "`";
        return std::nullopt;
      }
      if (attribute) {
        if (k < 2 || t[k - 2].kind != py_token::string || separator) {
          why = "joins something other than one string separator";
          return std::nullopt;
        }
        separator = t[k - 2].text;
      }
    } else if (tok.kind == py_token::punct && tok.text == "[") {
      // list[str] in an annotation, or the cut [:N] / [0:N]
      if (k + 2 < t.size() && t[k + 1].kind == py_token::ident && t[k + 2].text == "]") {
        k += 2;
        continue;
      }
      size_t m = k + 1;
      if (m < t.size() && t[m].kind == py_token::number && t[m].text == "0") ++m;
      if (m + 2 < t.size() && t[m].text == ":" && t[m + 1].kind == py_token::number && t[m + 2].text == "]" &&
          !cap) {
        const std::string& digits = t[m + 1].text;
        if (digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 12) {
          why = "cuts at " + digits;
          return std::nullopt;
        }
        cap = std::stoull(digits);
        k = m + 2;
        continue;
      }
      why = cap ? "cuts more than once" : "indexes or slices other than [:N]";
      return std::nullopt;
    } else if (tok.kind == py_token::number) {
      why = "uses the number " + tok.text + " outside the cut";
      return std::nullopt;
    } else if (tok.kind == py_token::punct && (tok.text == "*" || tok.text == "+" || tok.text == "@")) {
      why = "computes with `" + tok.text + "`";
      return std::nullopt;
    }
  }
  if (!separator) {
    why = "does not join the texts";
    return std::nullopt;
  }
  if (*separator != "\n") {
    why = "joins with a separator other than \"\\n\" (smelt joins documents with a newline)";
    return std::nullopt;
  }
  if (!cap) {
    why = "does not cut the text with [:N]";
    return std::nullopt;
  }
  return cap;
}

// ---- the whole file ----

struct loader {
  std::string name;  // the file, for messages
  YAML::Node root;
  dify_import out;

  std::string start_id;
  std::map<std::string, start_variable> start_vars;  // by variable name
  std::vector<std::string> start_order;
  std::map<std::string, std::vector<std::string>> extractors;  // id -> its variable_selector
  std::map<std::string, code_cut> codes;
  std::map<std::string, std::string> titles;  // id -> "type (title .. id ..)"
  YAML::Node llm;
  std::string llm_id;
  std::vector<std::string> problems;  // mapping errors, reported together
  bool uses_text = false;
  size_t text_cap = 0;
  std::string text_source;  // the first {{text}} source's label, so two different sources are caught

  std::string at(const YAML::Node& n) const {
    if (n && n.Mark().line >= 0) return name + ":" + std::to_string(n.Mark().line + 1);
    return name;
  }

  // What {{#id.var#}} stands for: a smelt placeholder, a literal, or a problem (nullopt).
  std::optional<std::string> resolve(const std::vector<std::string>& sel, const std::string& shown) {
    if (sel.size() < 2) {
      problems.push_back("reference " + shown + " is incomplete");
      return std::nullopt;
    }
    const std::string& id = sel[0];
    const std::string& var = sel[1];
    if (id == "sys") {
      if (var == "query") {
        out.notes.push_back(shown + " (the chat message) is given the trigger text");
        return std::string("{{trigger}}");
      }
      problems.push_back("reference " + shown + ": system variable sys." + var + " has no smelt equivalent");
      return std::nullopt;
    }
    if (id == "env") {
      for (const auto& v : root["workflow"]["environment_variables"]) {
        if (scalar(v, "name") != var) continue;
        if (scalar(v, "value_type") == "secret") {
          problems.push_back("reference " + shown + ": secret environment variables are not exported");
          return std::nullopt;
        }
        return scalar(v, "value");
      }
      problems.push_back("reference " + shown + ": no such environment variable");
      return std::nullopt;
    }
    if (id == start_id) {
      auto it = start_vars.find(var);
      if (it == start_vars.end()) {
        problems.push_back("reference " + shown + ": the start node has no variable \"" + var + "\"");
        return std::nullopt;
      }
      const start_variable& v = it->second;
      if (v.type == "file" || v.type == "file-list") {
        problems.push_back("reference " + shown + ": files reach the LLM only through a document extractor");
        return std::nullopt;
      }
      if (var == out.trigger_variable) return std::string("{{trigger}}");
      if (v.default_value) {
        out.notes.push_back("start variable \"" + var + "\" is fixed to its default \"" + *v.default_value +
                            "\"");
        return *v.default_value;
      }
      problems.push_back("reference " + shown + ": start variable \"" + var +
                         "\" has no default and only one text input (the trigger) can be given");
      return std::nullopt;
    }
    if (extractors.count(id)) {
      if (var != "text") {
        problems.push_back("reference " + shown + ": a document extractor's output is `text`");
        return std::nullopt;
      }
      return use_text(titles[id], 0);
    }
    if (auto it = codes.find(id); it != codes.end()) {
      if (var != it->second.output) {
        problems.push_back("reference " + shown + ": the code node's output is `" + it->second.output + "`");
        return std::nullopt;
      }
      return use_text(titles[id], it->second.cap);
    }
    if (id == llm_id) {
      problems.push_back("reference " + shown + ": the LLM node refers to its own output");
      return std::nullopt;
    }
    problems.push_back("reference " + shown + ": no node with id " + id);
    return std::nullopt;
  }

  std::string use_text(const std::string& source, size_t cap) {
    if (uses_text && source != text_source)
      problems.push_back("the prompt uses document text from two nodes (" + text_source + " and " + source +
                         ")");
    uses_text = true;
    text_source = source;
    text_cap = cap;
    return "{{text}}";
  }

  std::string map_template(const std::string& text, const YAML::Node& context) {
    std::string result;
    size_t i = 0;
    while (true) {
      size_t open = text.find("{{#", i);
      if (open == std::string::npos) break;
      size_t close = text.find("#}}", open + 3);
      if (close == std::string::npos) break;
      result.append(text, i, open - i);
      std::string ref = text.substr(open + 3, close - open - 3);
      std::string shown = "{{#" + ref + "#}}";
      std::vector<std::string> sel;
      if (ref == "context") {
        if (!context || !flag(context["enabled"])) {
          i = close + 3;  // Dify renders a disabled context as nothing
          continue;
        }
        for (const auto& s : context["variable_selector"]) sel.push_back(s.Scalar());
      } else {
        size_t dot = ref.find('.');
        sel = {ref.substr(0, dot), dot == std::string::npos ? "" : ref.substr(dot + 1)};
      }
      if (auto v = resolve(sel, shown)) result += *v;
      i = close + 3;
    }
    result.append(text, i, std::string::npos);
    return result;
  }

  status read_nodes(std::vector<std::string>& unsupported) {
    YAML::Node nodes = root["workflow"]["graph"]["nodes"];
    if (!nodes || !nodes.IsSequence())
      return make_error(at(root["workflow"]) + ": workflow.graph.nodes: expected a list of nodes");
    std::vector<YAML::Node> code_nodes;
    std::vector<std::string> llms;
    for (const auto& node : nodes) {
      YAML::Node data = node["data"];
      std::string id = scalar(node, "id");
      std::string type = data ? scalar(data, "type") : "";
      if (scalar(node, "type") == "custom-note" || type.empty()) continue;  // canvas notes
      std::string label = node_label(type, scalar(data, "title"), id);
      titles[id] = label;
      if (type == "start") {
        if (!start_id.empty()) return make_error(at(node) + ": two start nodes");
        start_id = id;
        for (const auto& v : data["variables"]) {
          start_variable sv{scalar(v, "variable"), scalar(v, "type"), std::nullopt};
          if (v["default"] && v["default"].IsScalar() && !v["default"].Scalar().empty())
            sv.default_value = v["default"].Scalar();
          start_order.push_back(sv.name);
          start_vars[sv.name] = sv;
        }
      } else if (type == "document-extractor") {
        std::vector<std::string> sel;
        for (const auto& s : data["variable_selector"]) sel.push_back(s.Scalar());
        extractors[id] = sel;
      } else if (type == "code") {
        code_nodes.push_back(node);
      } else if (type == "llm") {
        llms.push_back(label);
        llm = data;
        llm_id = id;
      } else if (type != "end" && type != "answer") {
        unsupported.push_back(label);
      }
    }
    for (const auto& node : code_nodes) {  // after all extractors are known
      YAML::Node data = node["data"];
      std::string id = scalar(node, "id");
      std::string why;
      code_cut cut;
      std::set<std::string> inputs;
      for (const auto& v : data["variables"]) {
        inputs.insert(scalar(v, "variable"));
        cut.input_selector.clear();
        for (const auto& s : v["value_selector"]) cut.input_selector.push_back(s.Scalar());
      }
      std::string language = scalar(data, "code_language");
      std::optional<size_t> cap;
      if (language != "python3" && !language.empty()) {
        why = "is " + language + ", not python3";
      } else if (inputs.size() != 1 || cut.input_selector.size() < 2 ||
                 !extractors.count(cut.input_selector[0]) || cut.input_selector[1] != "text") {
        why = "does not take one input from a document extractor's text";
      } else if (!data["outputs"] || !data["outputs"].IsMap() || data["outputs"].size() != 1) {
        why = "does not have exactly one output";
      } else {
        cut.output = data["outputs"].begin()->first.Scalar();
        cap = recognize_join_and_cut(scalar(data, "code"), inputs, why);
      }
      if (!cap) {
        unsupported.push_back(titles[id].substr(0, titles[id].size() - 1) + ": " + why +
                              "; smelt runs no Python, only the seed's join-and-cut code)");
        continue;
      }
      cut.cap = *cap;
      codes[id] = cut;
    }
    if (start_id.empty()) return make_error(name + ": the workflow has no start node");
    if (llms.empty()) return make_error(name + ": the workflow has no llm node, so there is nothing to ask");
    if (llms.size() > 1) {
      std::string list;
      for (const auto& l : llms) list += (list.empty() ? "" : ", ") + l;
      return make_error(name + ": smelt runs one llm node per workflow; this one has " +
                        std::to_string(llms.size()) + ": " + list);
    }
    return {};
  }

  void pick_variables() {
    for (const auto& n : start_order) {
      const start_variable& v = start_vars[n];
      if ((v.type == "file-list" || v.type == "file") && out.file_variable.empty()) out.file_variable = n;
      if ((v.type == "text-input" || v.type == "paragraph") && out.trigger_variable.empty()) {
        out.trigger_variable = n;
        out.trigger_default = v.default_value;
      }
    }
  }

  status read_llm() {
    YAML::Node model = llm["model"];
    prompt_spec& spec = out.spec;
    spec.model = scalar(model, "name");
    std::string provider = scalar(model, "provider");
    if (!provider.empty())
      out.notes.push_back("model " + spec.model + " was configured with provider " + provider +
                          "; smelt sends it to --base-url");
    for (const auto& p : model["completion_params"]) {
      std::string key = p.first.Scalar();
      const YAML::Node& v = p.second;
      try {
        if (key == "temperature")
          spec.temperature = v.as<double>();
        else if (key == "top_p")
          spec.top_p = v.as<double>();
        else if (key == "frequency_penalty")
          spec.frequency_penalty = v.as<double>();
        else if (key == "max_tokens")
          spec.max_tokens = static_cast<int>(v.as<double>());
        else
          out.notes.push_back("completion parameter " + key + " is not sent");
      } catch (const YAML::Exception&) {
        return make_error(at(v) + ": model.completion_params." + key + ": expected a number, got \"" +
                          (v.IsScalar() ? v.Scalar() : std::string("(not a scalar)")) + "\"");
      }
    }
    YAML::Node context = llm["context"];
    std::vector<std::string> system, user;
    YAML::Node tmpl = llm["prompt_template"];
    auto take = [&](const YAML::Node& item, const std::string& role) -> status {
      if (scalar(item, "edition_type") == "jinja2")
        return make_error(at(item) + ": llm prompt uses a Jinja2 template; smelt reads basic templates only");
      std::string text = map_template(scalar(item, "text"), context);
      if (role == "system")
        system.push_back(text);
      else if (role == "user")
        user.push_back(text);
      else
        return make_error(at(item) + ": llm prompt has a \"" + role +
                          "\" message; smelt's prompt is one system and one user message");
      return {};
    };
    if (tmpl.IsSequence()) {
      for (const auto& item : tmpl)
        if (auto s = take(item, scalar(item, "role")); !s) return s;
    } else if (tmpl.IsMap()) {  // completion-mode models: one text
      if (auto s = take(tmpl, "user"); !s) return s;
    } else {
      return make_error(at(llm) + ": llm node has no prompt_template");
    }
    if (llm["memory"] && llm["memory"].IsMap()) {
      out.notes.push_back("conversation memory is ignored: every request stands alone");
      std::string q = scalar(llm["memory"], "query_prompt_template");
      if (!q.empty()) user.push_back(map_template(q, context));
    }
    if (llm["vision"] && flag(llm["vision"]["enabled"]))
      out.notes.push_back("vision is ignored: smelt sends the extracted text only");
    auto joined = [](const std::vector<std::string>& parts) {
      std::string s;
      for (const auto& p : parts) s += (s.empty() ? "" : "\n\n") + p;
      return s;
    };
    spec.system_template = joined(system);
    spec.user_template = joined(user);
    return {};
  }

  void finish_spec() {
    prompt_spec& spec = out.spec;
    spec.name = scalar(root["app"], "name");
    if (spec.name.empty()) spec.name = "dify";
    spec.whole_document = true;  // a Dify workflow asks once over all the documents' text
    spec.char_cap = text_cap;
    std::string all = spec.system_template + "\n" + spec.user_template;
    spec.format = all.find("messages") != std::string::npos ? prompt_answer_format::seed_messages
                                                            : prompt_answer_format::json_fields;
    spec.require_quote =
        spec.format == prompt_answer_format::json_fields && all.find("quote") != std::string::npos;
    if (!spec.require_quote)
      out.notes.push_back("answers carry no supporting quote: the prompt asks for none");
    if (auto n = requested_count(all)) {
      spec.pairs_per_request = *n;
    } else {
      out.notes.push_back("the prompt names no question count; asking for " +
                          std::to_string(spec.pairs_per_request) + " per request");
    }
    if (text_cap == 0) out.notes.push_back("documents are joined with newlines and sent whole (no cut)");
  }

  // "10 个口语化的问题", "10 questions", "10 pairs": the first number followed within a few words by one
  // of those nouns.
  static std::optional<int> requested_count(const std::string& text) {
    static const char* const nouns[] = {"问题", "问答", "question", "Question", "pair", "Q&A"};
    for (size_t i = 0; i < text.size(); ++i) {
      if (!std::isdigit(static_cast<unsigned char>(text[i])) ||
          (i > 0 && std::isdigit(static_cast<unsigned char>(text[i - 1]))))
        continue;
      size_t j = i;
      while (j < text.size() && std::isdigit(static_cast<unsigned char>(text[j]))) ++j;
      if (j - i > 3) continue;
      std::string window = text.substr(j, 24);  // bytes: a few Chinese characters or English words
      for (const char* noun : nouns) {
        if (window.find(noun) != std::string::npos) {
          int n = std::stoi(text.substr(i, j - i));
          if (n >= 1 && n <= 200) return n;
        }
      }
    }
    return std::nullopt;
  }
};

}  // namespace

result<dify_import> dify_workflow_parse(const std::string& yaml_text, const std::string& name) {
  loader l;
  l.name = name;
  try {
    l.root = YAML::Load(yaml_text);
  } catch (const YAML::ParserException& e) {
    return make_error(name + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                      ": YAML syntax error: " + e.msg);
  } catch (const YAML::Exception& e) {
    return make_error(name + ": cannot read YAML: " + e.msg);
  }
  try {
    if (!l.root.IsMap())
      return make_error(name + ": not a Dify app export (expected a YAML mapping at the top)");
    std::string kind = scalar(l.root, "kind");
    if (!kind.empty() && kind != "app")
      return make_error(name + ": kind \"" + kind + "\": expected a Dify app export (kind: app)");
    std::string version = scalar(l.root, "version");
    if (version.size() < 3 || version.compare(0, 2, "0.") != 0 || version[2] < '1' || version[2] > '5' ||
        (version.size() > 3 && version[3] != '.'))
      l.out.notes.push_back("DSL version \"" + version + "\" is outside 0.1.x-0.5.x; read as if it were 0.5");
    std::string mode = scalar(l.root["app"], "mode");
    if (mode != "workflow" && mode != "advanced-chat")
      return make_error(l.at(l.root["app"]) + ": app.mode \"" + mode +
                        "\": smelt runs workflow and advanced-chat (chatflow) apps only");
    std::vector<std::string> unsupported;
    if (auto s = l.read_nodes(unsupported); !s) return s.err();
    if (!unsupported.empty()) {
      std::string list;
      for (const auto& u : unsupported) list += (list.empty() ? "" : ", ") + u;
      return make_error(name + ": smelt cannot run " + std::to_string(unsupported.size()) +
                        (unsupported.size() == 1 ? " node" : " nodes") + " of this workflow: " + list +
                        ". Supported: start, document-extractor, code (join the texts and keep the first N "
                        "characters), llm, end, answer");
    }
    l.pick_variables();
    if (auto s = l.read_llm(); !s) return s.err();
    if (!l.problems.empty()) {
      std::string list;
      for (const auto& p : l.problems) list += "\n  " + p;
      return make_error(name + ": the llm node's prompt cannot be mapped:" + list);
    }
    if (!l.uses_text)
      return make_error(name +
                        ": the llm node's prompt never refers to the documents' text (a document "
                        "extractor's text or the code node's result)");
    l.finish_spec();
  } catch (const YAML::Exception& e) {
    return make_error(name + ": unexpected shape in the Dify export: " + e.msg);
  }
  return std::move(l.out);
}

result<dify_import> dify_workflow_load(const std::filesystem::path& yaml_file) {
  auto text = file_read(yaml_file);
  if (!text) return text.err();
  return dify_workflow_parse(*text, yaml_file.string());
}

}  // namespace smelt
