// One function per format, each in its own extract_<format>.cpp. Internal to the extract module:
// callers use extract.h. Each takes the file's bytes and a name for messages.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"
#include "extract/document.h"

namespace smelt {

result<document> extract_pdf(std::string_view bytes, const std::string& name);
result<document> extract_docx(std::string_view bytes, const std::string& name);
result<document> extract_pptx(std::string_view bytes, const std::string& name);
result<document> extract_xlsx(std::string_view bytes, const std::string& name);
result<document> extract_csv(std::string_view bytes, const std::string& name);
result<document> extract_epub(std::string_view bytes, const std::string& name);
result<document> extract_html(std::string_view bytes, const std::string& name);
result<document> extract_markdown(std::string_view bytes, const std::string& name);
result<document> extract_txt(std::string_view bytes, const std::string& name);
result<document> extract_eml(std::string_view bytes, const std::string& name);

}  // namespace smelt
