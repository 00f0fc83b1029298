// Read-only access to a ZIP container in memory (DOCX, PPTX, XLSX, EPUB), over libzip.
// Members are read whole; a size cap guards against zip bombs. Not thread-safe per object.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

struct zip;

namespace smelt {

class zip_archive {
 public:
  // name is used in messages; bytes must outlive the archive.
  static result<zip_archive> open(std::string_view bytes, const std::string& name);

  bool contains(const std::string& member) const;
  std::vector<std::string> members() const;
  // Reads a member; errors name the container and the member. max_bytes caps the inflated size.
  result<std::string> read(const std::string& member, size_t max_bytes = 256u << 20) const;

 private:
  struct zip_closer {
    void operator()(::zip* z) const;
  };
  std::unique_ptr<::zip, zip_closer> zip_;
  std::string name_;
};

// Resolves a relative target ("../media/x.xml") against the folder of base ("word/document.xml").
std::string zip_resolve_path(const std::string& base, const std::string& target);

}  // namespace smelt
