// Evaluator of a parsed chat template (jinja_parser.h). Besides the text it reports provenance:
// which output bytes came from which tracked string (message contents), and which output bytes
// were written while a loop was visiting a tracked item (a message dict). chat_template.cpp turns
// these into message spans; this file knows nothing of chat roles.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/result.h"
#include "model/jinja_parser.h"
#include "model/jinja_value.h"

namespace smelt::jinja {

struct render_input {
  std::vector<std::pair<std::string, value>> globals;  // variables and functions visible everywhere
  // Dicts whose visit by a for loop marks output as belonging to item k (the outermost such loop
  // wins). Pointers into the values passed in `globals`.
  std::vector<const value_dict*> tracked_items;
};

struct byte_hull {
  size_t begin = std::string::npos, end = 0;  // empty when begin == npos
  bool empty() const { return begin == std::string::npos; }
  void add(size_t b, size_t e) {
    if (b >= e) return;
    begin = empty() ? b : std::min(begin, b);
    end = std::max(end, e);
  }
};

struct render_output {
  std::string text;
  std::vector<source_run> runs;        // output bytes copied from tracked strings (origin = their id)
  std::vector<byte_hull> item_output;  // per tracked item: hull of the output written while visited
};

// Renders; errors read "line N: ..." (raise_exception messages included verbatim).
result<render_output> jinja_render(const program& p, const render_input& input);

// Builtins shared by the evaluator (jinja_builtins.cpp). All throw template_error on misuse.
value jinja_apply_filter(const std::string& name, const value& input, call_args& args, int line);
bool jinja_apply_test(const std::string& name, const value& input, call_args& args, int line);
// Methods of strings, dicts and lists (Python's: startswith, split, items, get ...); false when
// the object has no such method.
bool jinja_call_method(const value& object, const std::string& name, call_args& args, int line, value* out);
// namespace(), range(), raise_exception(), dict().
void jinja_add_builtin_globals(std::vector<std::pair<std::string, value>>& globals);

}  // namespace smelt::jinja
