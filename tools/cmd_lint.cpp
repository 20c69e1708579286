// policyc lint: compile with the lints of compiler/lints.def and print the warnings.
#include <iostream>
#include <memory>

#include "tools/commands.h"
#include "tools/inputs.h"

namespace mp::tools {

namespace {

struct LintOptions {
  std::vector<std::string> policies;
  std::string format = "text";
  bool deny_warnings = false;
};

int lint_policies(const LintOptions& o) {
  int status = 0;
  size_t warnings = 0;
  for (const auto& path : o.policies) {
    compiler::Compilation c = compiler::compile_file(path, {.lint = true, .modules = {}, .databases = false});
    print_diagnostics(c, o.format, std::cout);
    if (!c.ok()) status = 1;
    warnings += c.diagnostics.items().size() - c.diagnostics.error_count();
  }
  if (o.format == "text") {
    std::cerr << warnings << (warnings == 1 ? " warning" : " warnings") << "\n";
  }
  if (o.deny_warnings && warnings > 0) status = 1;
  return status;
}

void add_lint_command(CLI::App& app, int& status) {
  auto o = std::make_shared<LintOptions>();
  auto* cmd = app.add_subcommand("lint", "Warn about rules that are shadowed, impossible, spoofable or slow");
  cmd->add_option("policy", o->policies, "Policy files")->required();
  cmd->add_option("--format", o->format, "Diagnostic format")->check(CLI::IsMember({"text", "json"}));
  cmd->add_flag("--deny-warnings", o->deny_warnings, "Exit with status 1 when there are warnings");
  cmd->callback([o, &status] { status = lint_policies(*o); });
}

}  // namespace

MP_REGISTER_COMMAND(12, add_lint_command);

}  // namespace mp::tools
