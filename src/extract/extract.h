// Public entry point of the extract module: file -> document. Dispatches on the file's content
// and extension to one extractor per format (extract_<format>.cpp). Chunking is in chunk.h.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/result.h"
#include "extract/document.h"

namespace smelt {

// The formats smelt reads, by canonical name: pdf docx pptx xlsx csv epub html markdown txt eml.
const std::vector<std::string>& extract_supported_formats();

// Guesses the format from the extension, falling back to magic bytes; empty if unsupported.
std::string extract_detect_format(const std::filesystem::path& path, std::string_view head);

// Reads and converts one file. Errors name the file and the reason; warnings go into the document.
result<document> extract_file(const std::filesystem::path& path);

// Same from bytes already in memory (used by EML attachments, EPUB members and the fuzzers).
// name is used for messages and format detection.
result<document> extract_bytes(std::string_view bytes, const std::string& name, const std::string& format);

}  // namespace smelt
