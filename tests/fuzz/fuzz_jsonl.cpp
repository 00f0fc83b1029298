// libFuzzer entry for the chat-JSONL path: any bytes written as a .jsonl file must validate to a
// report (problems, stats) under every profile, and records reading must not crash.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>

#include "core/log.h"
#include "dataset/jsonl_reader.h"
#include "dataset/validate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/smelt-fuzz-jsonl-" + std::to_string(::getpid()) + ".jsonl";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  for (const auto& profile : smelt::validate_profiles()) {
    auto report = smelt::validate_file(path, profile);
    if (report.ok())
      for (const auto& p : report->problems) (void)smelt::problem_format(p, "fuzz.jsonl");
  }
  (void)smelt::json_records_read(path);
  return 0;
}
