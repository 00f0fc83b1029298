// Normalization through utf8proc; MinHash with 64-bit mixed hashes (splitmix64 finalizer) as
// the permutation family; candidates from LSH bands are confirmed with exact Jaccard, so the
// answer does not depend on hashing luck, only the candidate search does.
#include "dataset/dedup.h"

#include <utf8proc.h>

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <memory>

#include "core/random.h"
#include "core/text.h"

namespace smelt {

namespace {

uint64_t dedup_hash_bytes(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return splitmix64_hash(h);
}

bool dedup_keep(char32_t cp) {
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_PC:
    case UTF8PROC_CATEGORY_PD:
    case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI:
    case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
    case UTF8PROC_CATEGORY_SM:
    case UTF8PROC_CATEGORY_SC:
    case UTF8PROC_CATEGORY_SK:
    case UTF8PROC_CATEGORY_SO:
    case UTF8PROC_CATEGORY_ZS:
    case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP:
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
      return false;
    default:
      return true;
  }
}

std::vector<uint64_t> dedup_shingles(std::string_view normalized, size_t k) {
  std::vector<size_t> starts;  // byte offset of each code point, plus the end
  for (size_t i = 0; i < normalized.size();) {
    starts.push_back(i);
    utf8_next(normalized, i);
  }
  starts.push_back(normalized.size());
  size_t chars = starts.size() - 1;
  std::vector<uint64_t> out;
  if (chars <= k) {
    out.push_back(dedup_hash_bytes(normalized));
  } else {
    for (size_t c = 0; c + k <= chars; ++c)
      out.push_back(dedup_hash_bytes(normalized.substr(starts[c], starts[c + k] - starts[c])));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace

std::string dedup_normalize(std::string_view text) {
  std::string valid = utf8_sanitize(text);
  utf8proc_uint8_t* mapped = nullptr;
  auto options = static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD);
  utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(valid.data()),
                                    static_cast<utf8proc_ssize_t>(valid.size()), &mapped, options);
  std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owner(mapped, &std::free);
  std::string folded =
      n < 0 ? valid : std::string(reinterpret_cast<const char*>(mapped), static_cast<size_t>(n));
  std::string out;
  out.reserve(folded.size());
  for (size_t i = 0; i < folded.size();) {
    char32_t cp = utf8_next(folded, i);
    if (dedup_keep(cp)) utf8_append(out, cp);
  }
  return out;
}

double dedup_jaccard(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b) {
  if (a.empty() && b.empty()) return 1.0;
  size_t i = 0, j = 0, common = 0;
  while (i < a.size() && j < b.size()) {
    if (a[i] == b[j])
      ++common, ++i, ++j;
    else if (a[i] < b[j])
      ++i;
    else
      ++j;
  }
  return static_cast<double>(common) / static_cast<double>(a.size() + b.size() - common);
}

dedup_index::dedup_index(dedup_options options) : options_(options) {
  if (options_.shingle == 0) options_.shingle = 1;
  if (options_.bands == 0 || options_.permutations % options_.bands != 0) options_.bands = 1;
}

std::optional<dedup_match> dedup_index::add(std::string_view text, size_t id) {
  std::string normalized = dedup_normalize(text);
  size_t index = entries_.size();
  entries_.push_back({id, dedup_shingles(normalized, options_.shingle)});
  auto [it, inserted] = exact_.emplace(normalized, index);
  if (!inserted) return dedup_match{entries_[it->second].id, true, 1.0};
  if (utf8_length(normalized) < options_.min_chars_for_near) return std::nullopt;

  const auto& shingles = entries_.back().shingles;
  std::vector<uint64_t> signature(options_.permutations, std::numeric_limits<uint64_t>::max());
  for (uint64_t s : shingles)
    for (size_t p = 0; p < options_.permutations; ++p)
      signature[p] = std::min(signature[p], splitmix64_hash(s ^ (0x5851f42d4c957f2dULL * (p + 1))));

  size_t rows = options_.permutations / options_.bands;
  std::vector<size_t> candidates;
  for (size_t b = 0; b < options_.bands; ++b) {
    uint64_t h = splitmix64_hash(b + 1);
    for (size_t r = 0; r < rows; ++r) h = splitmix64_hash(h ^ signature[b * rows + r]);
    auto& bucket = bands_[h];
    candidates.insert(candidates.end(), bucket.begin(), bucket.end());
    bucket.push_back(index);
  }
  std::sort(candidates.begin(), candidates.end());
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  std::optional<dedup_match> best;
  for (size_t c : candidates) {
    double similarity = dedup_jaccard(shingles, entries_[c].shingles);
    if (similarity >= options_.threshold && (!best || similarity > best->similarity))
      best = dedup_match{entries_[c].id, false, similarity};
  }
  return best;
}

}  // namespace smelt
