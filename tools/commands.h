// policyc's subcommands, one file each (tools/cmd_*.cpp, all compiled into policyc).
// A file registers its subcommand with MP_REGISTER_COMMAND(order, adder); policyc adds
// them to the command line in `order`. An adder creates the subcommand and sets a
// callback that stores the exit status in `status`.
#pragma once

#include <CLI/CLI.hpp>

#include <utility>
#include <vector>

namespace mp::tools {

using CommandAdder = void (*)(CLI::App& app, int& status);

std::vector<std::pair<int, CommandAdder>>& command_registry();

struct CommandRegistration {
  CommandRegistration(int order, CommandAdder adder) { command_registry().emplace_back(order, adder); }
};

}  // namespace mp::tools

#define MP_REGISTER_COMMAND(order, adder) \
  static const ::mp::tools::CommandRegistration mp_command_registration_##adder(order, adder)
