// policyc check | build | disasm | explain.
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "compiler/lint.h"
#include "lang/diagnostics.h"
#include "tools/commands.h"
#include "tools/inputs.h"

namespace mp::tools {

namespace {

struct CompileOptions {
  std::string policy;
  std::string output;
  std::string format = "text";
  std::string code;
};

int check(const CompileOptions& o) {
  compiler::Compilation c =
      compiler::compile_file(o.policy, {.lint = false, .modules = {}, .databases = false});
  print_diagnostics(c, o.format, std::cout);
  if (!c.ok()) return 1;
  if (o.format == "text") {
    std::cerr << o.policy << ": ok (" << c.image->rules.size() << " rules, " << c.image->patterns.size()
              << " patterns)\n";
  }
  return 0;
}

int build(const CompileOptions& o) {
  compiler::Compilation c = compiler::compile_file(o.policy);
  print_diagnostics(c, o.format, std::cout);
  if (!c.ok()) return 1;
  std::string bytes = vm::write_image(*c.image);
  std::ofstream out(o.output, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    std::cerr << "error: cannot write " << o.output << "\n";
    return 1;
  }
  return 0;
}

int disasm(const CompileOptions& o) {
  vm::ProgramPtr program = load_program(o.policy, "text");
  if (!program) return 1;
  std::cout << vm::disassemble(program->image());
  return 0;
}

int explain(const CompileOptions& o) {
  bool lint = o.code.starts_with("L");
  std::string_view text = lint ? compiler::lint_explanation(o.code) : lang::error_explanation(o.code);
  std::string_view title = lint ? compiler::lint_title(o.code) : lang::error_title(o.code);
  if (text.empty()) {
    std::cerr << "error: no such error or lint code `" << o.code << "`\n";
    return 1;
  }
  if (o.format == "json") {
    nlohmann::ordered_json j = {{"code", o.code}, {"title", title}, {"explanation", text}};
    std::cout << j.dump() << "\n";
  } else {
    std::cout << o.code << ": " << title << "\n\n" << text << "\n";
  }
  return 0;
}

}  // namespace

namespace {

void add_compile_commands(CLI::App& app, int& status) {
  auto options = std::make_shared<CompileOptions>();
  auto format_option = [&](CLI::App* cmd) {
    cmd->add_option("--format", options->format, "Diagnostic format")->check(CLI::IsMember({"text", "json"}));
  };

  auto* check_cmd = app.add_subcommand("check", "Check a policy and print diagnostics (exit 1 on errors)");
  check_cmd->add_option("policy", options->policy, "Policy file")->required();
  format_option(check_cmd);
  check_cmd->callback([options, &status] { status = check(*options); });

  auto* build_cmd = app.add_subcommand("build", "Compile a policy into an image");
  build_cmd->add_option("policy", options->policy, "Policy file")->required();
  build_cmd->add_option("-o,--output", options->output, "Image file to write")->required();
  format_option(build_cmd);
  build_cmd->callback([options, &status] { status = build(*options); });

  auto* disasm_cmd = app.add_subcommand("disasm", "Print the bytecode of a policy or image");
  disasm_cmd->add_option("policy", options->policy, "Policy source or compiled image")->required();
  disasm_cmd->callback([options, &status] { status = disasm(*options); });

  auto* explain_cmd = app.add_subcommand("explain", "Explain an error or lint code, e.g. E020 or L005");
  explain_cmd->add_option("code", options->code, "Error code")->required();
  explain_cmd->add_option("--format", options->format, "Output format")
      ->check(CLI::IsMember({"text", "json"}));
  explain_cmd->callback([options, &status] { status = explain(*options); });
}

}  // namespace

MP_REGISTER_COMMAND(10, add_compile_commands);

}  // namespace mp::tools
