// Shared plumbing for the OOXML extractors (DOCX, PPTX, XLSX): opening the ZIP package with
// format-specific errors, parsing parts with pugixml, following relationships (_rels/*.rels), and
// prefix-agnostic XML lookups. What each format's markup means is left to extract_<format>.cpp.
#pragma once

#include <pugixml.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "extract/zip_archive.h"

namespace smelt {

// Largest XML part we parse; pugixml needs several times this in memory.
inline constexpr size_t ooxml_max_part_bytes = 64u << 20;
// Deepest element nesting the recursive walkers follow (guards the stack against hostile files).
inline constexpr int ooxml_max_depth = 256;

// Opens bytes as an OOXML package; kind ("DOCX") goes into messages such as
// "a.docx: not a DOCX file (no ZIP signature; ...)".
result<zip_archive> ooxml_open(std::string_view bytes, const std::string& name, const char* kind);

// Reads and parses one part. Errors name the file, the part and the XML problem.
result<std::unique_ptr<pugi::xml_document>> ooxml_read_xml(const zip_archive& zip, const std::string& name,
                                                           const std::string& part,
                                                           size_t max_bytes = ooxml_max_part_bytes);

struct ooxml_relationship {
  std::string id;
  std::string type;    // full type URI
  std::string target;  // package part path, resolved against the source part ("word/styles.xml")
  bool external = false;
};

// Relationships of part ("" for the package itself): reads DIR/_rels/FILE.rels. A missing .rels
// part is not an error (empty list); a malformed one is.
result<std::vector<ooxml_relationship>> ooxml_read_relationships(const zip_archive& zip,
                                                                 const std::string& name,
                                                                 const std::string& part);
// First relationship whose type URI ends in "/" + suffix (works for transitional and strict URIs).
const ooxml_relationship* ooxml_find_type(const std::vector<ooxml_relationship>& rels,
                                          std::string_view suffix);
const ooxml_relationship* ooxml_find_id(const std::vector<ooxml_relationship>& rels, std::string_view id);

// The package's main part (officeDocument relationship), else fallback if that part exists.
result<std::string> ooxml_main_part(const zip_archive& zip, const std::string& name, const char* kind,
                                    const std::string& fallback);

// An error from the helpers above as a document warning: without the leading "NAME: ", since
// warnings are printed after the file name already.
std::string ooxml_warning(const error& e, const std::string& name);

// Element and attribute names without their namespace prefix ("w:p" -> "p").
std::string_view xml_local_name(const pugi::xml_node& node);
bool xml_is(const pugi::xml_node& node, std::string_view local);
pugi::xml_node xml_child(const pugi::xml_node& node, std::string_view local);
// Attribute by local name ("val" finds w:val); empty string if absent.
std::string_view xml_attr(const pugi::xml_node& node, std::string_view local);
// Same, but only a prefixed attribute: r:id on <p:sldId id="256" r:id="rId2"/>.
std::string_view xml_prefixed_attr(const pugi::xml_node& node, std::string_view local);
// The w:val-style attribute of a child element ("<w:pStyle w:val=X/>"), empty if absent.
std::string_view xml_child_val(const pugi::xml_node& node, std::string_view child);

}  // namespace smelt
