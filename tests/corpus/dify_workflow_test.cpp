// Dify app exports -> prompt_spec: the seed-like workflow (tests/corpus/dify/seed.yml), a chatflow with
// context/env/default variables, every unsupported node listed at once, YAML syntax errors with
// file:line:column, and the mapping errors a user can cause (exact messages).
#include "corpus/dify_workflow.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "support/test_support.h"

namespace smelt {
namespace {

std::filesystem::path fixture(const std::string& name) {
  return test::source_path("tests/corpus/dify/" + name);
}

bool has_note(const dify_import& d, const std::string& needle) {
  return std::any_of(d.notes.begin(), d.notes.end(),
                     [&](const std::string& n) { return n.find(needle) != std::string::npos; });
}

// A minimal workflow around one LLM node; `llm_data` is the llm node's data (indented 8 spaces).
std::string workflow_with_llm(const std::string& llm_data, const std::string& extra_nodes = "") {
  return "app:\n  mode: workflow\n  name: t\nkind: app\nversion: 0.1.5\nworkflow:\n  graph:\n    nodes:\n"
         "    - id: s\n      data:\n        type: start\n        title: Start\n        variables:\n"
         "        - {variable: files, type: file-list}\n        - {variable: trigger, type: text-input}\n"
         "    - id: x\n      data:\n        type: document-extractor\n        title: Extract\n"
         "        variable_selector: [s, files]\n"
         "    - id: l\n      data:\n        type: llm\n        title: LLM\n" +
         llm_data + extra_nodes;
}

TEST(dify_workflow, seed_export_maps_to_the_seed_spec) {
  auto r = dify_workflow_load(fixture("seed.yml"));
  ASSERT_TRUE(r.ok()) << r.message();
  const prompt_spec& s = r->spec;
  EXPECT_EQ(s.name, "Fine-tune 语料构造器");
  EXPECT_EQ(s.model, "Qwen/Qwen2.5-72B-Instruct-128K");
  EXPECT_EQ(s.temperature, 0.3);
  EXPECT_EQ(s.frequency_penalty, 0.5);
  EXPECT_EQ(s.max_tokens, 4096);
  EXPECT_FALSE(s.top_p.has_value());
  EXPECT_TRUE(s.whole_document);
  EXPECT_EQ(s.char_cap, 80000u);
  EXPECT_EQ(s.pairs_per_request, 10);
  EXPECT_EQ(s.format, prompt_answer_format::seed_messages);
  EXPECT_FALSE(s.require_quote);
  EXPECT_EQ(
      s.system_template,
      "你是一位微调语料构造专家。请阅读下面的文档内容，提出 10 个口语化的问题，并给出忠于原文的回答。\n"
      "每条语料输出一行 JSON：{\"messages\": [{\"role\": \"system\", \"content\": \"{{trigger}}\"}, "
      "{\"role\": \"user\", \"content\": \"问题\"}, {\"role\": \"assistant\", \"content\": \"回答\"}]}\n\n"
      "文档内容：\n{{text}}");
  EXPECT_EQ(s.user_template, "");
  EXPECT_EQ(r->file_variable, "attachments");
  EXPECT_EQ(r->trigger_variable, "trigger");
  EXPECT_FALSE(r->trigger_default.has_value());
  EXPECT_TRUE(has_note(*r, "provider siliconflow"));
}

TEST(dify_workflow, chatflow_context_env_defaults_and_params) {
  auto r = dify_workflow_load(fixture("chatflow.yml"));
  ASSERT_TRUE(r.ok()) << r.message();
  const prompt_spec& s = r->spec;
  EXPECT_EQ(s.name, "QA builder");
  EXPECT_EQ(s.model, "gpt-4o-mini");
  EXPECT_EQ(s.temperature, 0.2);
  EXPECT_EQ(s.top_p, 0.9);
  EXPECT_FALSE(s.frequency_penalty.has_value());
  EXPECT_EQ(s.max_tokens, 2048);
  EXPECT_EQ(s.system_template,
            "Domain: fire safety. Style: plain.\n"
            "Write 5 questions with answers and a \"quote\" from the text below, as a JSON array.\n"
            "<text>\n{{text}}\n</text>");
  EXPECT_EQ(s.user_template, "{{trigger}}");  // memory's query template {{#sys.query#}}
  EXPECT_EQ(s.pairs_per_request, 5);
  EXPECT_EQ(s.format, prompt_answer_format::json_fields);
  EXPECT_TRUE(s.require_quote);
  EXPECT_TRUE(s.whole_document);
  EXPECT_EQ(s.char_cap, 0u);
  EXPECT_EQ(r->file_variable, "docs");
  EXPECT_EQ(r->trigger_variable, "persona");
  EXPECT_EQ(r->trigger_default, "You are a fire safety expert.");
  EXPECT_TRUE(has_note(*r, "completion parameter presence_penalty is not sent"));
  EXPECT_TRUE(has_note(*r, "start variable \"style\" is fixed to its default \"plain\""));
  EXPECT_TRUE(has_note(*r, "conversation memory is ignored"));
  EXPECT_TRUE(has_note(*r, "documents are joined with newlines and sent whole"));
}

TEST(dify_workflow, unknown_nodes_are_all_listed) {
  auto r = dify_workflow_load(fixture("unknown_nodes.yml"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(),
            fixture("unknown_nodes.yml").string() +
                ": smelt cannot run 5 nodes of this workflow: "
                "http-request (title \"查询资料\" id 1718000000002), "
                "knowledge-retrieval (title \"知识库检索\" id 1718000000003), "
                "if-else (title \"条件分支\" id 1718000000005), "
                "iteration (title \"逐段生成\" id 1718000000006), "
                "code (title \"清洗文本\" id 1718000000004: uses `import`; smelt runs no Python, only the "
                "seed's join-and-cut code). Supported: start, document-extractor, code (join the texts and "
                "keep the first N characters), llm, end, answer");
}

TEST(dify_workflow, yaml_syntax_error_names_line_and_column) {
  // malformed.yml line 12 opens a flow list that is never closed; the parser notices at line 13.
  auto r = dify_workflow_load(fixture("malformed.yml"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(),
            fixture("malformed.yml").string() + ":13:7: YAML syntax error: end of sequence flow not found");
}

TEST(dify_workflow, missing_file_is_an_error_naming_it) {
  auto r = dify_workflow_load(fixture("no_such.yml"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.message().find("no_such.yml"), std::string::npos) << r.message();
}

TEST(dify_workflow, chat_app_mode_is_refused) {
  auto r = dify_workflow_parse("app:\n  mode: chat\n  name: bot\nkind: app\nversion: 0.1.5\n", "bot.yml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(),
            "bot.yml:2: app.mode \"chat\": smelt runs workflow and advanced-chat (chatflow) apps only");
}

TEST(dify_workflow, not_a_mapping) {
  auto r = dify_workflow_parse("- just\n- a list\n", "list.yml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), "list.yml: not a Dify app export (expected a YAML mapping at the top)");
}

TEST(dify_workflow, direct_extractor_reference_and_user_message) {
  auto r =
      dify_workflow_parse(workflow_with_llm("        model: {name: m, completion_params: {temperature: 1}}\n"
                                            "        prompt_template:\n"
                                            "        - {role: system, text: 'You are {{#s.trigger#}}'}\n"
                                            "        - {role: user, text: 'Text: {{#x.text#}}'}\n"),
                          "t.yml");
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->spec.system_template, "You are {{trigger}}");
  EXPECT_EQ(r->spec.user_template, "Text: {{text}}");
  EXPECT_EQ(r->spec.temperature, 1.0);
  EXPECT_EQ(r->spec.char_cap, 0u);
  EXPECT_EQ(r->spec.pairs_per_request, 10);
  EXPECT_TRUE(has_note(*r, "the prompt names no question count"));
}

TEST(dify_workflow, mapping_problems_are_listed_together) {
  auto r =
      dify_workflow_parse(workflow_with_llm("        model: {name: m}\n"
                                            "        prompt_template:\n"
                                            "        - role: system\n"
                                            "          text: '{{#x.text#}} {{#s.files#}} {{#s.nope#}} "
                                            "{{#sys.user_id#}} {{#zz.out#}} {{#l.text#}} {{#env.k#}}'\n"),
                          "t.yml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(),
            "t.yml: the llm node's prompt cannot be mapped:\n"
            "  reference {{#s.files#}}: files reach the LLM only through a document extractor\n"
            "  reference {{#s.nope#}}: the start node has no variable \"nope\"\n"
            "  reference {{#sys.user_id#}}: system variable sys.user_id has no smelt equivalent\n"
            "  reference {{#zz.out#}}: no node with id zz\n"
            "  reference {{#l.text#}}: the LLM node refers to its own output\n"
            "  reference {{#env.k#}}: no such environment variable");
}

TEST(dify_workflow, prompt_without_document_text_is_refused) {
  auto r = dify_workflow_parse(
      workflow_with_llm(
          "        model: {name: m}\n        prompt_template:\n        - {role: system, text: hi}\n"),
      "t.yml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(
      r.message(),
      "t.yml: the llm node's prompt never refers to the documents' text (a document extractor's text or "
      "the code node's result)");
}

TEST(dify_workflow, assistant_example_message_is_refused) {
  auto r = dify_workflow_parse(workflow_with_llm("        model: {name: m}\n        prompt_template:\n"
                                                 "        - {role: system, text: '{{#x.text#}}'}\n"
                                                 "        - {role: assistant, text: example}\n"),
                               "t.yml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(
      r.message(),
      "t.yml:28: llm prompt has a \"assistant\" message; smelt's prompt is one system and one user message");
}

TEST(dify_workflow, bad_completion_param_names_its_line) {
  auto r = dify_workflow_parse(
      workflow_with_llm("        model:\n          name: m\n          completion_params:\n"
                        "            temperature: warm\n"
                        "        prompt_template:\n"
                        "        - {role: system, text: '{{#x.text#}}'}\n"),
      "t.yml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), "t.yml:28: model.completion_params.temperature: expected a number, got \"warm\"");
}

TEST(dify_workflow, two_llm_nodes_are_refused) {
  auto r = dify_workflow_parse(
      workflow_with_llm(
          "        model: {name: m}\n        prompt_template: [{role: system, text: '{{#x.text#}}'}]\n",
          "    - id: l2\n      data: {type: llm, title: Second}\n"),
      "t.yml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(),
            "t.yml: smelt runs one llm node per workflow; this one has 2: llm (title \"LLM\" id l), "
            "llm (title \"Second\" id l2)");
}

// The code recognizer: the seed's shape in other spellings is accepted, anything that computes more is not.
std::string with_code(const std::string& code) {
  std::string escaped;
  for (char c : code) {
    if (c == '\\' || c == '"') escaped += '\\';
    if (c == '\n') {
      escaped += "\\n";
      continue;
    }
    escaped += c;
  }
  return workflow_with_llm(
      "        model: {name: m}\n        prompt_template: [{role: user, text: '{{#c.result#}}'}]\n",
      "    - id: c\n      data:\n        type: code\n        title: Code\n"
      "        code_language: python3\n        code: \"" +
          escaped +
          "\"\n        outputs: {result: {type: string}}\n"
          "        variables: [{variable: parts, value_selector: [x, text]}]\n");
}

TEST(dify_workflow, code_join_and_cut_variants_are_recognized) {
  auto r = dify_workflow_parse(
      with_code(
          "def main(parts: list[str]) -> dict:\n    return {\"result\": \"\\n\".join(parts)[0:12_000]}\n"),
      "t.yml");
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->spec.char_cap, 12000u);
  EXPECT_EQ(r->spec.user_template, "{{text}}");
}

TEST(dify_workflow, code_that_does_more_is_refused_with_the_reason) {
  struct probe {
    std::string code;
    std::string why;
  };
  std::vector<probe> probes = {
      {"def main(parts: list) -> dict:\n    return {'result': ' '.join(parts)[:100]}\n",
       "joins with a separator other than \"\\n\" (smelt joins documents with a newline)"},
      {"def main(parts: list) -> dict:\n    return {'result': '\\n'.join(parts).upper()[:100]}\n",
       "uses `upper`"},
      {"def main(parts: list) -> dict:\n    return {'result': '\\n'.join(parts)}\n",
       "does not cut the text with [:N]"},
      {"def main(parts: list) -> dict:\n    return {'result': '\\n'.join(parts[1:])[:100]}\n",
       "indexes or slices other than [:N]"},
      {"def main(parts: list) -> dict:\n    return {'result': f'{parts}'[:100]}\n", "uses an f-string"},
      {"def main(parts: list) -> dict:\n    return {'result': '\\n'.join(parts)[:100] * 2}\n",
       "computes with `*`"},
  };
  for (const auto& p : probes) {
    auto r = dify_workflow_parse(with_code(p.code), "t.yml");
    ASSERT_FALSE(r.ok()) << p.code;
    EXPECT_NE(r.message().find("code (title \"Code\" id c: " + p.why + "; smelt runs no Python"),
              std::string::npos)
        << r.message();
  }
}

}  // namespace
}  // namespace smelt

namespace smelt {
namespace {

TEST(dify_workflow, odd_shapes_give_errors_not_crashes) {
  const std::vector<std::string> inputs = {
      "",
      "app: {mode: workflow}\n",
      "app: {mode: workflow}\nworkflow: 3\n",
      "app: {mode: workflow}\nworkflow: {graph: {nodes: [3, [1], {data: 4}]}}\n",
      "app: {mode: workflow}\nworkflow: {graph: {nodes: [{id: s, data: {type: start, variables: 5}}]}}\n",
      "app: {mode: workflow}\nworkflow: {graph: {nodes: [{id: s, data: {type: start}}, {id: l, data: {type: "
      "llm, "
      "prompt_template: 7, context: {enabled: maybe}}}]}}\n",
      "app: {mode: workflow}\nworkflow: {graph: {nodes: [{id: s, data: {type: start}}, {id: l, data: {type: "
      "llm, "
      "context: {enabled: maybe, variable_selector: [a, b]}, prompt_template: [{role: system, text: "
      "'{{#context#}}'}]}}]}}\n",
      "kind: plugin\n",
  };
  for (const auto& text : inputs) {
    auto r = dify_workflow_parse(text, "odd.yml");
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.message().substr(0, 7), "odd.yml") << r.message();
  }
}

}  // namespace
}  // namespace smelt
