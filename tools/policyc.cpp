// policyc: the policy compiler's command line. Thin: each subcommand (tools/cmd_*.cpp)
// wires the libraries (compiler/, vm/, runtime/) to files and prints results.
#include "tools/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"policyc: compile, check and run mailpolicy policies"};
  app.require_subcommand(1);
  int status = 0;
  mp::tools::add_compile_commands(app, status);
  mp::tools::add_run_command(app, status);
  CLI11_PARSE(app, argc, argv);
  return status;
}
