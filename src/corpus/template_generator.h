// The offline question generator (`smelt corpus build --generator template`): for people with no
// LLM at hand. Deterministic questions from headings, definitions, numbered clauses and table rows,
// with answers quoted verbatim from the text. Clearly lower quality than an LLM: questions are
// formulaic and answers are extracts, not explanations. Quotas, dedup and output are the builder's.
#pragma once

#include <string>
#include <vector>

#include "corpus/salvage.h"
#include "extract/document.h"

namespace smelt {

enum class template_language { auto_detect, zh, en };

// Candidates from the blocks of doc whose rendered span lies in [begin, end) of
// document_render(doc, markdown).text (a chunk's range), in document order, without repeated
// questions. Every item's quote is a verbatim substring of the rendered text.
std::vector<qa_item> template_generate(const document& doc, size_t begin, size_t end,
                                       template_language language = template_language::auto_detect);

}  // namespace smelt
