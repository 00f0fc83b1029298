// safetensors weight files: a memory-mapped reader (one file, or the shards named by
// model.safetensors.index.json) and a streaming writer. Only BF16/F16/F32 tensors are accepted.
// Which tensors a model needs and their shapes is model_dir.h's business; numbers are never converted here.
//
// File layout (little-endian):
//   u64 N                      header length in bytes
//   N bytes of JSON            {"NAME": {"dtype": "BF16", "shape": [d0, d1], "data_offsets": [begin, end]},
//                               ..., "__metadata__": {"key": "string value"}}  (may be padded with spaces)
//   data                       tensor bytes; offsets are relative to the byte after the header,
//                              row-major, little-endian; end - begin == prod(shape) * sizeof(dtype)
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"

namespace smelt {

enum tensor_dtype { tensor_dtype_bf16, tensor_dtype_f16, tensor_dtype_f32 };

size_t tensor_dtype_size(tensor_dtype dtype);
const char* tensor_dtype_name(tensor_dtype dtype);  // "BF16", "F16", "F32" (the file's spelling)

// A tensor inside a mapped file. DATA points into the mapping (valid while its safetensors_file
// lives) and is only as aligned as the file makes it: files from other writers may put an F32
// tensor at an odd offset, so read through memcpy unless aligned_for_dtype() says otherwise.
struct tensor_view {
  std::string name;
  tensor_dtype dtype = tensor_dtype_bf16;
  std::vector<int64_t> shape;
  const std::byte* data = nullptr;
  size_t size_bytes = 0;
  std::string file;  // the file it lives in, for error messages

  int64_t numel() const;
  bool aligned_for_dtype() const;
  // Element I as float (BF16/F16 widened), for tests and small tensors.
  float element(size_t i) const;
};

std::string tensor_shape_string(const std::vector<int64_t>& shape);  // "[896, 151936]"

// Read-only mmap of a whole file; unmapped on destruction.
class mapped_file {
 public:
  static result<std::unique_ptr<mapped_file>> open(const std::filesystem::path& path);
  ~mapped_file();
  mapped_file(const mapped_file&) = delete;
  mapped_file& operator=(const mapped_file&) = delete;
  const std::byte* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  mapped_file() = default;
  const std::byte* data_ = nullptr;
  size_t size_ = 0;
};

// One .safetensors file, header validated on open: every tensor's dtype known, shape sane, offsets
// inside the file and matching shape * dtype size. Overlapping or out-of-order tensors are accepted.
class safetensors_file {
 public:
  static result<safetensors_file> open(const std::filesystem::path& path);

  const std::vector<tensor_view>& tensors() const { return tensors_; }  // in header order
  const tensor_view* find(const std::string& name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  friend result<safetensors_file> safetensors_parse(std::unique_ptr<mapped_file> map,
                                                    const std::string& source);
  std::filesystem::path path_;
  std::unique_ptr<mapped_file> map_;  // tensor data points into it
  std::vector<tensor_view> tensors_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

// All weights of a model dir: model.safetensors, or the shards listed by model.safetensors.index.json
// (each shard opened once; every tensor must be in the shard the index names).
class safetensors_set {
 public:
  static result<safetensors_set> open_dir(const std::filesystem::path& dir);
  static result<safetensors_set> open_files(const std::vector<std::filesystem::path>& files);

  const tensor_view* find(const std::string& name) const;
  // The tensor NAME with exactly SHAPE, or an error naming the tensor, the file and both shapes.
  result<tensor_view> get(const std::string& name, const std::vector<int64_t>& shape) const;
  std::vector<std::string> names() const;
  const std::vector<safetensors_file>& files() const { return files_; }
  const std::string& source() const { return source_; }  // the file or index named in errors

 private:
  std::vector<safetensors_file> files_;
  std::map<std::string, std::pair<size_t, size_t>> where_;  // name -> (file, tensor)
  std::string source_;
};

// One tensor to write. FILL produces bytes [offset, offset + size) of its data; it is called in
// order with chunks of at most 64 MiB, so huge tensors never sit in memory whole.
struct safetensors_write_tensor {
  std::string name;
  tensor_dtype dtype = tensor_dtype_bf16;
  std::vector<int64_t> shape;
  std::function<void(std::byte* out, size_t offset, size_t size)> fill;
};

// FILL for bytes already in memory (must outlive the write).
std::function<void(std::byte*, size_t, size_t)> safetensors_fill_bytes(const void* data, size_t size);

// Writes PATH atomically (temp file, fsync, rename). Tensors are stored in the given order,
// contiguous without holes (as the reference implementation requires); the header is padded
// with spaces so the data starts 8-byte aligned, and wider dtypes are placed first so every
// tensor is aligned to its element size.
status safetensors_write(const std::filesystem::path& path,
                         const std::vector<safetensors_write_tensor>& tensors,
                         const std::map<std::string, std::string>& metadata = {});

}  // namespace smelt
