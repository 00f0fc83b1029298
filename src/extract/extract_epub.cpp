// EPUB 2/3: META-INF/container.xml -> the OPF package -> spine order -> each XHTML item through
// html_blocks.h, one chapter anchor per spine item. Navigation documents (nav/NCX) and images are
// not read; the spine alone decides the order.
#include <fmt/format.h>
#include <pugixml.hpp>

#include <cctype>
#include <map>

#include "core/text.h"
#include "extract/encoding.h"
#include "extract/formats.h"
#include "extract/html_blocks.h"
#include "extract/zip_archive.h"

namespace smelt {

namespace {

// Local name of an element ("opf:item" -> "item"); EPUB files use prefixes inconsistently.
std::string_view local_name(const pugi::xml_node& n) {
  std::string_view name = n.name();
  size_t colon = name.find(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

pugi::xml_node child_local(const pugi::xml_node& parent, std::string_view name) {
  for (pugi::xml_node c : parent.children())
    if (local_name(c) == name) return c;
  return {};
}

pugi::xml_node find_local(const pugi::xml_node& root, std::string_view name) {
  for (pugi::xml_node c : root.children()) {
    if (local_name(c) == name) return c;
    if (pugi::xml_node found = find_local(c, name)) return found;
  }
  return {};
}

// "chapter%201.xhtml#top" -> "chapter 1.xhtml".
std::string href_decode(std::string_view href) {
  href = href.substr(0, href.find('#'));
  std::string out;
  for (size_t i = 0; i < href.size(); ++i) {
    if (href[i] == '%' && i + 2 < href.size() && std::isxdigit(static_cast<unsigned char>(href[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(href[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(href.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += href[i];
    }
  }
  return out;
}

result<pugi::xml_document> parse_xml(const std::string& xml, const std::string& where) {
  pugi::xml_document doc;
  pugi::xml_parse_result parsed = doc.load_buffer(xml.data(), xml.size());
  if (!parsed)
    return make_error(fmt::format("{}: {} at byte {}", where, parsed.description(), parsed.offset));
  return doc;
}

}  // namespace

result<document> extract_epub(std::string_view bytes, const std::string& name) {
  auto zip = zip_archive::open(bytes, name);
  if (!zip.ok()) return zip.err();
  auto container_xml = zip->read("META-INF/container.xml");
  if (!container_xml.ok())
    return make_error(fmt::format("{}: not an EPUB: META-INF/container.xml is missing", name));
  auto container = parse_xml(*container_xml, name + ": META-INF/container.xml");
  if (!container.ok()) return container.err();
  pugi::xml_node rootfile = find_local(container->document_element(), "rootfile");
  std::string opf_path = rootfile.attribute("full-path").value();
  if (opf_path.empty())
    return make_error(fmt::format("{}: META-INF/container.xml names no package document (rootfile)", name));
  auto opf_xml = zip->read(opf_path);
  if (!opf_xml.ok()) return make_error(fmt::format("{}: package document '{}' is missing", name, opf_path));
  auto opf = parse_xml(*opf_xml, name + ": " + opf_path);
  if (!opf.ok()) return opf.err();
  pugi::xml_node package = opf->document_element();

  struct manifest_item {
    std::string href;
    std::string media_type;
  };
  std::map<std::string, manifest_item> manifest;
  for (pugi::xml_node item : child_local(package, "manifest").children()) {
    if (local_name(item) != "item") continue;
    manifest[item.attribute("id").value()] = {item.attribute("href").value(),
                                              item.attribute("media-type").value()};
  }
  pugi::xml_node spine = child_local(package, "spine");
  if (!spine) return make_error(fmt::format("{}: {} has no <spine>", name, opf_path));

  document doc;
  int chapter = 0;
  for (pugi::xml_node ref : spine.children()) {
    if (local_name(ref) != "itemref") continue;
    std::string idref = ref.attribute("idref").value();
    auto it = manifest.find(idref);
    if (it == manifest.end()) {
      doc.warnings.push_back(fmt::format("spine item '{}' is not in the manifest", idref));
      continue;
    }
    const std::string& type = it->second.media_type;
    if (type != "application/xhtml+xml" && type != "text/html") continue;
    std::string member = zip_resolve_path(opf_path, href_decode(it->second.href));
    auto raw = zip->read(member);
    if (!raw.ok()) {
      doc.warnings.push_back(raw.message());
      continue;
    }
    auto text = encoding_decode(*raw, name + ": " + member, html_declared_charset(*raw));
    if (!text.ok()) {
      doc.warnings.push_back(text.message());
      continue;
    }
    document part;
    html_to_document(text->utf8, part);
    std::string label;
    for (const block& b : part.blocks)
      if (b.kind == block_kind::heading) {
        label = b.text;
        break;
      }
    if (label.empty()) label = html_title(text->utf8);
    if (label.empty()) label = member;
    document_add_anchor(doc, anchor_kind::chapter, ++chapter, label);
    document_append(doc, part);
  }
  if (chapter == 0) return make_error(fmt::format("{}: the spine lists no readable XHTML documents", name));
  return doc;
}

}  // namespace smelt
