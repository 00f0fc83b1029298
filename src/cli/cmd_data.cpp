// `smelt data check|fix|convert|split|stats`: option tables and calls into src/dataset. Output
// formatting lives here; every rule and transformation lives in the library.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "core/log.h"
#include "core/text.h"
#include "dataset/convert.h"
#include "dataset/fix.h"
#include "dataset/split.h"
#include "dataset/stats.h"
#include "dataset/validate.h"

namespace smelt {

namespace fs = std::filesystem;

namespace {

const char* k_profiles_help =
    "Profiles (--profile):\n"
    "  siliconflow   SiliconFlow fine-tuning: role and content only; blank lines and extra keys are errors;\n"
    "                its docs give no minimum count, smelt asks for 1 example\n"
    "  openai        OpenAI fine-tuning: at least 10 examples; \"name\", and \"weight\" 0|1 on assistant "
    "messages\n"
    "  llamafactory  LLaMA-Factory messages data: top-level \"system\"/\"tools\" allowed; other keys warn\n"
    "  generic       the shared rules only; extra keys and blank lines are warnings";

void print(const std::string& s) {
  std::fwrite(s.data(), 1, s.size(), stdout);
}

const validate_profile& profile_of(const parsed_args& args) {
  const validate_profile* p = validate_profile_find(args.get("profile"));
  return p ? *p : *validate_profile_find("generic");  // the option table only admits known names
}

std::string plural(size_t n, const char* word) {
  return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s");
}

}  // namespace

const command_spec data_check_spec = {
    "data check",
    "FILE",
    "validate a chat JSONL file against a fine-tuning service's rules",
    std::string(
        "Every problem is printed as FILE:LINE: field: message (warnings say \"warning:\"), then\n"
        "statistics and a verdict. Rules for every profile: UTF-8 without BOM; one JSON object per line;\n"
        "a \"messages\" array; roles system|user|assistant; system only first; user and assistant\n"
        "alternate, starting with user and ending with assistant; non-empty string content.\n"
        "Exact and near-duplicate user turns (after NFC, case folding and removing punctuation and\n"
        "spaces; near = Jaccard similarity >= 0.8 of 3-character shingles, found with MinHash) are\n"
        "warnings. Exit status 1 if there is any error; warnings alone exit 0.\n\n") +
        k_profiles_help,
    {
        {"profile", 'p', validate_profile_choices(), "generic", "rules to check against"},
        {"json", 0, "", "", "print one JSON object (problems, counts, statistics) instead of text"},
        {"no-duplicates", 0, "", "", "skip the duplicate search"},
    },
    1,
};

int data_check_run(const parsed_args& args) {
  const std::string& file = args.positional[0];
  const validate_profile& profile = profile_of(args);
  validate_options options;
  options.duplicates = !args.flag("no-duplicates");
  auto report = validate_file(file, profile, options);
  if (!report.ok()) {
    log_error("{}", report.message());
    return exit_failed;
  }
  if (args.flag("json")) {
    nlohmann::ordered_json j;
    j["file"] = file;
    j["profile"] = profile.name;
    j["ok"] = report->ok();
    j["errors"] = report->errors;
    j["warnings"] = report->warnings;
    nlohmann::ordered_json problems = nlohmann::ordered_json::array();
    for (const auto& p : report->problems) problems.push_back(problem_to_json(p));
    j["problems"] = std::move(problems);
    j["stats"] = stats_to_json(report->stats);
    print(j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n");
  } else {
    std::string out;
    for (const auto& p : report->problems) out += problem_format(p, file) + "\n";
    const dataset_stats& s = report->stats;
    out += fmt::format("{}: {}, {} ({}, {} not readable as chat examples)\n", file,
                       plural(s.examples, "example"), plural(s.messages.total, "message"),
                       plural(report->lines, "line"), s.skipped_lines);
    if (s.examples) out += stats_render(s);
    out += fmt::format("{}: {} (profile {}): {}, {}\n", file, report->ok() ? "ok" : "failed", profile.name,
                       plural(report->errors, "error"), plural(report->warnings, "warning"));
    print(out);
  }
  std::fflush(stdout);
  return report->ok() ? exit_ok : exit_failed;
}

const command_spec data_fix_spec = {
    "data fix",
    "FILE",
    "repair a chat JSONL file; lines that cannot be repaired go to a rejects file",
    std::string(
        "Repairs: remove a UTF-8 BOM; trim content; lower-case roles (\"User\" -> \"user\"); merge\n"
        "consecutive turns of the same role (joined by a blank line); drop empty system messages;\n"
        "remove keys the profile does not allow. Lines still invalid afterwards are written to the\n"
        "rejects file as {\"line\":N,\"reason\":\"...\",\"original\":\"...\"}. Every input line ends up in\n"
        "exactly one of the two files. Lines needing no repair are copied unchanged.\n\n") +
        k_profiles_help,
    {
        {"output", 'o', "OUT", "", "repaired JSONL file (required)"},
        {"rejects", 0, "REJ", "OUT.rejects.jsonl",
         "rejected lines (OUT's .jsonl replaced by .rejects.jsonl)"},
        {"profile", 'p', validate_profile_choices(), "generic", "which keys are allowed"},
    },
    1,
};

int data_fix_run(const parsed_args& args) {
  if (args.get("output").empty()) {
    log_error("smelt data fix: -o OUT is required");
    return exit_usage;
  }
  fs::path out = args.get("output");
  fs::path rejects = args.was_given("rejects") ? fs::path(args.get("rejects")) : fs::path();
  if (rejects.empty()) {
    std::string base = out.string();
    if (text_ends_with(base, ".jsonl")) base.resize(base.size() - 6);
    rejects = base + ".rejects.jsonl";
  }
  auto report = fix_file(args.positional[0], out, rejects, profile_of(args));
  if (!report.ok()) {
    log_error("{}", report.message());
    return exit_failed;
  }
  const fix_counts& c = report->counts;
  log_info("{}: {} read; {} written to {} ({} repaired), {} rejected to {}", args.positional[0],
           plural(report->lines, "line"), report->written, out.string(), report->repaired, report->rejected,
           rejects.string());
  log_info(
      "repairs: bom {}, trimmed {}, role case {}, merged turns {}, empty system dropped {}, keys removed {}",
      c.bom, c.trimmed, c.role_case, c.merged, c.dropped_system, c.removed_keys);
  return exit_ok;
}

const command_spec data_convert_spec = {
    "data convert",
    "FILE",
    "convert Alpaca, ShareGPT or OpenAI-style records to chat JSONL",
    "FILE may be JSONL or one JSON array. Formats:\n"
    "  alpaca    {\"instruction\",\"input\",\"output\"[,\"system\"][,\"history\":[[user,assistant],...]]};\n"
    "            input is appended to the instruction after a blank line\n"
    "  sharegpt  {\"conversations\":[{\"from\":\"human|gpt|system\",\"value\":...}][,\"system\"]}\n"
    "  openai, messages  {\"messages\":[{\"role\",\"content\"}]} (other keys dropped)\n"
    "Records that cannot be converted are reported and skipped (exit status 1).",
    {
        {"from", 'f', "alpaca|sharegpt|openai|messages", "", "input format (required)"},
        {"output", 'o', "OUT", "", "chat JSONL file to write (required)"},
        {"system", 's', "TEXT", "", "system message for records that have none"},
    },
    1,
};

int data_convert_run(const parsed_args& args) {
  if (args.get("from").empty() || args.get("output").empty()) {
    log_error("smelt data convert: --from and -o are required (see smelt data convert --help)");
    return exit_usage;
  }
  convert_options options;
  options.from = *convert_format_parse(args.get("from"));
  options.system = args.get("system");
  const std::string& file = args.positional[0];
  auto report = convert_file(file, args.get("output"), options);
  if (!report.ok()) {
    log_error("{}", report.message());
    return exit_failed;
  }
  for (const auto& p : report->problems)
    log_error("{}", report->from_array ? fmt::format("{}: item {}: {}", file, p.number, p.message)
                                       : fmt::format("{}:{}: {}", file, p.number, p.message));
  log_info("{}: converted {} of {} records to {}", file, report->written, report->records,
           args.get("output"));
  return report->problems.empty() ? exit_ok : exit_failed;
}

const command_spec data_split_spec = {
    "data split",
    "FILE",
    "split a JSONL file into DIR/train.jsonl and DIR/val.jsonl",
    "The split is decided by --seed alone, so it is the same on every run and machine. Lines are\n"
    "copied unchanged; blank lines are dropped.\n"
    "--by source keeps every line of one source chunk on the same side. It reads the provenance\n"
    "file FILE-without-.jsonl + \".provenance.jsonl\" (train.jsonl -> train.provenance.jsonl, as\n"
    "smelt's corpus builder writes it): one JSON object per line, aligned line by line with FILE,\n"
    "each with a \"chunk_id\" (or else \"source\") string or number. Without that file it is an error.",
    {
        {"val", 0, "FRACTION", "0.1", "share of lines for validation (0 <= FRACTION < 1)"},
        {"seed", 0, "N", "42", "shuffle seed"},
        {"by", 0, "source", "", "group lines by source chunk (see above)"},
        {"output", 'o', "DIR", "", "directory for train.jsonl and val.jsonl (required)"},
    },
    1,
};

int data_split_run(const parsed_args& args) {
  if (args.get("output").empty()) {
    log_error("smelt data split: -o DIR is required");
    return exit_usage;
  }
  split_options options;
  auto val = args.get_double("val");
  auto seed = args.get_int("seed");
  if (!val.ok() || !seed.ok()) {
    log_error("smelt data split: {}", !val.ok() ? val.message() : seed.message());
    return exit_usage;
  }
  if (args.was_given("by") && args.get("by") != "source") {
    log_error("smelt data split: --by: expected source, got '{}'", args.get("by"));
    return exit_usage;
  }
  options.val_fraction = *val;
  options.seed = static_cast<uint64_t>(*seed);
  options.by_source = args.get("by") == "source";
  auto report = split_file(args.positional[0], args.get("output"), options);
  if (!report.ok()) {
    log_error("{}", report.message());
    return exit_failed;
  }
  log_info("{}: {} train -> {}, {} val -> {} ({} {})", args.positional[0], report->train,
           report->train_path.string(), report->val, report->val_path.string(), report->groups,
           options.by_source ? "source groups" : "lines");
  return exit_ok;
}

const command_spec data_stats_spec = {
    "data stats",
    "FILE",
    "statistics of a chat JSONL file: examples, messages, characters per role",
    "Characters are Unicode code points of message content; min/mean/max are per example.\n"
    "Lines that are not readable chat examples are counted as skipped (see smelt data check).\n"
    "Token counts need a model's tokenizer and are not reported yet.",
    {
        {"json", 0, "", "", "print JSON instead of a table"},
    },
    1,
};

int data_stats_run(const parsed_args& args) {
  const std::string& file = args.positional[0];
  validate_options options;
  options.duplicates = false;
  auto report = validate_file(file, *validate_profile_find("generic"), options);
  if (!report.ok()) {
    log_error("{}", report.message());
    return exit_failed;
  }
  const dataset_stats& s = report->stats;
  if (args.flag("json")) {
    nlohmann::ordered_json j;
    j["file"] = file;
    j["lines"] = report->lines;
    nlohmann::ordered_json stats = stats_to_json(s);
    for (const auto& [k, v] : stats.items()) j[k] = v;
    print(j.dump(2) + "\n");
  } else {
    print(fmt::format("{}: {}, {} ({}, {} skipped)\n", file, plural(s.examples, "example"),
                      plural(s.messages.total, "message"), plural(report->lines, "line"), s.skipped_lines));
    if (s.examples) print(stats_render(s));
  }
  std::fflush(stdout);
  return exit_ok;
}

}  // namespace smelt
