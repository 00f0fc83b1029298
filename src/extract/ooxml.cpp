// OOXML package helpers: ZIP opening with friendly errors, XML parts, relationships.
// Relationship parts (OPC): <Relationships><Relationship Id Type Target [TargetMode="External"]/>.
#include "extract/ooxml.h"

#include <fmt/format.h>

#include <cstring>

namespace smelt {

result<zip_archive> ooxml_open(std::string_view bytes, const std::string& name, const char* kind) {
  if (bytes.size() < 4 || std::memcmp(bytes.data(), "PK", 2) != 0)
    return make_error(fmt::format("{}: not a valid {} file (no ZIP signature; {} files are ZIP packages)",
                                  name, kind, kind));
  return zip_archive::open(bytes, name);
}

result<std::unique_ptr<pugi::xml_document>> ooxml_read_xml(const zip_archive& zip, const std::string& name,
                                                           const std::string& part, size_t max_bytes) {
  auto bytes = zip.read(part, max_bytes);
  if (!bytes.ok()) return bytes.err();
  auto doc = std::make_unique<pugi::xml_document>();
  // pugixml never expands DTD-defined entities, so entity bombs cannot inflate a part.
  pugi::xml_parse_result parsed =
      doc->load_buffer(bytes->data(), bytes->size(), pugi::parse_default | pugi::parse_ws_pcdata_single);
  if (!parsed)
    return make_error(fmt::format("{}: part '{}' is not well-formed XML: {} at byte {}", name, part,
                                  parsed.description(), parsed.offset));
  return doc;
}

result<std::vector<ooxml_relationship>> ooxml_read_relationships(const zip_archive& zip,
                                                                 const std::string& name,
                                                                 const std::string& part) {
  size_t slash = part.rfind('/');
  std::string folder = slash == std::string::npos ? "" : part.substr(0, slash + 1);
  std::string file = slash == std::string::npos ? part : part.substr(slash + 1);
  std::string rels_part = folder + "_rels/" + file + ".rels";
  std::vector<ooxml_relationship> out;
  if (!zip.contains(rels_part)) return out;
  auto xml = ooxml_read_xml(zip, name, rels_part);
  if (!xml.ok()) return xml.err();
  for (pugi::xml_node rel : (*xml)->document_element().children()) {
    if (!xml_is(rel, "Relationship")) continue;
    ooxml_relationship r;
    r.id = xml_attr(rel, "Id");
    r.type = xml_attr(rel, "Type");
    r.external = xml_attr(rel, "TargetMode") == "External";
    std::string target(xml_attr(rel, "Target"));
    // Targets are relative to the source part's folder (a package-level .rels: to the root).
    r.target = r.external ? target : zip_resolve_path(part.empty() ? std::string("x") : part, target);
    out.push_back(std::move(r));
  }
  return out;
}

const ooxml_relationship* ooxml_find_type(const std::vector<ooxml_relationship>& rels,
                                          std::string_view suffix) {
  for (const auto& r : rels) {
    if (r.type.size() > suffix.size() &&
        r.type.compare(r.type.size() - suffix.size(), suffix.size(), suffix) == 0 &&
        r.type[r.type.size() - suffix.size() - 1] == '/')
      return &r;
  }
  return nullptr;
}

const ooxml_relationship* ooxml_find_id(const std::vector<ooxml_relationship>& rels, std::string_view id) {
  for (const auto& r : rels)
    if (r.id == id) return &r;
  return nullptr;
}

result<std::string> ooxml_main_part(const zip_archive& zip, const std::string& name, const char* kind,
                                    const std::string& fallback) {
  auto rels = ooxml_read_relationships(zip, name, "");
  if (!rels.ok()) return rels.err();
  if (const ooxml_relationship* main = ooxml_find_type(*rels, "officeDocument");
      main && zip.contains(main->target))
    return main->target;
  if (zip.contains(fallback)) return fallback;
  return make_error(
      fmt::format("{}: not a valid {} file: missing part '{}' (and no officeDocument relationship)", name,
                  kind, fallback));
}

std::string ooxml_warning(const error& e, const std::string& name) {
  std::string prefix = name + ": ";
  return e.message.compare(0, prefix.size(), prefix) == 0 ? e.message.substr(prefix.size()) : e.message;
}

std::string_view xml_local_name(const pugi::xml_node& node) {
  std::string_view n = node.name();
  size_t colon = n.find(':');
  return colon == std::string_view::npos ? n : n.substr(colon + 1);
}

bool xml_is(const pugi::xml_node& node, std::string_view local) {
  return node.type() == pugi::node_element && xml_local_name(node) == local;
}

pugi::xml_node xml_child(const pugi::xml_node& node, std::string_view local) {
  for (pugi::xml_node c : node.children())
    if (xml_is(c, local)) return c;
  return {};
}

std::string_view xml_attr(const pugi::xml_node& node, std::string_view local) {
  for (pugi::xml_attribute a : node.attributes()) {
    std::string_view n = a.name();
    size_t colon = n.find(':');
    if (colon != std::string_view::npos) n = n.substr(colon + 1);
    if (n == local) return a.value();
  }
  return {};
}

std::string_view xml_prefixed_attr(const pugi::xml_node& node, std::string_view local) {
  for (pugi::xml_attribute a : node.attributes()) {
    std::string_view n = a.name();
    size_t colon = n.find(':');
    if (colon != std::string_view::npos && n.substr(colon + 1) == local) return a.value();
  }
  return {};
}

std::string_view xml_child_val(const pugi::xml_node& node, std::string_view child) {
  pugi::xml_node c = xml_child(node, child);
  return c ? xml_attr(c, "val") : std::string_view{};
}

}  // namespace smelt
