// The table of smelt subcommands. Each cmd_*.cpp defines its command_spec and run function;
// main.cpp only dispatches. Exit codes: 0 ok, 1 some input failed, 2 usage error.
#pragma once

#include <string>
#include <vector>

#include "cli/options.h"

namespace smelt {

using command_run = int (*)(const parsed_args& args);

struct command {
  const command_spec* spec;
  command_run run;
};

enum exit_code { exit_ok = 0, exit_failed = 1, exit_usage = 2 };

extern const command_spec extract_spec;
int extract_run(const parsed_args& args);
extern const command_spec data_check_spec;
int data_check_run(const parsed_args& args);
extern const command_spec data_fix_spec;
int data_fix_run(const parsed_args& args);
extern const command_spec data_convert_spec;
int data_convert_run(const parsed_args& args);
extern const command_spec data_split_spec;
int data_split_run(const parsed_args& args);
extern const command_spec data_stats_spec;
int data_stats_run(const parsed_args& args);
extern const command_spec corpus_build_spec;
int corpus_build_run(const parsed_args& args);
extern const command_spec model_init_spec;
int model_init_run(const parsed_args& args);
extern const command_spec generate_spec;
int generate_run(const parsed_args& args);
extern const command_spec chat_spec;
int chat_run(const parsed_args& args);
extern const command_spec compare_spec;
int compare_run(const parsed_args& args);
extern const command_spec train_spec;
int train_run_command(const parsed_args& args);
extern const command_spec eval_spec;
int eval_run_command(const parsed_args& args);
extern const command_spec tokenize_spec;
int tokenize_run(const parsed_args& args);

}  // namespace smelt
