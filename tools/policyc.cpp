// policyc: the policy compiler's command line. Thin: each subcommand wires the
// libraries (compiler/, vm/, runtime/) to files and prints results.
//
//   policyc check POLICY [--format text|json]
//   policyc build POLICY -o FILE.pbc
//   policyc run POLICY|IMAGE MSG... [--sender A] [--rcpt A]... [--client-ip IP]
//               [--helo H] [--format text|json] [--explain]
//   policyc disasm POLICY|IMAGE
//   policyc explain CODE
#include <CLI/CLI.hpp>

#include <fstream>
#include <iostream>

#include "lang/diagnostics.h"
#include "runtime/message.h"
#include "tools/inputs.h"
#include "tools/verdict_format.h"

namespace mp::tools {

namespace {

int cmd_check(const std::string& policy, const std::string& format) {
  compiler::Compilation c = compiler::compile_file(policy);
  print_diagnostics(c, format);
  if (!c.ok()) return 1;
  if (format == "text") {
    std::cerr << policy << ": ok (" << c.image->rules.size() << " rules, " << c.image->patterns.size()
              << " patterns)\n";
  }
  return 0;
}

int cmd_build(const std::string& policy, const std::string& output, const std::string& format) {
  compiler::Compilation c = compiler::compile_file(policy);
  print_diagnostics(c, format);
  if (!c.ok()) return 1;
  std::string bytes = vm::write_image(*c.image);
  std::ofstream out(output, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    std::cerr << "error: cannot write " << output << "\n";
    return 1;
  }
  return 0;
}

struct RunOptions {
  std::string policy;
  std::vector<std::string> messages;
  std::string sender;
  std::vector<std::string> recipients;
  std::string client_ip;
  std::string helo;
  std::string format = "text";
  bool explain = false;
};

// Without --sender, the message's own Return-Path stands in for MAIL FROM.
std::string default_sender(const runtime::Message& message) {
  auto path = message.header("Return-Path");
  if (!path) return {};
  std::string s(*path);
  size_t open = s.find('<'), close = s.rfind('>');
  if (open != std::string::npos && close != std::string::npos && close > open) s = s.substr(open + 1, close - open - 1);
  s.erase(0, s.find_first_not_of(" \t"));
  s.erase(s.find_last_not_of(" \t") + 1);
  return s;
}

int cmd_run(const RunOptions& o) {
  vm::ProgramPtr program = load_program(o.policy, o.format);
  if (!program) return 1;
  runtime::Envelope base;
  base.recipients = o.recipients;
  base.helo = o.helo;
  if (!o.client_ip.empty()) {
    base.client_ip = runtime::IpAddress::parse(o.client_ip);
    if (!base.client_ip) {
      std::cerr << "error: --client-ip " << o.client_ip << " is not an IP address\n";
      return 2;
    }
  }
  vm::Evaluator evaluator(program);
  int status = 0;
  for (auto& input : read_messages(o.messages)) {
    if (!input.error.empty()) {
      status = 1;
      if (o.format == "json") std::cout << error_json(input.name, input.error) << "\n";
      else std::cerr << input.name << ": error: " << input.error << "\n";
      continue;
    }
    runtime::Message message = runtime::Message::parse(std::move(input.bytes));
    runtime::Envelope envelope = base;
    envelope.sender = o.sender.empty() ? default_sender(message) : o.sender;
    vm::Verdict verdict = evaluator.evaluate(message, envelope);
    std::cout << (o.format == "json" ? verdict_json(input.name, verdict) + "\n"
                                     : verdict_text(input.name, verdict, o.explain));
  }
  return status;
}

int cmd_disasm(const std::string& path) {
  vm::ProgramPtr program = load_program(path, "text");
  if (!program) return 1;
  std::cout << vm::disassemble(program->image());
  return 0;
}

int cmd_explain(const std::string& code) {
  std::string_view text = lang::error_explanation(code);
  if (text.empty()) {
    std::cerr << "error: no such error code `" << code << "`\n";
    return 1;
  }
  std::cout << code << ": " << lang::error_title(code) << "\n\n" << text << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"policyc: compile, check and run mailpolicy policies"};
  app.require_subcommand(1);
  std::string format = "text";
  int status = 0;

  std::string policy, output, image, code;
  auto* check = app.add_subcommand("check", "Check a policy and print diagnostics (exit 1 on errors)");
  check->add_option("policy", policy, "Policy file")->required();
  check->add_option("--format", format, "Diagnostic format")->check(CLI::IsMember({"text", "json"}));
  check->callback([&] { status = cmd_check(policy, format); });

  auto* build = app.add_subcommand("build", "Compile a policy into an image");
  build->add_option("policy", policy, "Policy file")->required();
  build->add_option("-o,--output", output, "Image file to write")->required();
  build->add_option("--format", format, "Diagnostic format")->check(CLI::IsMember({"text", "json"}));
  build->callback([&] { status = cmd_build(policy, output, format); });

  RunOptions run_options;
  auto* run = app.add_subcommand("run", "Evaluate messages with a policy or an image");
  run->add_option("policy", run_options.policy, "Policy source or compiled image")->required();
  run->add_option("messages", run_options.messages, "Message files, mbox files or directories")->required();
  run->add_option("--sender", run_options.sender, "Envelope sender (MAIL FROM); default: Return-Path");
  run->add_option("--rcpt", run_options.recipients, "Envelope recipient (RCPT TO), repeatable");
  run->add_option("--client-ip", run_options.client_ip, "Connecting client's IP address");
  run->add_option("--helo", run_options.helo, "HELO/EHLO name");
  run->add_option("--format", run_options.format, "Output format")->check(CLI::IsMember({"text", "json"}));
  run->add_flag("--explain", run_options.explain, "Explain each verdict: fired rules, matches, scores");
  run->callback([&] { status = cmd_run(run_options); });

  auto* disasm = app.add_subcommand("disasm", "Print the bytecode of a policy or image");
  disasm->add_option("policy", image, "Policy source or compiled image")->required();
  disasm->callback([&] { status = cmd_disasm(image); });

  auto* explain = app.add_subcommand("explain", "Explain an error code, e.g. E020");
  explain->add_option("code", code, "Error code")->required();
  explain->callback([&] { status = cmd_explain(code); });

  CLI11_PARSE(app, argc, argv);
  return status;
}

}  // namespace mp::tools

int main(int argc, char** argv) { return mp::tools::main(argc, argv); }
