// Reads a Dify app export (YAML DSL 0.1.x-0.5.x, app.mode workflow or advanced-chat) into a prompt_spec
// so `smelt corpus build --dify-workflow FILE` runs it natively. Understood nodes: start, document-extractor,
// code (only the seed's "join the texts, keep the first N characters" node), one llm, end, answer.
// Everything else is an error listing each unsupported node. Running the spec is the builder's job.
//
// Dify variable references {{#<node_id>.<var>#}} in the LLM prompt become smelt placeholders by what
// they point at: the start node's text input -> {{trigger}}, the document extractor's text or the
// join-and-cut code node's output -> {{text}} (the code node's cut -> char_cap), other start variables
// with a default -> that literal, {{#context#}} -> whatever the LLM node's context setting points at.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "corpus/prompt_spec.h"

namespace smelt {

struct dify_import {
  prompt_spec spec;
  std::string file_variable;     // the start node's file-list variable that DOCS stand for ("" if none)
  std::string trigger_variable;  // the start node's text variable that --trigger stands for ("" if none)
  std::optional<std::string> trigger_default;  // that variable's default value, when the export has one
  std::vector<std::string> notes;  // what was mapped loosely or ignored, one line each, for the log
};

// Errors name the file: YAML syntax as "FILE:LINE:COLUMN: message", DSL problems as "FILE: ...".
result<dify_import> dify_workflow_load(const std::filesystem::path& yaml_file);

// The same from text already read; `name` stands for the file in messages.
result<dify_import> dify_workflow_parse(const std::string& yaml_text, const std::string& name);

}  // namespace smelt
