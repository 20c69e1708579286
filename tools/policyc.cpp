// policyc: the policy compiler's command line. Thin: each subcommand (tools/cmd_*.cpp)
// wires the libraries (compiler/, vm/, runtime/) to files and prints results.
#include <algorithm>
#include <iostream>

#include "lang/diagnostics.h"
#include "tools/commands.h"

namespace mp::tools {

std::vector<std::pair<int, CommandAdder>>& command_registry() {
  static std::vector<std::pair<int, CommandAdder>> registry;
  return registry;
}

namespace {

// Exit status of every command-line mistake (bad option value, missing argument,
// unknown command), so that scripts need not know CLI11's own codes (105, 106, 109).
constexpr int kUsageError = 2;

// The first word that is not an option: the subcommand the user meant, since
// policyc itself takes no option with a value.
std::string first_word(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string word = argv[i];
    if (!word.empty() && word[0] != '-') return word;
  }
  return {};
}

// "unknown command `chek`; did you mean `check`?" when the first word names no
// subcommand, else CLI11's own message.
std::string usage_message(const CLI::App& app, const CLI::ParseError& e, int argc, char** argv) {
  std::string word = first_word(argc, argv);
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands({})) names.push_back(sub->get_name());
  if (word.empty() || std::find(names.begin(), names.end(), word) != names.end()) return e.what();
  std::string message = "unknown command `" + word + "`";
  std::string best = lang::closest_name(word, names);
  return best.empty() ? message : message + "; did you mean `" + best + "`?";
}

}  // namespace

}  // namespace mp::tools

int main(int argc, char** argv) {
  CLI::App app{"policyc: compile, check, test and run mailpolicy policies"};
  app.set_version_flag("--version", "policyc " MP_VERSION, "Print the version and exit");
  app.require_subcommand(1);
  int status = 0;
  auto& registry = mp::tools::command_registry();
  std::stable_sort(registry.begin(), registry.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [order, adder] : registry) adder(app, status);
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help, --version
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "error: " << mp::tools::usage_message(app, e, argc, argv) << "\n"
              << "Run with --help for more information.\n";
    return mp::tools::kUsageError;
  }
  return status;
}
