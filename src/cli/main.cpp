// smelt's entry point: finds the subcommand, parses its options, runs it. Nothing else.
#include <fmt/format.h>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/log.h"
#include "engine/cpu_isa.h"

namespace smelt {
namespace {

const std::vector<command>& command_table() {
  static const std::vector<command> table = {
      {&extract_spec, extract_run},
      {&data_check_spec, data_check_run},
      {&data_fix_spec, data_fix_run},
      {&data_convert_spec, data_convert_run},
      {&data_split_spec, data_split_run},
      {&data_stats_spec, data_stats_run},
      {&corpus_build_spec, corpus_build_run},
      {&tokenize_spec, tokenize_run},
      {&model_init_spec, model_init_run},
      {&generate_spec, generate_run},
      {&chat_spec, chat_run},
      {&compare_spec, compare_run},
      {&train_spec, train_run_command},
      {&eval_spec, eval_run_command},
  };
  return table;
}

void print_overview() {
  std::string out = "smelt " SMELT_VERSION
                    " — turn your documents into a domain-expert language model\n\n"
                    "usage: smelt COMMAND [options] [arguments]\n\ncommands:\n";
  for (const auto& c : command_table()) out += fmt::format("  {:<14}  {}\n", c.spec->name, c.spec->summary);
  out += "\nRun 'smelt COMMAND --help' for a command's options and defaults.\n";
  std::fputs(out.c_str(), stdout);
}

int main_dispatch(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    print_overview();
    return args.empty() ? exit_usage : exit_ok;
  }
  if (args[0] == "--version") {
    std::puts(("smelt " SMELT_VERSION "\n" + cpu_path_summary()).c_str());
    return exit_ok;
  }
  // Longest match first: "data check" before "data".
  const command* found = nullptr;
  size_t used = 0;
  for (const auto& c : command_table()) {
    const std::string& name = c.spec->name;
    size_t space = name.find(' ');
    if (space == std::string::npos) {
      if (args[0] == name) found = &c, used = 1;
    } else if (args.size() >= 2 && args[0] == name.substr(0, space) && args[1] == name.substr(space + 1)) {
      found = &c, used = 2;
    }
    if (found) break;
  }
  if (!found) {
    bool group = false;
    for (const auto& c : command_table()) group |= c.spec->name.rfind(args[0] + " ", 0) == 0;
    if (group) {
      std::string out = fmt::format("usage: smelt {} SUBCOMMAND\n\nsubcommands:\n", args[0]);
      for (const auto& c : command_table())
        if (c.spec->name.rfind(args[0] + " ", 0) == 0)
          out += fmt::format("  {:<14}  {}\n", c.spec->name, c.spec->summary);
      std::fputs(out.c_str(), stderr);
      return exit_usage;
    }
    log_error("unknown command '{}' (see smelt --help)", args[0]);
    return exit_usage;
  }
  auto parsed = options_parse(*found->spec, std::vector<std::string>(args.begin() + used, args.end()));
  if (!parsed.ok()) {
    log_error("{}", parsed.message());
    return exit_usage;
  }
  if (parsed->flag("help")) {
    std::fputs(options_help(*found->spec).c_str(), stdout);
    return exit_ok;
  }
  return found->run(*parsed);
}

}  // namespace
}  // namespace smelt

// Commands report the errors users cause as values; an exception reaching here is a failure inside a
// library (oneDNN, the C++ runtime): it is named and the exit code says failed, never std::terminate.
// What was saved before (checkpoints, corpus journals: written atomically as they go) stays valid.
int main(int argc, char** argv) {
  try {
    return smelt::main_dispatch(argc, argv);
  } catch (const std::exception& e) {
    smelt::log_error("internal error: {} (please report it with the output of smelt --version)", e.what());
  } catch (...) {
    smelt::log_error(
        "internal error: an unknown exception (please report it with the output of smelt --version)");
  }
  return smelt::exit_failed;
}
