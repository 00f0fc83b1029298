// `smelt extract`: files and directories -> Markdown, plain text or JSON documents.
// One bad file is reported and skipped; the exit code says whether anything failed.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "core/files.h"
#include "core/log.h"
#include "core/progress.h"
#include "extract/extract.h"

namespace smelt {

namespace fs = std::filesystem;

const command_spec extract_spec = {
    "extract",
    "FILE|DIR...",
    "extract text from PDF, DOCX, PPTX, XLSX, CSV, EPUB, HTML, Markdown, TXT and EML files",
    "Directories are walked recursively. Without -o the result goes to standard output.",
    {
        {"format", 'f', "markdown|text|json", "markdown", "output format; json includes headings and page anchors"},
        {"output", 'o', "DIR", "", "write one file per input under DIR (NAME.EXT.md/.txt/.json)"},
        {"quiet", 'q', "", "", "print errors only"},
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

}  // namespace

int extract_run(const parsed_args& args) {
  if (args.flag("quiet")) log_set_level(log_level::warn);
  const std::string& format = args.get("format");
  std::string extension = format == "json" ? ".json" : format == "text" ? ".txt" : ".md";
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
    std::string text = extract_render(*doc, format);
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
  if (!out_dir.empty() || failures) log_info("extracted {} of {} files, {} failed", ok, inputs.size(), failures);
  return failures ? exit_failed : exit_ok;
}

}  // namespace smelt
