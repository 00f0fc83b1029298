// Split: Fisher-Yates over splitmix64 (std::shuffle's algorithm is unspecified, so it is not
// used), groups in order of first appearance before shuffling.
#include "dataset/split.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "core/files.h"
#include "core/text.h"
#include "dataset/jsonl_reader.h"

namespace smelt {

namespace {

struct split_rng {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
};

void split_shuffle(std::vector<size_t>& v, uint64_t seed) {
  split_rng rng{seed};
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.next() % i]);
}

}  // namespace

split_indexes split_choose(size_t count, const std::vector<std::string>& groups, double val_fraction,
                           uint64_t seed) {
  split_indexes out;
  // Group id per item, in order of first appearance.
  std::vector<size_t> group_of(count);
  std::vector<std::vector<size_t>> members;
  if (groups.empty()) {
    std::iota(group_of.begin(), group_of.end(), size_t{0});
    members.resize(count);
    for (size_t i = 0; i < count; ++i) members[i] = {i};
  } else {
    std::map<std::string, size_t> ids;
    for (size_t i = 0; i < count; ++i) {
      auto [it, inserted] = ids.emplace(groups[i], members.size());
      if (inserted) members.emplace_back();
      members[it->second].push_back(i);
      group_of[i] = it->second;
    }
  }
  out.groups = members.size();
  size_t target = static_cast<size_t>(std::llround(static_cast<double>(count) * val_fraction));
  if (val_fraction > 0 && count >= 2)
    target = std::clamp<size_t>(target, 1, count - 1);
  else if (count < 2)
    target = 0;

  std::vector<size_t> order(members.size());
  std::iota(order.begin(), order.end(), size_t{0});
  split_shuffle(order, seed);
  std::vector<bool> in_val(members.size(), false);
  size_t taken = 0, groups_taken = 0;
  for (size_t g : order) {
    if (taken >= target || groups_taken + 1 >= members.size()) break;
    in_val[g] = true;
    taken += members[g].size();
    ++groups_taken;
  }
  for (size_t i = 0; i < count; ++i) (in_val[group_of[i]] ? out.val : out.train).push_back(i);
  return out;
}

std::filesystem::path split_provenance_path(const std::filesystem::path& file) {
  std::string name = file.string();
  if (text_ends_with(name, ".jsonl")) name.resize(name.size() - 6);
  return name + ".provenance.jsonl";
}

result<split_report> split_file(const std::filesystem::path& input, const std::filesystem::path& out_dir,
                                const split_options& options) {
  if (!(options.val_fraction >= 0 && options.val_fraction < 1))
    return make_error(fmt::format("--val: expected a fraction from 0 up to (not including) 1, got {}",
                                  options.val_fraction));
  auto reader = jsonl_reader::open(input);
  if (!reader.ok()) return reader.err();
  std::vector<std::string> lines;
  std::vector<size_t> numbers;
  size_t physical = 0;
  jsonl_line line;
  while (reader->next(line)) {
    physical = line.number;
    if (jsonl_line_is_blank(line.text)) continue;
    lines.push_back(line.text);
    numbers.push_back(line.number);
  }

  std::vector<std::string> groups;
  if (options.by_source) {
    auto prov_path = split_provenance_path(input);
    std::error_code ec;
    if (!std::filesystem::exists(prov_path, ec))
      return make_error(
          fmt::format("{}: --by source needs the provenance file {} (one JSON object per line of "
                      "the input, with \"chunk_id\" or \"source\"), which does not exist",
                      input.string(), prov_path.string()));
    auto prov = jsonl_reader::open(prov_path);
    if (!prov.ok()) return prov.err();
    std::vector<std::string> keys;
    jsonl_line p;
    while (prov->next(p)) {
      auto where = fmt::format("{}:{}", prov_path.string(), p.number);
      if (jsonl_line_is_blank(p.text)) {
        keys.emplace_back();
        continue;
      }
      auto parsed = jsonl_parse(p.text);
      if (!parsed.ok()) return make_error(fmt::format("{}: json: {}", where, parsed.message()));
      const nlohmann::json* key = nullptr;
      if (parsed->is_object()) {
        if (parsed->contains("chunk_id"))
          key = &(*parsed)["chunk_id"];
        else if (parsed->contains("source"))
          key = &(*parsed)["source"];
      }
      if (!key || !(key->is_string() || key->is_number()))
        return make_error(
            fmt::format("{}: chunk_id: expected an object with a \"chunk_id\" or \"source\" string", where));
      keys.push_back(key->is_string() ? key->get<std::string>() : key->dump());
    }
    if (keys.size() != physical)
      return make_error(fmt::format("{}: has {} lines but {} has {}; they must be aligned line by line",
                                    prov_path.string(), keys.size(), input.string(), physical));
    for (size_t n : numbers) {
      if (keys[n - 1].empty())
        return make_error(fmt::format("{}:{}: blank line for a data line", prov_path.string(), n));
      groups.push_back(keys[n - 1]);
    }
  }

  split_indexes chosen = split_choose(lines.size(), groups, options.val_fraction, options.seed);
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) return make_error(fmt::format("{}: cannot create directory: {}", out_dir.string(), ec.message()));
  auto join = [&](const std::vector<size_t>& idx) {
    std::string s;
    for (size_t i : idx) s += lines[i] + "\n";
    return s;
  };
  split_report report;
  report.train = chosen.train.size();
  report.val = chosen.val.size();
  report.groups = chosen.groups;
  report.train_path = out_dir / "train.jsonl";
  report.val_path = out_dir / "val.jsonl";
  if (auto s = file_write_atomic(report.train_path, join(chosen.train)); !s.ok()) return s.err();
  if (auto s = file_write_atomic(report.val_path, join(chosen.val)); !s.ok()) return s.err();
  return report;
}

}  // namespace smelt
