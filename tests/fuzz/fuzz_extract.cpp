// libFuzzer entry for one extractor (SMELT_FUZZ_FORMAT): any bytes must give a document or an
// error value, never a crash, hang or sanitizer report.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/log.h"
#include "extract/extract.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static bool quiet = (smelt::log_set_level(smelt::log_level::quiet), true);
  (void)quiet;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto doc = smelt::extract_bytes(bytes, "fuzz-input", SMELT_FUZZ_FORMAT);
  if (doc.ok()) {
    auto rendered = smelt::document_render(*doc, smelt::render_format::markdown);
    (void)smelt::document_to_json(*doc).dump();
  }
  return 0;
}
