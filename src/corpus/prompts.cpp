// The default prompt, the dify-seed preset and prompt_render(). The seed's LLM system prompt is not
// published verbatim anywhere we could read: the articles describing the workflow (ewbang.com
// "dify基于文本模型实现微调Fine-tune语料构造工作流", SiliconCloud's "4 步骤精通 LLM 微调") give its
// nodes, its code node and its parameters, but not the prompt's exact words. The seed text below is a
// faithful equivalent written from that description (role, 10 colloquial questions, answers faithful to
// the text, {"messages":[...]} JSONL with the trigger as system), not a copy.
#include "corpus/prompts.h"

#include <cctype>

namespace smelt {

namespace {

bool placeholder_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
}

const char* const default_system =
    R"(You write training data for fine-tuning a domain assistant. The assistant being trained introduces itself with this system message: "{{trigger}}".
From an excerpt of a source document you write questions that real users would ask, each answered only from the excerpt and backed by a quote copied from it.)";

const char* const default_user = R"(Document section: {{heading}}
Excerpt:
<<<
{{text}}
>>>

Write {{count}} question-answer pairs in {{language}} about this excerpt.
- Questions sound like a real user typing in a chat: colloquial, specific, self-contained. Never refer to "the text", "the excerpt", "this section" or "the document".
- Each answer says only what the excerpt says, completely and in full sentences. No outside facts, no guesses.
- "quote" is a passage copied character for character from the excerpt that supports the answer (one sentence or clause, at most about 200 characters).
- Cover different facts across the whole excerpt; no two questions ask the same thing.
- If the excerpt supports fewer than {{count}} good questions, return fewer rather than inventing.
{{avoid}}
Reply with a JSON array only, no prose and no code fence:
[{"question": "...", "answer": "...", "quote": "..."}])";

// Faithful equivalent of the seed workflow's LLM system prompt (see the file header).
const char* const seed_system =
    R"(你是一位大模型微调语料构造专家。请认真阅读下面的文档内容，站在真实用户的角度，提出 {{count}} 个口语化的问题（就像用户平时提问那样），并根据文档内容给出准确、完整的回答。

要求：
1. 问题要口语化，贴近实际使用场景，问题之间不要重复；
2. 回答必须忠于文档原文，不能编造文档中没有的内容；
3. 每条语料单独输出一行 JSON（JSONL 格式），system 的内容固定为"{{trigger}}"，不要输出任何其他内容。格式如下：
{"messages": [{"role": "system", "content": "{{trigger}}"}, {"role": "user", "content": "问题"}, {"role": "assistant", "content": "回答"}]}

文档内容：
{{text}})";

}  // namespace

std::string prompt_render(const std::string& text, const std::map<std::string, std::string>& values) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    size_t open = text.find("{{", i);
    if (open == std::string::npos) break;
    out.append(text, i, open - i);
    // {{name}} or {{ name }}; anything else (Dify's {{#node.var#}}, JSON braces) is left alone.
    size_t p = open + 2;
    while (p < text.size() && text[p] == ' ') ++p;
    size_t name_begin = p;
    while (p < text.size() && placeholder_char(text[p])) ++p;
    size_t name_end = p;
    while (p < text.size() && text[p] == ' ') ++p;
    if (name_end > name_begin && text.compare(p, 2, "}}") == 0) {
      auto it = values.find(text.substr(name_begin, name_end - name_begin));
      if (it != values.end()) {
        out += it->second;
        i = p + 2;
        continue;
      }
    }
    out += '{';  // not a placeholder; "{{{name}}}" still renders the inner one
    i = open + 1;
  }
  out.append(text, i, std::string::npos);
  return out;
}

prompt_spec corpus_prompt_default() {
  prompt_spec spec;
  spec.name = "default";
  spec.system_template = default_system;
  spec.user_template = default_user;
  spec.format = prompt_answer_format::json_fields;
  spec.temperature = 0.3;
  spec.frequency_penalty = 0.5;
  spec.max_tokens = 4096;
  spec.pairs_per_request = 10;
  spec.whole_document = false;
  spec.char_cap = 0;
  spec.require_quote = true;
  return spec;
}

prompt_spec corpus_prompt_dify_seed() {
  prompt_spec spec;
  spec.name = "dify-seed";
  // The seed's LLM node has the one system message; the document text is inside it.
  spec.system_template = seed_system;
  spec.user_template = "";
  spec.format = prompt_answer_format::seed_messages;
  spec.model = "Qwen/Qwen2.5-72B-Instruct-128K";
  spec.temperature = 0.3;
  spec.frequency_penalty = 0.5;
  spec.max_tokens = 4096;
  spec.pairs_per_request = 10;
  spec.whole_document = true;
  spec.char_cap = 80000;
  spec.require_quote = false;
  return spec;
}

std::string corpus_avoid_block(const std::vector<std::string>& questions) {
  std::string block;
  for (const auto& q : questions) {
    std::string line;
    bool space = false;
    for (char c : q) {
      if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
        space = !line.empty();
        continue;
      }
      if (space) line += ' ';
      space = false;
      line += c;
    }
    if (line.empty()) continue;
    block += "- " + line + "\n";
  }
  if (block.empty()) return "";
  return "These questions are already taken; do not ask them again or rephrase them:\n" + block;
}

}  // namespace smelt
