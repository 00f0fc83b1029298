// libFuzzer entry for the safetensors readers: any bytes, read as model.safetensors and as a
// model.safetensors.index.json (beside one valid shard), must give a set or an error, never a crash;
// every byte of every accepted tensor is read so out-of-bounds offsets show up under ASan.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "model/safetensors.h"

namespace {

namespace fs = std::filesystem;

void write(const fs::path& p, const void* data, size_t size) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
}

void touch_all(const smelt::safetensors_set& set) {
  volatile unsigned sink = 0;
  for (const auto& name : set.names()) {
    const smelt::tensor_view* t = set.find(name);
    for (size_t i = 0; i < t->size_bytes; ++i) sink = sink + std::to_integer<unsigned>(t->data[i]);
    if (t->numel() > 0) (void)t->element(static_cast<size_t>(t->numel() - 1));
    (void)set.get(name, t->shape);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const fs::path root =
      fs::temp_directory_path() / ("smelt-fuzz-safetensors-" + std::to_string(::getpid()));
  static const bool ready = [] {
    fs::create_directories(root / "single");
    fs::create_directories(root / "sharded");
    // One valid shard for fuzzed indexes to point at: {"w": F32 [2]}.
    const std::string header = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
    std::string bytes(8, '\0');
    bytes[0] = static_cast<char>(header.size());
    bytes += header + std::string(8, '\0');
    write(root / "sharded" / "model-00001-of-00001.safetensors", bytes.data(), bytes.size());
    return true;
  }();
  (void)ready;
  write(root / "single" / "model.safetensors", data, size);
  if (auto set = smelt::safetensors_set::open_dir(root / "single"); set.ok()) touch_all(*set);
  write(root / "sharded" / "model.safetensors.index.json", data, size);
  if (auto set = smelt::safetensors_set::open_dir(root / "sharded"); set.ok()) touch_all(*set);
  return 0;
}
