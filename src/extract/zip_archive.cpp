// libzip wrapper: open from memory, list and read members with clear errors.
#include "extract/zip_archive.h"

#include <fmt/format.h>
#include <zip.h>

#include <vector>

namespace smelt {

void zip_archive::zip_closer::operator()(::zip* z) const {
  if (z) zip_discard(z);
}

result<zip_archive> zip_archive::open(std::string_view bytes, const std::string& name) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error);
  if (!source) {
    std::string why = zip_error_strerror(&error);
    zip_error_fini(&error);
    return make_error(fmt::format("{}: not a readable ZIP container: {}", name, why));
  }
  ::zip* z = zip_open_from_source(source, ZIP_RDONLY | ZIP_CHECKCONS, &error);
  if (!z) {
    std::string why = zip_error_strerror(&error);
    zip_source_free(source);
    zip_error_fini(&error);
    return make_error(fmt::format("{}: corrupt or truncated ZIP container ({})", name, why));
  }
  zip_error_fini(&error);
  zip_archive archive;
  archive.zip_.reset(z);
  archive.name_ = name;
  return archive;
}

bool zip_archive::contains(const std::string& member) const {
  return zip_name_locate(zip_.get(), member.c_str(), 0) >= 0;
}

std::vector<std::string> zip_archive::members() const {
  std::vector<std::string> out;
  zip_int64_t n = zip_get_num_entries(zip_.get(), 0);
  for (zip_int64_t i = 0; i < n; ++i) {
    const char* entry = zip_get_name(zip_.get(), static_cast<zip_uint64_t>(i), 0);
    if (entry) out.emplace_back(entry);
  }
  return out;
}

result<std::string> zip_archive::read(const std::string& member, size_t max_bytes) const {
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_stat(zip_.get(), member.c_str(), 0, &st) != 0)
    return make_error(fmt::format("{}: missing part '{}'", name_, member));
  if ((st.valid & ZIP_STAT_SIZE) && st.size > max_bytes)
    return make_error(fmt::format("{}: part '{}' is too large ({} bytes inflated)", name_, member, st.size));
  zip_file_t* f = zip_fopen(zip_.get(), member.c_str(), 0);
  if (!f)
    return make_error(fmt::format("{}: cannot open part '{}': {}", name_, member, zip_strerror(zip_.get())));
  std::string data;
  char buffer[1 << 15];
  while (true) {
    zip_int64_t n = zip_fread(f, buffer, sizeof buffer);
    if (n < 0) {
      std::string why = zip_file_strerror(f);
      zip_fclose(f);
      return make_error(fmt::format("{}: part '{}' is corrupt: {}", name_, member, why));
    }
    if (n == 0) break;
    data.append(buffer, static_cast<size_t>(n));
    if (data.size() > max_bytes) {
      zip_fclose(f);
      return make_error(fmt::format("{}: part '{}' is too large", name_, member));
    }
  }
  zip_fclose(f);
  return data;
}

std::string zip_resolve_path(const std::string& base, const std::string& target) {
  if (!target.empty() && target[0] == '/') return target.substr(1);
  std::vector<std::string> parts;
  size_t slash = base.rfind('/');
  std::string joined = (slash == std::string::npos ? "" : base.substr(0, slash + 1)) + target;
  size_t start = 0;
  while (start <= joined.size()) {
    size_t end = joined.find('/', start);
    if (end == std::string::npos) end = joined.size();
    std::string part = joined.substr(start, end - start);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    start = end + 1;
  }
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? "/" : "") + parts[i];
  return out;
}

}  // namespace smelt
