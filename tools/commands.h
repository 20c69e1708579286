// policyc's subcommands, one registration function per file (tools/cmd_*.cpp). Each
// adds its subcommand to the app; its callback stores the exit status in `status`.
#pragma once

#include <CLI/CLI.hpp>

namespace mp::tools {

void add_compile_commands(CLI::App& app, int& status);  // check, build, disasm, explain
void add_run_command(CLI::App& app, int& status);

}  // namespace mp::tools
