// policyc: the policy compiler's command line. Thin: each subcommand (tools/cmd_*.cpp)
// wires the libraries (compiler/, vm/, runtime/) to files and prints results.
#include <algorithm>

#include "tools/commands.h"

namespace mp::tools {

std::vector<std::pair<int, CommandAdder>>& command_registry() {
  static std::vector<std::pair<int, CommandAdder>> registry;
  return registry;
}

}  // namespace mp::tools

int main(int argc, char** argv) {
  CLI::App app{"policyc: compile, check, test and run mailpolicy policies"};
  app.require_subcommand(1);
  int status = 0;
  auto& registry = mp::tools::command_registry();
  std::stable_sort(registry.begin(), registry.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [order, adder] : registry) adder(app, status);
  CLI11_PARSE(app, argc, argv);
  return status;
}
