// safetensors reading (mmap + header validation), sharded sets and the streaming writer.
// The byte layout is described at the top of safetensors.h. Nothing here knows model architectures.
#include "model/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include <set>
#include "core/bf16.h"

#include "core/files.h"

namespace smelt {

namespace fs = std::filesystem;
using ordered_json = nlohmann::ordered_json;

// The reference implementation refuses headers over 100 MB; so do we (a 1000-layer model's header is ~10 MB).
constexpr uint64_t k_max_header = 100'000'000;
constexpr size_t k_fill_chunk = size_t(64) << 20;

result<safetensors_file> safetensors_parse(std::unique_ptr<mapped_file> map, const std::string& source);

size_t tensor_dtype_size(tensor_dtype dtype) {
  return dtype == tensor_dtype_f32 ? 4 : 2;
}

const char* tensor_dtype_name(tensor_dtype dtype) {
  switch (dtype) {
    case tensor_dtype_bf16:
      return "BF16";
    case tensor_dtype_f16:
      return "F16";
    case tensor_dtype_f32:
      return "F32";
  }
  return "?";
}

std::string tensor_shape_string(const std::vector<int64_t>& shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

int64_t tensor_view::numel() const {
  for (int64_t d : shape)
    if (d == 0) return 0;  // before multiplying: [2^48, 2^48, 0] is a valid empty tensor
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

bool tensor_view::aligned_for_dtype() const {
  return reinterpret_cast<uintptr_t>(data) % tensor_dtype_size(dtype) == 0;
}

namespace {}  // namespace

float tensor_view::element(size_t i) const {
  if (dtype == tensor_dtype_f32) {
    float f;
    std::memcpy(&f, data + i * 4, 4);
    return f;
  }
  uint16_t h;
  std::memcpy(&h, data + i * 2, 2);
  return dtype == tensor_dtype_f16 ? f16_to_float(h) : bf16_to_float(h);
}

// ---- mapping ----

result<std::unique_ptr<mapped_file>> mapped_file::open(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return make_error(fmt::format("{}: no such file", path.string()));
    return make_error(fmt::format("{}: cannot open: {}", path.string(), std::strerror(errno)));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return make_error(fmt::format("{}: not a regular file", path.string()));
  }
  std::unique_ptr<mapped_file> m(new mapped_file());
  m->size_ = static_cast<size_t>(st.st_size);
  if (m->size_ > 0) {
    void* p = ::mmap(nullptr, m->size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      int saved = errno;
      ::close(fd);
      return make_error(fmt::format("{}: cannot map: {}", path.string(), std::strerror(saved)));
    }
    m->data_ = static_cast<const std::byte*>(p);
  }
  ::close(fd);
  return m;
}

mapped_file::~mapped_file() {
  if (data_) ::munmap(const_cast<std::byte*>(data_), size_);
}

// ---- reading ----

result<safetensors_file> safetensors_parse(std::unique_ptr<mapped_file> map, const std::string& source) {
  const size_t size = map->size();
  if (size < 8)
    return make_error(
        fmt::format("{}: truncated: {} bytes, too short for the 8-byte header length", source, size));
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = n << 8 | std::to_integer<uint64_t>(map->data()[i]);
  if (n > k_max_header)
    return make_error(fmt::format("{}: header length {} is absurd (limit {}): not a safetensors file", source,
                                  n, k_max_header));
  if (n > size - 8)
    return make_error(fmt::format("{}: header length {} runs past the end of the file ({} bytes): truncated",
                                  source, n, size));
  const char* header = reinterpret_cast<const char*>(map->data() + 8);
  ordered_json j;
  try {
    j = ordered_json::parse(header, header + n);
  } catch (const nlohmann::json::exception& e) {
    return make_error(fmt::format("{}: header is not valid JSON: {}", source, e.what()));
  }
  if (!j.is_object()) return make_error(fmt::format("{}: header is not a JSON object", source));

  const std::byte* data = map->data() + 8 + n;
  const uint64_t data_size = size - 8 - n;
  safetensors_file out;
  out.path_ = source;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& name = it.key();
    const ordered_json& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) return make_error(fmt::format("{}: __metadata__: expected an object", source));
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string())
          return make_error(fmt::format("{}: __metadata__.{}: expected a string, got {}", source, m.key(),
                                        m.value().dump()));
        out.metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    auto fail = [&](const std::string& what) {
      return make_error(fmt::format("{}: tensor '{}': {}", source, name, what));
    };
    if (!v.is_object()) return fail("expected an object with dtype, shape and data_offsets");
    if (!v.contains("dtype") || !v["dtype"].is_string()) return fail("dtype: missing or not a string");
    std::string dtype = v["dtype"].get<std::string>();
    tensor_view t;
    t.name = name;
    t.file = source;
    if (dtype == "BF16")
      t.dtype = tensor_dtype_bf16;
    else if (dtype == "F16")
      t.dtype = tensor_dtype_f16;
    else if (dtype == "F32")
      t.dtype = tensor_dtype_f32;
    else
      return fail(fmt::format("dtype {} is unsupported (supported: BF16, F16, F32)", dtype));
    if (!v.contains("shape") || !v["shape"].is_array()) return fail("shape: missing or not an array");
    if (v["shape"].size() > 8)
      return fail(fmt::format("shape has {} dimensions (at most 8)", v["shape"].size()));
    uint64_t bytes = tensor_dtype_size(t.dtype);
    bool overflow = false, empty = false;
    for (const auto& d : v["shape"]) {
      if (!d.is_number_unsigned() || d.get<uint64_t>() > (uint64_t(1) << 48))
        return fail(fmt::format("shape: {} is not a dimension (0..2^48)", d.dump()));
      uint64_t dim = d.get<uint64_t>();
      empty |= dim == 0;
      overflow |= __builtin_mul_overflow(bytes, dim, &bytes);
      t.shape.push_back(static_cast<int64_t>(dim));
    }
    if (empty) bytes = 0, overflow = false;
    const auto& off = v.contains("data_offsets") ? v["data_offsets"] : ordered_json();
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      return fail("data_offsets: expected [begin, end]");
    uint64_t begin = off[0].get<uint64_t>(), end = off[1].get<uint64_t>();
    if (begin > end) return fail(fmt::format("data_offsets [{}, {}]: begin after end", begin, end));
    if (end > data_size)
      return fail(
          fmt::format("data_offsets [{}, {}] run past the end of the data ({} bytes): truncated file?", begin,
                      end, data_size));
    if (overflow || bytes != end - begin)
      return fail(fmt::format("data_offsets [{}, {}] hold {} bytes but shape {} of {} needs {}", begin, end,
                              end - begin, tensor_shape_string(t.shape), dtype,
                              overflow ? std::string("more than 2^64") : std::to_string(bytes)));
    t.data = data + begin;
    t.size_bytes = static_cast<size_t>(end - begin);
    out.index_[name] = out.tensors_.size();
    out.tensors_.push_back(std::move(t));
  }
  out.map_ = std::move(map);
  return out;
}

result<safetensors_file> safetensors_file::open(const fs::path& path) {
  auto map = mapped_file::open(path);
  if (!map) return map.err();
  return safetensors_parse(std::move(*map), path.string());
}

const tensor_view* safetensors_file::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

// ---- sets of files ----

result<safetensors_set> safetensors_set::open_files(const std::vector<fs::path>& paths) {
  safetensors_set set;
  for (const auto& p : paths) {
    auto f = safetensors_file::open(p);
    if (!f) return f.err();
    set.files_.push_back(std::move(*f));
  }
  for (size_t fi = 0; fi < set.files_.size(); ++fi)
    for (size_t ti = 0; ti < set.files_[fi].tensors().size(); ++ti)
      set.where_.emplace(set.files_[fi].tensors()[ti].name, std::make_pair(fi, ti));
  set.source_ = paths.size() == 1 ? paths[0].string() : "";
  return set;
}

result<safetensors_set> safetensors_set::open_dir(const fs::path& dir) {
  fs::path index_path = dir / "model.safetensors.index.json";
  std::error_code ec;
  if (!fs::exists(index_path, ec)) {
    fs::path single = dir / "model.safetensors";
    if (!fs::exists(single, ec))
      return make_error(
          fmt::format("{}: no model.safetensors or model.safetensors.index.json", dir.string()));
    return open_files({single});
  }
  auto text = file_read(index_path);
  if (!text) return text.err();
  const std::string source = index_path.string();
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return make_error(fmt::format("{}: not a JSON object", source));
  if (!j.contains("weight_map") || !j["weight_map"].is_object())
    return make_error(fmt::format("{}: weight_map: missing or not an object", source));
  std::set<std::string> shard_names;
  for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
    if (!it.value().is_string())
      return make_error(fmt::format("{}: weight_map.{}: expected a file name", source, it.key()));
    std::string shard = it.value().get<std::string>();
    if (shard.empty() || shard.find('/') != std::string::npos || shard == "." || shard == "..")
      return make_error(fmt::format("{}: weight_map.{}: '{}' is not a file name in the model directory",
                                    source, it.key(), shard));
    shard_names.insert(shard);
  }
  if (shard_names.empty()) return make_error(fmt::format("{}: weight_map is empty", source));
  std::vector<fs::path> missing_shards, shard_paths;
  for (const auto& s : shard_names) {
    shard_paths.push_back(dir / s);
    if (!fs::exists(dir / s, ec)) missing_shards.push_back(s);
  }
  if (!missing_shards.empty()) {
    std::string list;
    for (const auto& m : missing_shards) list += (list.empty() ? "" : ", ") + m.string();
    return make_error(fmt::format("{}: missing shard files: {}", source, list));
  }
  auto set = open_files(shard_paths);
  if (!set) return set.err();
  std::map<std::string, size_t> shard_index;
  for (size_t i = 0; i < shard_paths.size(); ++i) shard_index[shard_paths[i].filename().string()] = i;
  for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
    size_t fi = shard_index.at(it.value().get<std::string>());
    const safetensors_file& f = set->files_[fi];
    const tensor_view* t = f.find(it.key());
    if (!t)
      return make_error(fmt::format("{}: weight_map puts tensor '{}' in {}, which has no such tensor", source,
                                    it.key(), it.value().get<std::string>()));
    set->where_[it.key()] = {fi,
                             static_cast<size_t>(t - f.tensors().data())};  // the index decides duplicates
  }
  set->source_ = source;
  return set;
}

const tensor_view* safetensors_set::find(const std::string& name) const {
  auto it = where_.find(name);
  return it == where_.end() ? nullptr : &files_[it->second.first].tensors()[it->second.second];
}

result<tensor_view> safetensors_set::get(const std::string& name, const std::vector<int64_t>& shape) const {
  const tensor_view* t = find(name);
  if (!t) return make_error(fmt::format("{}: missing tensor '{}'", source_, name));
  if (t->shape != shape)
    return make_error(fmt::format("{}: tensor '{}': shape {}, expected {}", t->file, name,
                                  tensor_shape_string(t->shape), tensor_shape_string(shape)));
  return *t;
}

std::vector<std::string> safetensors_set::names() const {
  std::vector<std::string> out;
  for (const auto& [name, where] : where_) out.push_back(name);
  return out;
}

// ---- writing ----

std::function<void(std::byte*, size_t, size_t)> safetensors_fill_bytes(const void* data, size_t size) {
  const auto* base = static_cast<const std::byte*>(data);
  return [base, size](std::byte* out, size_t offset, size_t n) {
    (void)size;
    std::memcpy(out, base + offset, n);
  };
}

namespace {

// RAII temp file descriptor: closed and unlinked unless committed.
struct temp_output {
  fs::path tmp, final_path;
  int fd = -1;
  ~temp_output() {
    if (fd >= 0) ::close(fd);
    if (!tmp.empty()) ::unlink(tmp.c_str());
  }
  status write_all(const void* p, size_t n) {
    const char* c = static_cast<const char*>(p);
    while (n > 0) {
      ssize_t w = ::write(fd, c, n);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0)
        return make_error(fmt::format("{}: write failed: {}", final_path.string(), std::strerror(errno)));
      c += w;
      n -= static_cast<size_t>(w);
    }
    return {};
  }
  status commit() {
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
      fd = -1;
      return make_error(fmt::format("{}: write failed: {}", final_path.string(), std::strerror(errno)));
    }
    fd = -1;
    if (::rename(tmp.c_str(), final_path.c_str()) != 0)
      return make_error(fmt::format("{}: cannot replace: {}", final_path.string(), std::strerror(errno)));
    tmp.clear();
    return {};
  }
};

}  // namespace

status safetensors_write(const fs::path& path, const std::vector<safetensors_write_tensor>& tensors,
                         const std::map<std::string, std::string>& metadata) {
  std::vector<size_t> order(tensors.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return tensor_dtype_size(tensors[a].dtype) > tensor_dtype_size(tensors[b].dtype);
  });
  ordered_json header = ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<uint64_t> sizes(tensors.size());
  uint64_t offset = 0;
  std::set<std::string> seen;
  for (size_t i : order) {
    const auto& t = tensors[i];
    if (t.name.empty() || t.name == "__metadata__" || !seen.insert(t.name).second)
      return make_error(
          fmt::format("{}: tensor name '{}' is empty, reserved or repeated", path.string(), t.name));
    if (!t.fill) return make_error(fmt::format("{}: tensor '{}' has no data", path.string(), t.name));
    uint64_t n = tensor_dtype_size(t.dtype);
    for (int64_t d : t.shape) {
      if (d < 0) return make_error(fmt::format("{}: tensor '{}': negative dimension", path.string(), t.name));
      n *= static_cast<uint64_t>(d);
    }
    sizes[i] = n;
    header[t.name] = {
        {"dtype", tensor_dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, offset + n}}};
    offset += n;
  }
  std::string text = header.dump();
  text.append((8 - (8 + text.size()) % 8) % 8, ' ');
  unsigned char len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(uint64_t(text.size()) >> (8 * i));

  temp_output out;
  out.final_path = path;
  out.tmp = path;
  out.tmp += fmt::format(".tmp-{}", ::getpid());
  out.fd = ::open(out.tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out.fd < 0) {
    std::string why = std::strerror(errno);
    out.tmp.clear();
    return make_error(fmt::format("{}: cannot create: {}", path.string(), why));
  }
  if (auto s = out.write_all(len, 8); !s) return s;
  if (auto s = out.write_all(text.data(), text.size()); !s) return s;
  std::vector<std::byte> buffer;
  for (size_t i : order) {
    for (uint64_t done = 0; done < sizes[i];) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(sizes[i] - done, k_fill_chunk));
      buffer.resize(n);
      tensors[i].fill(buffer.data(), static_cast<size_t>(done), n);
      if (auto s = out.write_all(buffer.data(), n); !s) return s;
      done += n;
    }
  }
  return out.commit();
}

}  // namespace smelt
