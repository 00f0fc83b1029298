// `smelt extract`: files and directories -> Markdown, plain text or JSON documents.
// One bad file is reported and skipped; the exit code says whether anything failed.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "core/files.h"
#include "core/log.h"
#include "core/progress.h"
#include "extract/chunk.h"
#include "extract/extract.h"

namespace smelt {

namespace fs = std::filesystem;

const command_spec extract_spec = {
    "extract",
    "FILE|DIR...",
    "extract text from PDF, DOCX, PPTX, XLSX, CSV, EPUB, HTML, Markdown, TXT and EML files",
    "Directories are walked recursively. Without -o the result goes to standard output.",
    {
        {"format", 'f', "markdown|text|json", "markdown",
         "output format; json includes headings and page anchors"},
        {"output", 'o', "DIR", "", "write one file per input under DIR (NAME.EXT.md/.txt/.json)"},
        {"quiet", 'q', "", "", "print errors only"},
        {"chunk", 0, "", "", "print structure-aware chunks instead of whole documents (json: JSON Lines)"},
        {"chunk-size", 0, "N", "1500", "chunk budget in --chunk-unit; tables and code blocks may exceed it"},
        {"chunk-unit", 0, "chars|tokens", "chars", "unit of --chunk-size (tokens are estimated)"},
        {"chunk-overlap", 0, "N", "0", "units of the previous chunk repeated at the start of the next"},
    },
    1,
};

namespace {

struct extract_input {
  fs::path file;
  fs::path relative;  // path under -o DIR
};

std::string extract_render(const document& doc, const std::string& format) {
  if (format == "json") return document_to_json(doc).dump(2) + "\n";
  return document_render(doc, format == "text" ? render_format::text : render_format::markdown).text;
}

// --chunk: each chunk behind a header comment (markdown/text) or one JSON object per line.
std::string extract_render_chunks(const document& doc, const std::vector<chunk>& chunks,
                                  const chunk_options& options, const std::string& format) {
  std::string out;
  for (const chunk& c : chunks) {
    if (format == "json") {
      nlohmann::json j = chunk_to_json(c, options);
      j["source"] = doc.source;
      out += j.dump() + "\n";
    } else {
      out += (out.empty() ? "" : "\n") + chunk_header(c, options) + "\n" + c.text + "\n";
    }
  }
  return out;
}

result<chunk_options> extract_chunk_options(const parsed_args& args) {
  chunk_options options;
  auto size = args.get_int("chunk-size");
  if (!size.ok()) return make_error(size.message());
  auto overlap = args.get_int("chunk-overlap");
  if (!overlap.ok()) return make_error(overlap.message());
  if (*size < 1) return make_error(fmt::format("--chunk-size: expected at least 1, got {}", *size));
  if (*overlap < 0 || *overlap * 2 > *size)
    return make_error(
        fmt::format("--chunk-overlap: expected 0 to half of --chunk-size ({}), got {}", *size / 2, *overlap));
  options.budget = static_cast<size_t>(*size);
  options.overlap = static_cast<size_t>(*overlap);
  options.unit = args.get("chunk-unit") == "tokens" ? chunk_unit::tokens : chunk_unit::chars;
  options.format = args.get("format") == "text" ? render_format::text : render_format::markdown;
  return options;
}

}  // namespace

int extract_run(const parsed_args& args) {
  if (args.flag("quiet")) log_set_level(log_level::warn);
  const std::string& format = args.get("format");
  std::string extension = format == "json" ? ".json" : format == "text" ? ".txt" : ".md";
  bool chunking = args.flag("chunk");
  chunk_options chunking_options;
  if (chunking) {
    auto parsed = extract_chunk_options(args);
    if (!parsed.ok()) {
      log_error("smelt extract: {}", parsed.message());
      return exit_usage;
    }
    chunking_options = *parsed;
    if (format == "json") extension = ".chunks.jsonl";
  }
  std::vector<chunk> all_chunks;
  fs::path out_dir = args.get("output");

  int failures = 0;
  std::vector<extract_input> inputs;
  for (const auto& root : args.positional) {
    walk_result walked = files_walk({fs::path(root)});
    for (const auto& p : walked.problems) {
      log_error("{}: {}", p.path.string(), p.reason);
      ++failures;
    }
    bool is_dir = fs::is_directory(root);
    for (auto& f : walked.files) {
      // Inside a directory, skip what we cannot read rather than failing on every stray file.
      if (is_dir && extract_detect_format(f, {}).empty()) {
        log_debug("{}: skipped (not a supported type)", f.string());
        continue;
      }
      fs::path rel = is_dir ? fs::relative(f, root) : f.filename();
      inputs.push_back({f, rel});
    }
  }
  if (!out_dir.empty()) {
    std::error_code ec;
    fs::create_directories(out_dir, ec);
    if (ec) {
      log_error("{}: cannot create output directory: {}", out_dir.string(), ec.message());
      return exit_failed;
    }
  }

  progress bar("files", inputs.size());
  size_t ok = 0;
  bool first = true;
  for (const auto& in : inputs) {
    auto doc = extract_file(in.file);
    if (!doc.ok()) {
      log_error("{}", doc.message());
      ++failures;
      bar.advance();
      continue;
    }
    for (const auto& w : doc->warnings) log_warn("{}: {}", in.file.string(), w);
    std::string text;
    if (chunking) {
      std::vector<chunk> chunks = chunk_document(*doc, chunking_options);
      for (const chunk& c : chunks)
        if (c.oversize)
          log_warn(
              "{}: chunk {} is {} {}, over the {} budget (tables, code blocks and headings are kept whole)",
              in.file.string(), c.id, c.size, chunk_unit_name(chunking_options.unit),
              chunking_options.budget);
      text = extract_render_chunks(*doc, chunks, chunking_options, format);
      for (chunk& c : chunks) {
        c.text.clear();  // only sizes are needed for the summary
        all_chunks.push_back(std::move(c));
      }
    } else {
      text = extract_render(*doc, format);
    }
    if (out_dir.empty()) {
      if (format != "json" && inputs.size() > 1)
        text = fmt::format("{}<!-- source: {} -->\n\n{}", first ? "" : "\n", in.file.string(), text);
      std::fwrite(text.data(), 1, text.size(), stdout);
      first = false;
    } else {
      fs::path target = out_dir / in.relative;
      target += extension;
      std::error_code ec;
      fs::create_directories(target.parent_path(), ec);
      auto written = file_write_atomic(target, text);
      if (!written.ok()) {
        log_error("{}", written.message());
        ++failures;
        bar.advance();
        continue;
      }
    }
    ++ok;
    bar.advance();
  }
  bar.finish();
  std::fflush(stdout);
  if (chunking) log_info("{}", chunk_summary_format(chunk_summarize(all_chunks), chunking_options));
  if (!out_dir.empty() || failures)
    log_info("extracted {} of {} files, {} failed", ok, inputs.size(), failures);
  return failures ? exit_failed : exit_ok;
}

}  // namespace smelt
