// TEMPORARY: replaced by the dataset commands (smelt data check|fix|convert|split|stats).
#include "cli/commands.h"
#include "core/log.h"

namespace smelt {

const command_spec data_check_spec = {"data check", "FILE", "validate a chat JSONL file (pending)", "", {}, 1};
const command_spec data_fix_spec = {"data fix", "FILE", "repair a chat JSONL file (pending)", "", {}, 1};
const command_spec data_convert_spec = {"data convert", "FILE", "convert datasets (pending)", "", {}, 1};
const command_spec data_split_spec = {"data split", "FILE", "split datasets (pending)", "", {}, 1};
const command_spec data_stats_spec = {"data stats", "FILE", "dataset statistics (pending)", "", {}, 1};
int data_check_run(const parsed_args&) { log_error("not yet available"); return exit_failed; }
int data_fix_run(const parsed_args&) { log_error("not yet available"); return exit_failed; }
int data_convert_run(const parsed_args&) { log_error("not yet available"); return exit_failed; }
int data_split_run(const parsed_args&) { log_error("not yet available"); return exit_failed; }
int data_stats_run(const parsed_args&) { log_error("not yet available"); return exit_failed; }

}  // namespace smelt
