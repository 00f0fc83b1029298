// HTML (and XHTML) -> document blocks, shared by the HTML, EPUB and EML extractors. A small
// tolerant tokenizer and tree builder, not a conforming HTML5 parser: it aims at the main text,
// headings, lists, tables and code of real pages. Charset detection is the caller's job.
#pragma once

#include <string>
#include <string_view>

#include "extract/document.h"

namespace smelt {

// Appends the blocks of html_utf8 to doc. Drops script, style, noscript, template, nav, header,
// footer, aside, form and svg (a <header> only outside <main>/<article>); when the page has a
// <main> (else <article>s), only that is read.
void html_to_document(std::string_view html_utf8, document& doc);

// The text of the first <title>, whitespace collapsed; empty if none.
std::string html_title(std::string_view html_utf8);

// Decodes character references (&amp; &#233; &#x4E2D; ...) in text; unknown names stay as written.
std::string html_decode_entities(std::string_view text);

// The charset declared in the first 2 KiB (<meta charset>, <meta http-equiv content=...>,
// <?xml encoding=...?>); empty if none.
std::string html_declared_charset(std::string_view html_bytes);

}  // namespace smelt
