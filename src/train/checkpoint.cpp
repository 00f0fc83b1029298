// Atomic checkpoint directories: build in a hidden .tmp-* sibling, fsync each file and the
// directory, rename (or exchange with an existing one) into place, fsync the parent. Validation of
// existing checkpoints opens every file's header so a truncated or missing file is noticed.
#include "train/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

#include "core/files.h"
#include "core/log.h"
#include "model/safetensors.h"

namespace smelt {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

status fsync_path(const fs::path& path, bool directory) {
  int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0)
    return make_error(fmt::format("{}: cannot open to sync: {}", path.string(), std::strerror(errno)));
  int rc = ::fsync(fd);
  int saved = errno;
  ::close(fd);
  if (rc != 0) return make_error(fmt::format("{}: fsync failed: {}", path.string(), std::strerror(saved)));
  return {};
}

// Removes PARENT's hidden .tmp-* leftovers of earlier, interrupted writes.
void remove_leftovers(const fs::path& parent) {
  std::error_code ec;
  for (fs::directory_iterator it(parent, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.rfind(".tmp-", 0) == 0 || name.rfind(".old-", 0) == 0) {
      std::error_code rm;
      fs::remove_all(it->path(), rm);
      if (rm) log_warn("{}: cannot remove leftover: {}", it->path().string(), rm.message());
    }
  }
}

// Makes TMP (a complete directory) appear as TARGET in one step, replacing an existing TARGET.
status dir_commit(const fs::path& tmp, const fs::path& target) {
  if (auto s = fsync_path(tmp, true); !s) return s;
  std::error_code ec;
  if (fs::exists(target, ec)) {
    // Swap both names at once, so TARGET is never missing, then drop the old one.
    if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, target.c_str(), RENAME_EXCHANGE) != 0) {
      // Filesystems without RENAME_EXCHANGE: move the old one aside first (a crash in between
      // leaves no TARGET, and the older checkpoints).
      fs::path old = target.parent_path() / (".old-" + target.filename().string());
      fs::remove_all(old, ec);
      if (::rename(target.c_str(), old.c_str()) != 0 || ::rename(tmp.c_str(), target.c_str()) != 0)
        return make_error(fmt::format("{}: cannot replace: {}", target.string(), std::strerror(errno)));
      fs::remove_all(old, ec);
    } else {
      fs::remove_all(tmp, ec);
    }
  } else if (::rename(tmp.c_str(), target.c_str()) != 0) {
    return make_error(fmt::format("{}: cannot rename {} into place: {}", target.string(), tmp.string(),
                                  std::strerror(errno)));
  }
  return fsync_path(target.parent_path(), true);
}

// Creates DIR (and its parents), syncing the parent of each directory created.
status make_dirs(const fs::path& dir) {
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return {};
  if (dir.has_parent_path() && dir.parent_path() != dir)
    if (auto s = make_dirs(dir.parent_path()); !s) return s;
  if (!fs::create_directory(dir, ec) && ec)
    return make_error(fmt::format("{}: cannot create directory: {}", dir.string(), ec.message()));
  return dir.has_parent_path() ? fsync_path(dir.parent_path().empty() ? "." : dir.parent_path(), true)
                               : status{};
}

// Writes one directory through WRITE_FILES(tmp) and commits it as PARENT/NAME.
template <class F>
status dir_write_atomic(const fs::path& parent, const std::string& name, F write_files) {
  if (auto s = make_dirs(parent); !s) return s;
  remove_leftovers(parent);
  fs::path tmp = parent / (".tmp-" + name);
  std::error_code ec;
  if (!fs::create_directory(tmp, ec))
    return make_error(
        fmt::format("{}: cannot create directory: {}", tmp.string(), ec ? ec.message() : "exists"));
  status s = write_files(tmp);
  if (s) s = dir_commit(tmp, parent / name);
  if (!s) {
    fs::remove_all(tmp, ec);
    return make_error(fmt::format("{}: not written: {}", (parent / name).string(), s.message()));
  }
  return {};
}

json optional_number(const std::optional<double>& v) {
  return v && std::isfinite(*v) ? json(*v) : json(nullptr);
}

bool parse_step_name(const std::string& name, int64_t& step) {
  if (name.size() < 6 || name.compare(0, 5, "step-") != 0 || name.size() > 5 + 18) return false;
  for (size_t i = 5; i < name.size(); ++i)
    if (!std::isdigit(static_cast<unsigned char>(name[i]))) return false;
  step = std::stoll(name.substr(5));
  return true;
}

// Why DIR is not a complete checkpoint of STEP, or its state.
result<checkpoint_state> checkpoint_validate(const fs::path& dir, int64_t step) {
  auto text = file_read(dir / "trainer_state.json");
  if (!text) return text.err();
  auto state = checkpoint_state_parse(*text, (dir / "trainer_state.json").string());
  if (!state) return state.err();
  if (state->step != step)
    return make_error(fmt::format("{}: step {} does not match the directory name",
                                  (dir / "trainer_state.json").string(), state->step));
  auto config = file_read(dir / "adapter_config.json");
  if (!config) return config.err();
  if (auto c = adapter_config_parse(*config, (dir / "adapter_config.json").string()); !c) return c.err();
  for (const char* file : {"adapter_model.safetensors", "optimizer.safetensors"})
    if (auto f = safetensors_file::open(dir / file); !f) return f.err();
  return state;
}

}  // namespace

std::string checkpoint_state_to_json(const checkpoint_state& s) {
  json j = json::object();
  j["step"] = s.step;
  j["epoch"] = s.epoch;
  j["samples_seen"] = s.samples_seen;
  j["data_cursor"] = s.data_cursor;
  j["rng_state"] = s.rng_state;
  j["loss"] = std::isfinite(s.loss) ? json(s.loss) : json(nullptr);
  j["eval_loss"] = optional_number(s.eval_loss);
  j["best_eval_loss"] = optional_number(s.best_eval_loss);
  j["extra"] = s.extra.is_object() ? s.extra : json::object();
  return j.dump(2) + "\n";
}

result<checkpoint_state> checkpoint_state_parse(std::string_view text, const std::string& source) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return make_error(fmt::format("{}: not a JSON object", source));
  auto bad = [&](const char* key, const char* want) {
    return make_error(fmt::format("{}: {}: expected {}, got {}", source, key, want,
                                  j.contains(key) ? j[key].dump() : std::string("nothing")));
  };
  checkpoint_state s;
  auto integer = [&](const char* key, int64_t& out) {
    if (!j.contains(key) || !j[key].is_number_integer() || j[key].get<int64_t>() < 0) return false;
    out = j[key].get<int64_t>();
    return true;
  };
  if (!integer("step", s.step)) return bad("step", "a non-negative integer");
  if (!integer("samples_seen", s.samples_seen)) return bad("samples_seen", "a non-negative integer");
  if (!integer("data_cursor", s.data_cursor)) return bad("data_cursor", "a non-negative integer");
  if (!j.contains("epoch") || !j["epoch"].is_number()) return bad("epoch", "a number");
  s.epoch = j["epoch"].get<double>();
  if (!j.contains("rng_state") || !j["rng_state"].is_string()) return bad("rng_state", "a string");
  s.rng_state = j["rng_state"].get<std::string>();
  if (!j.contains("loss") || !(j["loss"].is_number() || j["loss"].is_null()))
    return bad("loss", "a number or null");
  s.loss = j["loss"].is_null() ? std::numeric_limits<double>::quiet_NaN() : j["loss"].get<double>();
  for (auto [key, dst] :
       {std::pair{"eval_loss", &s.eval_loss}, std::pair{"best_eval_loss", &s.best_eval_loss}}) {
    if (!j.contains(key) || j[key].is_null()) continue;
    if (!j[key].is_number()) return bad(key, "a number or null");
    *dst = j[key].get<double>();
  }
  if (j.contains("extra")) {
    if (!j["extra"].is_object()) return bad("extra", "an object");
    s.extra = j["extra"];
  }
  return s;
}

status checkpoint_write(const fs::path& run_dir, const checkpoint_state& state, const adapter& a,
                        const adamw& optimizer) {
  return dir_write_atomic(
      run_dir / "checkpoints", fmt::format("step-{}", state.step), [&](const fs::path& tmp) {
        if (auto s = adapter_write(tmp, a); !s) return s;
        if (auto s = optimizer.save(tmp / "optimizer.safetensors"); !s) return s;
        return file_write_atomic(tmp / "trainer_state.json", checkpoint_state_to_json(state));
      });
}

status checkpoint_write_final(const fs::path& run_dir, const adapter& a) {
  return dir_write_atomic(run_dir, "final", [&](const fs::path& tmp) { return adapter_write(tmp, a); });
}

std::vector<checkpoint_info> checkpoint_list(const fs::path& run_dir, std::vector<std::string>* warnings) {
  std::vector<checkpoint_info> out;
  std::error_code ec;
  const fs::path parent = run_dir / "checkpoints";
  for (fs::directory_iterator it(parent, ec), end; !ec && it != end; it.increment(ec)) {
    int64_t step = 0;
    if (!parse_step_name(it->path().filename().string(), step)) continue;
    std::error_code dir_ec;
    if (!it->is_directory(dir_ec)) continue;
    auto state = checkpoint_validate(it->path(), step);
    if (!state) {
      std::string w =
          fmt::format("{}: skipped, incomplete checkpoint: {}", it->path().string(), state.message());
      log_warn("{}", w);
      if (warnings) warnings->push_back(std::move(w));
      continue;
    }
    out.push_back({it->path(), step, std::move(*state)});
  }
  std::sort(out.begin(), out.end(), [](const auto& x, const auto& y) { return x.step < y.step; });
  return out;
}

std::optional<checkpoint_info> checkpoint_latest(const fs::path& run_dir,
                                                 std::vector<std::string>* warnings) {
  auto all = checkpoint_list(run_dir, warnings);
  if (all.empty()) return std::nullopt;
  return std::move(all.back());
}

result<checkpoint_state> checkpoint_load(const fs::path& dir, adapter& a, adamw& optimizer) {
  int64_t step = 0;
  if (!parse_step_name(dir.filename().string(), step))
    return make_error(
        fmt::format("{}: not a checkpoint directory (expected .../checkpoints/step-N)", dir.string()));
  auto state = checkpoint_validate(dir, step);
  if (!state) return state.err();
  auto read = adapter_read(dir);
  if (!read) return read.err();
  if (auto s = optimizer.load(dir / "optimizer.safetensors"); !s) return s.err();
  a = std::move(*read);
  return state;
}

status checkpoint_mark_best(const fs::path& run_dir, int64_t step) {
  const fs::path parent = run_dir / "checkpoints";
  if (auto s = make_dirs(parent); !s) return s;
  if (auto s = file_write_atomic(parent / "best", fmt::format("step-{}\n", step)); !s) return s;
  return fsync_path(parent, true);
}

result<std::optional<int64_t>> checkpoint_best(const fs::path& run_dir) {
  const fs::path path = run_dir / "checkpoints" / "best";
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::optional<int64_t>{};
  auto text = file_read(path);
  if (!text) return text.err();
  std::string t = *text;
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.pop_back();
  int64_t step = 0;
  if (!parse_step_name(t, step))
    return make_error(fmt::format("{}: expected \"step-N\", got \"{}\"", path.string(), t.substr(0, 40)));
  return std::optional<int64_t>{step};
}

}  // namespace smelt
