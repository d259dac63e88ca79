// The teller subcommands, each a function from parsed flags to an exit status.
#pragma once

#include <string>
#include <vector>

#include "cli.hpp"

namespace teller::app {

/// A subcommand: its spec (flags, help) and what runs it.
struct Command {
    CommandSpec spec;
    int (*main)(const Args& args);
};

/// Every subcommand, in the order `teller --help` lists them.
const std::vector<Command>& commands();

int run_main(const Args& args);
int engine_main(const Args& args);
int gateway_main(const Args& args);
int train_main(const Args& args);
int eval_main(const Args& args);
int kafka_dev_main(const Args& args);

// teller train, eval and validate-data (nlu_commands.cpp).
int validate_data_main(const Args& args);
Command train_command();
Command eval_command();
Command validate_data_command();

// teller record and teller replay (replay_commands.cpp).
int record_main(const Args& args);
int replay_main(const Args& args);
std::vector<FlagSpec> record_flags();
std::vector<FlagSpec> replay_flags();

}  // namespace teller::app
