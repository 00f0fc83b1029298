// Reads HF `tokenizer.json` into tokenizer_impl: model (BPE only), added_tokens, normalizer,
// pre_tokenizer, post_processor, decoder. Anything smelt does not implement is refused with the
// JSON path and type ("normalizer.normalizers[1].type: unsupported \"Lowercase\""), so a model
// is never tokenized almost-right. Internally a failure throws load_failure, caught at the API.
#include <nlohmann/json.hpp>

#include <algorithm>

#include "core/files.h"
#include "core/text.h"
#include "model/tokenizer_internal.h"

namespace smelt {

namespace {

using json = nlohmann::json;

struct load_failure {
  std::string message;  // "PATH: problem", prefixed with the source in tokenizer_parse
};

// Ids above this are refused: they would only make the id table absurdly large (the largest real
// vocabularies hold ~260k tokens).
constexpr int64_t k_max_token_id = 1 << 22;
[[noreturn]] void fail(const std::string& where, const std::string& problem) {
  throw load_failure{where + ": " + problem};
}

// Sequence inside Sequence deeper than this is refused (real files nest one level).
constexpr int k_max_depth = 16;

void check_depth(const std::string& where) {
  int depth = 0;
  for (size_t at = where.find('['); at != std::string::npos; at = where.find('[', at + 1)) ++depth;
  if (depth > k_max_depth) fail(where, "nested too deeply");
}

const json& member(const json& obj, const char* key, const std::string& where) {
  if (!obj.is_object()) fail(where, "expected an object");
  auto it = obj.find(key);
  if (it == obj.end()) fail(where + "." + key, "missing");
  return *it;
}

std::string get_string(const json& obj, const char* key, const std::string& where) {
  const json& v = member(obj, key, where);
  if (!v.is_string()) fail(where + "." + key, "expected a string");
  return v.get<std::string>();
}

// Optional boolean/number/string members with defaults; a wrong type is an error.
bool opt_bool(const json& obj, const char* key, bool def, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return def;
  if (!it->is_boolean()) fail(where + "." + key, "expected true or false");
  return it->get<bool>();
}

std::string opt_string(const json& obj, const char* key, const std::string& def, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return def;
  if (!it->is_string()) fail(where + "." + key, "expected a string");
  return it->get<std::string>();
}

int64_t get_int(const json& v, const std::string& where, int64_t lo, int64_t hi) {
  if (!v.is_number_integer()) fail(where, "expected an integer");
  int64_t x = v.get<int64_t>();
  if (x < lo || x > hi) fail(where, "value " + std::to_string(x) + " out of range");
  return x;
}

std::string type_of(const json& obj, const std::string& where) {
  return get_string(obj, "type", where);
}

[[noreturn]] void unsupported(const std::string& where, const std::string& type) {
  fail(where + ".type", "unsupported \"" + type + "\"");
}

// {"String": s} or {"Regex": r}
void read_pattern(const json& obj, const std::string& where, std::string& literal,
                  std::optional<tok_regex>& regex) {
  const json& p = member(obj, "pattern", where);
  std::string pw = where + ".pattern";
  if (p.is_object() && p.contains("String") && p["String"].is_string()) {
    literal = p["String"].get<std::string>();
  } else if (p.is_object() && p.contains("Regex") && p["Regex"].is_string()) {
    auto re = tok_regex_compile(p["Regex"].get<std::string>(), false, pw);
    if (!re.ok()) throw load_failure{re.message()};
    regex = std::move(*re);
  } else {
    fail(pw, "expected {\"String\": ...} or {\"Regex\": ...}");
  }
}

void read_normalizer(const json& n, const std::string& where, std::vector<normalizer_step>& out) {
  if (n.is_null()) return;
  check_depth(where);
  std::string type = type_of(n, where);
  normalizer_step st;
  if (type == "Sequence") {
    const json& list = member(n, "normalizers", where);
    if (!list.is_array()) fail(where + ".normalizers", "expected an array");
    for (size_t i = 0; i < list.size(); ++i)
      read_normalizer(list[i], where + ".normalizers[" + std::to_string(i) + "]", out);
    return;
  } else if (type == "NFC") {
    st.kind = normalizer_nfc;
  } else if (type == "NFD") {
    st.kind = normalizer_nfd;
  } else if (type == "NFKC") {
    st.kind = normalizer_nfkc;
  } else if (type == "NFKD") {
    st.kind = normalizer_nfkd;
  } else if (type == "Prepend") {
    st.kind = normalizer_prepend;
    st.content = get_string(n, "prepend", where);
  } else if (type == "Replace") {
    st.kind = normalizer_replace;
    read_pattern(n, where, st.literal, st.regex);
    st.content = get_string(n, "content", where);
  } else {
    unsupported(where, type);
  }
  out.push_back(std::move(st));
}

prepend_scheme read_prepend_scheme(const json& n, const std::string& where) {
  auto it = n.find("prepend_scheme");
  if (it != n.end() && !it->is_null()) {
    std::string s = it->is_string() ? it->get<std::string>() : "";
    if (s == "always") return prepend_scheme_always;
    if (s == "first") return prepend_scheme_first;
    if (s == "never") return prepend_scheme_never;
    fail(where + ".prepend_scheme", "expected always|first|never");
  }
  return opt_bool(n, "add_prefix_space", true, where) ? prepend_scheme_always : prepend_scheme_never;
}

std::string read_replacement(const json& n, const std::string& where) {
  std::string r = opt_string(n, "replacement", "\xE2\x96\x81", where);
  if (r.empty() || utf8_length(r) != 1) fail(where + ".replacement", "expected one character");
  return r;
}

void read_pretokenizer(const json& n, const std::string& where, std::vector<pretok_step>& out) {
  if (n.is_null()) return;
  check_depth(where);
  std::string type = type_of(n, where);
  pretok_step st;
  if (type == "Sequence") {
    const json& list = member(n, "pretokenizers", where);
    if (!list.is_array()) fail(where + ".pretokenizers", "expected an array");
    for (size_t i = 0; i < list.size(); ++i)
      read_pretokenizer(list[i], where + ".pretokenizers[" + std::to_string(i) + "]", out);
    return;
  }
  // The BPE model maps ByteLevel's bytes to characters itself, so nothing may follow ByteLevel.
  if (!out.empty() && out.back().kind == pretok_byte_level)
    fail(where, "a pre-tokenizer after ByteLevel is not supported");
  if (type == "Split") {
    st.kind = pretok_split;
    std::string literal;
    read_pattern(n, where, literal, st.regex);
    if (!st.regex) {
      auto re = tok_regex_compile(literal, true, where + ".pattern");
      if (!re.ok()) throw load_failure{re.message()};
      st.regex = std::move(*re);
    }
    std::string b = get_string(n, "behavior", where);
    if (b == "Isolated")
      st.behavior = split_behavior_isolated;
    else if (b == "Removed")
      st.behavior = split_behavior_removed;
    else if (b == "MergedWithPrevious")
      st.behavior = split_behavior_merged_with_previous;
    else if (b == "MergedWithNext")
      st.behavior = split_behavior_merged_with_next;
    else if (b == "Contiguous")
      st.behavior = split_behavior_contiguous;
    else
      fail(where + ".behavior", "unsupported \"" + b + "\"");
    st.invert = opt_bool(n, "invert", false, where);
  } else if (type == "ByteLevel") {
    st.kind = pretok_byte_level;
    st.add_prefix_space = opt_bool(n, "add_prefix_space", true, where);
    st.use_regex = opt_bool(n, "use_regex", true, where);
  } else if (type == "Metaspace") {
    st.kind = pretok_metaspace;
    st.replacement = read_replacement(n, where);
    st.scheme = read_prepend_scheme(n, where);
    st.split = opt_bool(n, "split", true, where);
  } else {
    unsupported(where, type);
  }
  out.push_back(std::move(st));
}

void read_decoder(const json& n, const std::string& where, std::vector<decoder_step>& out) {
  check_depth(where);
  std::string type = type_of(n, where);
  decoder_step st;
  if (type == "Sequence") {
    const json& list = member(n, "decoders", where);
    if (!list.is_array()) fail(where + ".decoders", "expected an array");
    for (size_t i = 0; i < list.size(); ++i)
      read_decoder(list[i], where + ".decoders[" + std::to_string(i) + "]", out);
    return;
  } else if (type == "ByteLevel") {
    st.kind = decoder_byte_level;
  } else if (type == "Replace") {
    st.kind = decoder_replace;
    std::optional<tok_regex> regex;
    read_pattern(n, where, st.pattern, regex);
    if (regex) fail(where + ".pattern", "a Regex pattern in a Replace decoder is not supported");
    if (st.pattern.empty()) fail(where + ".pattern", "empty pattern");
    st.content = get_string(n, "content", where);
  } else if (type == "ByteFallback") {
    st.kind = decoder_byte_fallback;
  } else if (type == "Fuse") {
    st.kind = decoder_fuse;
  } else if (type == "Strip") {
    st.kind = decoder_strip;
    st.content = get_string(n, "content", where);
    st.start = size_t(get_int(member(n, "start", where), where + ".start", 0, 1 << 20));
    st.stop = size_t(get_int(member(n, "stop", where), where + ".stop", 0, 1 << 20));
  } else if (type == "Metaspace") {
    st.kind = decoder_metaspace;
    st.pattern = read_replacement(n, where);
    st.scheme = read_prepend_scheme(n, where);
  } else {
    unsupported(where, type);
  }
  out.push_back(std::move(st));
}

void read_post_processor(const json& n, const std::string& where, tokenizer_impl& t) {
  if (n.is_null()) return;
  check_depth(where);
  std::string type = type_of(n, where);
  if (type == "Sequence") {
    const json& list = member(n, "processors", where);
    if (!list.is_array()) fail(where + ".processors", "expected an array");
    for (size_t i = 0; i < list.size(); ++i)
      read_post_processor(list[i], where + ".processors[" + std::to_string(i) + "]", t);
  } else if (type == "ByteLevel") {
    // Only adjusts offsets, which smelt does not report.
  } else if (type == "TemplateProcessing") {
    const json& single = member(n, "single", where);
    const json& specials = member(n, "special_tokens", where);
    if (!single.is_array()) fail(where + ".single", "expected an array");
    t.post_single.clear();
    for (size_t i = 0; i < single.size(); ++i) {
      std::string w = where + ".single[" + std::to_string(i) + "]";
      const json& item = single[i];
      template_piece piece;
      if (item.is_object() && item.contains("Sequence")) {
        piece.is_sequence = true;
      } else if (item.is_object() && item.contains("SpecialToken")) {
        std::string name = get_string(item["SpecialToken"], "id", w + ".SpecialToken");
        const json& spec = member(specials, name.c_str(), where + ".special_tokens");
        const json& ids = member(spec, "ids", where + ".special_tokens." + name);
        if (!ids.is_array()) fail(where + ".special_tokens." + name + ".ids", "expected an array");
        for (const auto& id : ids)
          piece.ids.push_back(
              int32_t(get_int(id, where + ".special_tokens." + name + ".ids", 0, k_max_token_id)));
      } else {
        fail(w, "expected {\"Sequence\": ...} or {\"SpecialToken\": ...}");
      }
      t.post_single.push_back(std::move(piece));
    }
  } else {
    unsupported(where, type);
  }
}

void read_model(const json& m, tokenizer_impl& t) {
  const std::string where = "model";
  if (!m.is_object()) fail(where, "expected an object");
  std::string type = m.contains("type") ? type_of(m, where) : "BPE";
  if (type != "BPE") unsupported(where, type);
  auto d = m.find("dropout");
  if (d != m.end() && !d->is_null() && !(d->is_number() && d->get<double>() == 0.0))
    fail(where + ".dropout", "BPE dropout is not supported");
  if (!opt_string(m, "continuing_subword_prefix", "", where).empty())
    fail(where + ".continuing_subword_prefix", "not supported");
  if (!opt_string(m, "end_of_word_suffix", "", where).empty())
    fail(where + ".end_of_word_suffix", "not supported");
  bpe_model& b = t.model;
  b.byte_fallback = opt_bool(m, "byte_fallback", false, where);
  b.fuse_unk = opt_bool(m, "fuse_unk", false, where);
  b.ignore_merges = opt_bool(m, "ignore_merges", false, where);

  const json& vocab = member(m, "vocab", where);
  if (!vocab.is_object()) fail(where + ".vocab", "expected an object");
  b.vocab.reserve(vocab.size());
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    int32_t id = int32_t(get_int(it.value(), where + ".vocab[\"" + it.key() + "\"]", 0, k_max_token_id));
    b.vocab[it.key()] = id;
    if (size_t(id) >= b.tokens.size()) b.tokens.resize(size_t(id) + 1);
    b.tokens[id] = it.key();
  }
  auto id_of = [&](const std::string& tok, const std::string& w) {
    auto it = b.vocab.find(tok);
    if (it == b.vocab.end()) fail(w, "token \"" + tok + "\" is not in the vocabulary");
    return it->second;
  };
  std::string unk = opt_string(m, "unk_token", "", where);
  if (!unk.empty()) b.unk_id = id_of(unk, where + ".unk_token");

  const json& merges = member(m, "merges", where);
  if (!merges.is_array()) fail(where + ".merges", "expected an array");
  b.merges.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    std::string w = where + ".merges[" + std::to_string(i) + "]";
    const json& mg = merges[i];
    std::string left, right;
    if (mg.is_string()) {
      const std::string& s = mg.get_ref<const std::string&>();
      size_t sp = s.find(' ');
      if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos)
        fail(w, "expected two tokens separated by one space");
      left = s.substr(0, sp), right = s.substr(sp + 1);
    } else if (mg.is_array() && mg.size() == 2 && mg[0].is_string() && mg[1].is_string()) {
      left = mg[0].get<std::string>(), right = mg[1].get<std::string>();
    } else {
      fail(w, "expected \"a b\" or [\"a\", \"b\"]");
    }
    int32_t a = id_of(left, w), c = id_of(right, w);
    int32_t merged = id_of(left + right, w);
    // The first occurrence of a pair keeps its (lower) rank, as in HF.
    b.merges.emplace((uint64_t(uint32_t(a)) << 32) | uint32_t(c),
                     std::pair<int32_t, int32_t>{int32_t(i), merged});
  }
}

void read_added_tokens(const json& list, tokenizer_impl& t) {
  if (list.is_null()) return;
  if (!list.is_array()) fail("added_tokens", "expected an array");
  for (size_t i = 0; i < list.size(); ++i) {
    std::string w = "added_tokens[" + std::to_string(i) + "]";
    const json& a = list[i];
    added_token tok;
    tok.id = int32_t(get_int(member(a, "id", w), w + ".id", 0, k_max_token_id));
    tok.content = get_string(a, "content", w);
    if (tok.content.empty()) fail(w + ".content", "empty token");
    tok.special = opt_bool(a, "special", false, w);
    tok.lstrip = opt_bool(a, "lstrip", false, w);
    tok.rstrip = opt_bool(a, "rstrip", false, w);
    tok.single_word = opt_bool(a, "single_word", false, w);
    tok.normalized = opt_bool(a, "normalized", !tok.special, w);
    t.added_by_id[tok.id] = t.added.size();
    t.added_by_content[tok.content] = t.added.size();
    t.added.push_back(std::move(tok));
  }
}

void build_indexes(tokenizer_impl& t) {
  bpe_model& b = t.model;
  for (const auto& p : t.pretokenizers) b.byte_level |= p.kind == pretok_byte_level;
  for (int c = 0; c < 256; ++c) {
    std::string key;
    if (b.byte_level) {
      utf8_append(key, byte_level_char(uint8_t(c)));
    } else {
      const char* hex = "0123456789ABCDEF";
      key = std::string("<0x") + hex[c >> 4] + hex[c & 15] + ">";
    }
    auto it = b.vocab.find(key);
    b.byte_ids[c] = it == b.vocab.end() ? -1 : it->second;
  }
  for (size_t k = 0; k < t.added.size(); ++k) {
    added_token& a = t.added[k];
    a.match = a.content;
    if (a.normalized) normalize_apply(t.normalizers, a.match);
    if (a.match.empty()) continue;
    auto& index = a.normalized ? t.added_normalized_index : t.added_raw_index;
    index[static_cast<unsigned char>(a.match[0])].push_back(k);
    t.has_normalized_added |= a.normalized;
  }
  for (auto* index : {&t.added_raw_index, &t.added_normalized_index})
    for (auto& list : *index)
      std::stable_sort(list.begin(), list.end(),
                       [&](size_t x, size_t y) { return t.added[x].match.size() > t.added[y].match.size(); });
}

}  // namespace

result<tokenizer> tokenizer_parse(std::string_view json_text, const std::string& source) {
  json root;
  try {
    root = json::parse(json_text);
  } catch (const json::exception& e) {  // parse_error, or out_of_range for a number too large
    return make_error(source + ": not valid JSON: " + e.what());
  }
  auto impl = std::make_unique<tokenizer_impl>();
  impl->source = source;
  try {
    if (!root.is_object()) fail("(top level)", "expected an object");
    read_model(member(root, "model", "(top level)"), *impl);
    read_added_tokens(root.value("added_tokens", json()), *impl);
    read_normalizer(root.value("normalizer", json()), "normalizer", impl->normalizers);
    read_pretokenizer(root.value("pre_tokenizer", json()), "pre_tokenizer", impl->pretokenizers);
    read_post_processor(root.value("post_processor", json()), "post_processor", *impl);
    json decoder = root.value("decoder", json());
    if (!decoder.is_null()) {
      impl->has_decoder = true;
      read_decoder(decoder, "decoder", impl->decoders);
    }
    build_indexes(*impl);
  } catch (const load_failure& f) {
    return make_error(source + ": " + f.message);
  } catch (const json::exception& e) {  // a type mismatch the readers above did not foresee
    return make_error(source + ": " + e.what());
  }
  return tokenizer(std::move(impl));
}

result<tokenizer> tokenizer_load(const std::string& path) {
  std::string file = path;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    file = (std::filesystem::path(path) / "tokenizer.json").string();
  auto text = file_read(file);
  if (!text.ok()) return text.err();
  return tokenizer_parse(*text, file);
}

}  // namespace smelt
