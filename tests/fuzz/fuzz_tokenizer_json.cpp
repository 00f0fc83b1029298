// libFuzzer entry for tokenizer.json: any bytes must either load or give an error message; a
// loaded tokenizer must encode, decode and stream-decode a mixed text and the input itself.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "model/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto tok = smelt::tokenizer_parse(input, "fuzz/tokenizer.json");
  if (!tok.ok()) return tok.message().empty() ? 1 : 0;
  for (std::string_view text :
       {std::string_view("Hello  世界 <|im_start|>x\n\n 😀 12345 <s>▁"), input.substr(0, 512)}) {
    for (bool special : {false, true}) {
      auto ids = smelt::tokenizer_encode(*tok, text, special);
      (void)smelt::tokenizer_decode(*tok, ids, false);
      (void)smelt::tokenizer_decode(*tok, ids, true);
      smelt::tokenizer_decode_stream stream(*tok);
      for (int32_t id : ids) (void)stream.push(id);
      (void)stream.finish();
    }
  }
  int32_t odd[] = {-5, 0, 1, 255, 1 << 30};
  (void)smelt::tokenizer_decode(*tok, odd);
  return 0;
}
