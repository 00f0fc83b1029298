// Tests for model/safetensors: writer/reader round trip, each kind of corrupt file (exact error
// text), sharded sets, and a cross-check of written files by an independent JS reader
// (tests/tools/safetensors_inspect.mjs) that applies the reference implementation's rules.
#include "model/safetensors.h"

#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "support/test_support.h"

namespace smelt {
namespace {

namespace fs = std::filesystem;
using test::temp_dir;

// A raw file: 8-byte length (HEADER's size unless LENGTH is given), HEADER, DATA.
void write_raw(const fs::path& p, const std::string& header, const std::string& data,
               std::optional<uint64_t> length = std::nullopt) {
  uint64_t n = length.value_or(header.size());
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>(n >> (8 * i));
  test::write_file(p, bytes + header + data);
}

std::string open_error(const fs::path& p) {
  auto f = safetensors_file::open(p);
  EXPECT_FALSE(f.ok());
  return f.ok() ? "" : f.message();
}

std::string inspect_json(const fs::path& file) {
  auto r =
      test::run_shell("node " + test::shell_quote(test::source_path("tests/tools/safetensors_inspect.mjs")) +
                      " " + test::shell_quote(file));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

struct sample_tensors {
  std::vector<float> f32 = {1.5f, -2.25f, 3.0f, 0.0f, 1e-3f, -7.0f};
  std::vector<uint16_t> bf16 = {0x3f80, 0xbf80, 0x4000, 0x3e80};  // 1, -1, 2, 0.25
  std::vector<uint16_t> f16 = {0x3c00, 0xc000, 0x3800};           // 1, -2, 0.5
  std::vector<safetensors_write_tensor> specs() const {
    // bf16 first in the list: the writer still puts the 4-byte dtype first for alignment.
    return {{"b.bf16", tensor_dtype_bf16, {2, 2}, safetensors_fill_bytes(bf16.data(), bf16.size() * 2)},
            {"c.f16", tensor_dtype_f16, {3}, safetensors_fill_bytes(f16.data(), f16.size() * 2)},
            {"a.f32", tensor_dtype_f32, {2, 3}, safetensors_fill_bytes(f32.data(), f32.size() * 4)}};
  }
};

TEST(safetensors, round_trip) {
  temp_dir dir;
  sample_tensors s;
  ASSERT_TRUE(safetensors_write(dir / "w.safetensors", s.specs(), {{"format", "pt"}}).ok());
  auto f = safetensors_file::open(dir / "w.safetensors");
  ASSERT_TRUE(f.ok()) << f.message();
  EXPECT_EQ(f->metadata().at("format"), "pt");
  ASSERT_EQ(f->tensors().size(), 3u);
  EXPECT_EQ(f->tensors()[0].name, "a.f32");  // widest dtype first
  const tensor_view* a = f->find("a.f32");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->dtype, tensor_dtype_f32);
  EXPECT_EQ(a->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(a->numel(), 6);
  EXPECT_TRUE(a->aligned_for_dtype());
  for (size_t i = 0; i < s.f32.size(); ++i) EXPECT_EQ(a->element(i), s.f32[i]);
  const tensor_view* b = f->find("b.bf16");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->element(0), 1.0f);
  EXPECT_EQ(b->element(1), -1.0f);
  EXPECT_EQ(b->element(2), 2.0f);
  EXPECT_EQ(b->element(3), 0.25f);
  const tensor_view* c = f->find("c.f16");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->element(0), 1.0f);
  EXPECT_EQ(c->element(1), -2.0f);
  EXPECT_EQ(c->element(2), 0.5f);
  EXPECT_EQ(f->find("nope"), nullptr);
  // The data section starts 8-byte aligned.
  std::string bytes = test::read_file(dir / "w.safetensors");
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ((8 + n) % 8, 0u);
  EXPECT_EQ(bytes.size(), 8 + n + 24 + 8 + 6);
}

TEST(safetensors, independent_reader_agrees) {
  temp_dir dir;
  sample_tensors s;
  ASSERT_TRUE(safetensors_write(dir / "w.safetensors", s.specs(), {{"format", "pt"}}).ok());
  auto j = nlohmann::json::parse(inspect_json(dir / "w.safetensors"));
  EXPECT_EQ(j["problems"], nlohmann::json::array()) << j.dump();
  EXPECT_EQ(j["metadata"]["format"], "pt");
  auto f = safetensors_file::open(dir / "w.safetensors");
  ASSERT_TRUE(f.ok());
  ASSERT_EQ(j["tensors"].size(), f->tensors().size());
  for (const auto& t : j["tensors"]) {
    const tensor_view* v = f->find(t["name"]);
    ASSERT_NE(v, nullptr) << t.dump();
    EXPECT_EQ(t["dtype"], tensor_dtype_name(v->dtype));
    EXPECT_EQ(t["shape"].get<std::vector<int64_t>>(), v->shape);
    EXPECT_EQ(t["end"].get<size_t>() - t["begin"].get<size_t>(), v->size_bytes);
    double sum = 0;
    for (int64_t i = 0; i < v->numel(); ++i) sum += v->element(i);
    EXPECT_EQ(t["sum"].get<double>(), sum) << v->name;
  }
}

TEST(safetensors, big_tensor_streams_in_chunks) {
  // 40M bf16 elements = 80 MB: more than one 64 MiB fill chunk.
  temp_dir dir;
  const size_t n = 40'000'000;
  std::vector<size_t> calls;
  safetensors_write_tensor t{
      "big", tensor_dtype_bf16, {static_cast<int64_t>(n)}, [&](std::byte* out, size_t offset, size_t size) {
        calls.push_back(offset);
        for (size_t i = 0; i < size; i += 2) {
          uint16_t v = static_cast<uint16_t>((offset + i) / 2 % 1000);
          std::memcpy(out + i, &v, 2);
        }
      }};
  ASSERT_TRUE(safetensors_write(dir / "big.safetensors", {t}).ok());
  EXPECT_EQ(calls, (std::vector<size_t>{0, size_t(64) << 20}));
  auto f = safetensors_file::open(dir / "big.safetensors");
  ASSERT_TRUE(f.ok()) << f.message();
  const tensor_view* v = f->find("big");
  ASSERT_NE(v, nullptr);
  uint16_t last;
  std::memcpy(&last, v->data + (n - 1) * 2, 2);
  EXPECT_EQ(last, (n - 1) % 1000);
}

TEST(safetensors, corrupt_files_name_file_and_tensor) {
  temp_dir dir;
  fs::path p = dir / "bad.safetensors";
  const std::string ok_header = R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";

  test::write_file(p, "abc");
  EXPECT_EQ(open_error(p), p.string() + ": truncated: 3 bytes, too short for the 8-byte header length");

  write_raw(p, ok_header, std::string(8, '\0'), 1ull << 40);
  EXPECT_EQ(open_error(p),
            p.string() + ": header length 1099511627776 is absurd (limit 100000000): not a safetensors file");

  write_raw(p, ok_header, "", ok_header.size() + 100);
  EXPECT_EQ(open_error(p), p.string() + ": header length " + std::to_string(ok_header.size() + 100) +
                               " runs past the end of the file (" + std::to_string(8 + ok_header.size()) +
                               " bytes): truncated");

  // Truncated data: the header promises 8 bytes, 5 are there.
  write_raw(p, ok_header, std::string(5, '\0'));
  EXPECT_EQ(open_error(p),
            p.string() +
                ": tensor 't': data_offsets [0, 8] run past the end of the data (5 bytes): truncated file?");

  write_raw(p, R"({"t":{"dtype":"F32",)", "");
  EXPECT_EQ(open_error(p).rfind(p.string() + ": header is not valid JSON: ", 0), 0u);

  write_raw(p, "[1,2]", "");
  EXPECT_EQ(open_error(p), p.string() + ": header is not a JSON object");

  write_raw(p, R"({"ids":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})", std::string(8, '\0'));
  EXPECT_EQ(open_error(p),
            p.string() + ": tensor 'ids': dtype I64 is unsupported (supported: BF16, F16, F32)");

  write_raw(p, R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})", std::string(8, '\0'));
  EXPECT_EQ(open_error(p),
            p.string() +
                ": tensor 't': data_offsets [8, 16] run past the end of the data (8 bytes): truncated file?");

  write_raw(p, R"({"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", std::string(8, '\0'));
  EXPECT_EQ(open_error(p),
            p.string() + ": tensor 't': data_offsets [0, 8] hold 8 bytes but shape [3] of F32 needs 12");

  write_raw(p, R"({"t":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})",
            std::string(8, '\0'));
  EXPECT_EQ(open_error(p),
            p.string() +
                ": tensor 't': data_offsets [0, 8] hold 8 bytes but shape [4294967296, 4294967296] of "
                "F32 needs more than 2^64");

  write_raw(p, R"({"t":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", std::string(8, '\0'));
  EXPECT_EQ(open_error(p), p.string() + ": tensor 't': shape: -2 is not a dimension (0..2^48)");

  write_raw(p, R"({"t":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", std::string(8, '\0'));
  EXPECT_EQ(open_error(p), p.string() + ": tensor 't': data_offsets [8, 0]: begin after end");

  write_raw(p, R"({"t":{"dtype":"F32","shape":[2]}})", std::string(8, '\0'));
  EXPECT_EQ(open_error(p), p.string() + ": tensor 't': data_offsets: expected [begin, end]");

  write_raw(p, R"({"__metadata__":{"format":1}})", "");
  EXPECT_EQ(open_error(p), p.string() + ": __metadata__.format: expected a string, got 1");

  EXPECT_EQ(open_error(dir / "absent.safetensors"), (dir / "absent.safetensors").string() + ": no such file");
}

TEST(safetensors, overlapping_and_unordered_tensors_are_read) {
  temp_dir dir;
  fs::path p = dir / "overlap.safetensors";
  float data[3] = {1.0f, 2.0f, 3.0f};
  write_raw(p,
            R"({"late":{"dtype":"F32","shape":[2],"data_offsets":[4,12]},)"
            R"("early":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
            R"("empty":{"dtype":"BF16","shape":[0,5],"data_offsets":[12,12]}})",
            std::string(reinterpret_cast<const char*>(data), sizeof data));
  auto f = safetensors_file::open(p);
  ASSERT_TRUE(f.ok()) << f.message();
  EXPECT_EQ(f->find("late")->element(0), 2.0f);
  EXPECT_EQ(f->find("early")->element(1), 2.0f);
  EXPECT_EQ(f->find("empty")->numel(), 0);
  EXPECT_EQ(f->tensors()[0].name, "late");  // header order kept
}

TEST(safetensors, shape_check_and_missing_tensor) {
  temp_dir dir;
  sample_tensors s;
  ASSERT_TRUE(safetensors_write(dir / "model.safetensors", s.specs()).ok());
  auto set = safetensors_set::open_dir(dir.path());
  ASSERT_TRUE(set.ok()) << set.message();
  EXPECT_TRUE(set->get("a.f32", {2, 3}).ok());
  auto wrong = set->get("a.f32", {3, 2});
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.message(),
            (dir / "model.safetensors").string() + ": tensor 'a.f32': shape [2, 3], expected [3, 2]");
  auto missing = set->get("lm_head.weight", {1});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.message(), (dir / "model.safetensors").string() + ": missing tensor 'lm_head.weight'");
  EXPECT_EQ(set->names(), (std::vector<std::string>{"a.f32", "b.bf16", "c.f16"}));

  temp_dir empty;
  auto none = safetensors_set::open_dir(empty.path());
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.message(), empty.path().string() + ": no model.safetensors or model.safetensors.index.json");
}

TEST(safetensors, sharded_index) {
  temp_dir dir;
  sample_tensors s;
  auto specs = s.specs();
  ASSERT_TRUE(safetensors_write(dir / "model-00001-of-00002.safetensors", {specs[0], specs[1]}).ok());
  ASSERT_TRUE(safetensors_write(dir / "model-00002-of-00002.safetensors", {specs[2]}).ok());
  const std::string index = R"({"metadata":{"total_size":50},"weight_map":{)"
                            R"("b.bf16":"model-00001-of-00002.safetensors",)"
                            R"("c.f16":"model-00001-of-00002.safetensors",)"
                            R"("a.f32":"model-00002-of-00002.safetensors"}})";
  test::write_file(dir / "model.safetensors.index.json", index);
  auto set = safetensors_set::open_dir(dir.path());
  ASSERT_TRUE(set.ok()) << set.message();
  EXPECT_EQ(set->files().size(), 2u);
  auto a = set->get("a.f32", {2, 3});
  ASSERT_TRUE(a.ok()) << a.message();
  EXPECT_EQ(a->element(2), 3.0f);
  EXPECT_EQ(a->file, (dir / "model-00002-of-00002.safetensors").string());
  EXPECT_EQ(set->get("c.f16", {3})->element(2), 0.5f);

  const std::string index_path = (dir / "model.safetensors.index.json").string();
  // The index names the wrong shard for a tensor.
  std::string wrong = index;
  wrong.replace(wrong.rfind("model-00002"), 11, "model-00001");
  test::write_file(dir / "model.safetensors.index.json", wrong);
  auto bad = safetensors_set::open_dir(dir.path());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.message(),
            index_path +
                ": weight_map puts tensor 'a.f32' in model-00001-of-00002.safetensors, which has no "
                "such tensor");

  // A shard file is missing.
  fs::remove(dir / "model-00002-of-00002.safetensors");
  test::write_file(dir / "model.safetensors.index.json", index);
  bad = safetensors_set::open_dir(dir.path());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.message(), index_path + ": missing shard files: model-00002-of-00002.safetensors");

  // A shard path escaping the directory.
  test::write_file(dir / "model.safetensors.index.json", R"({"weight_map":{"x":"../x.safetensors"}})");
  bad = safetensors_set::open_dir(dir.path());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.message(),
            index_path + ": weight_map.x: '../x.safetensors' is not a file name in the model directory");

  test::write_file(dir / "model.safetensors.index.json", R"({"weight_map":[]})");
  bad = safetensors_set::open_dir(dir.path());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.message(), index_path + ": weight_map: missing or not an object");
}

TEST(safetensors, writer_rejects_bad_input) {
  temp_dir dir;
  sample_tensors s;
  auto specs = s.specs();
  specs.push_back(specs[0]);
  auto r = safetensors_write(dir / "dup.safetensors", specs);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(),
            (dir / "dup.safetensors").string() + ": tensor name 'b.bf16' is empty, reserved or repeated");
  EXPECT_FALSE(fs::exists(dir / "dup.safetensors"));
  auto no_dir = safetensors_write(dir / "no/such/dir/x.safetensors", s.specs());
  ASSERT_FALSE(no_dir.ok());
  EXPECT_NE(no_dir.message().find("x.safetensors: cannot create: No such file or directory"),
            std::string::npos);
}

}  // namespace
}  // namespace smelt
