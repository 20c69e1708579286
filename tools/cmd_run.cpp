// policyc run: evaluate messages with a policy or an image.
#include <iostream>
#include <memory>

#include "runtime/message.h"
#include "tools/commands.h"
#include "tools/inputs.h"
#include "tools/verdict_format.h"

namespace mp::tools {

namespace {

struct RunOptions {
  std::string policy;
  std::vector<std::string> messages;
  std::string sender;
  bool sender_given = false;  // --sender "" means the null sender, not "use Return-Path"
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
  if (open != std::string::npos && close != std::string::npos && close > open) {
    s = s.substr(open + 1, close - open - 1);
  }
  s.erase(0, s.find_first_not_of(" \t"));
  s.erase(s.find_last_not_of(" \t") + 1);
  return s;
}

int run(const RunOptions& o) {
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
  evaluator.set_trace(o.explain);
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
    envelope.sender = o.sender_given ? o.sender : default_sender(message);
    vm::Verdict verdict = evaluator.evaluate(message, envelope);
    std::cout << (o.format == "json" ? verdict_json(input.name, verdict) + "\n"
                                     : verdict_text(input.name, verdict, o.explain));
  }
  return status;
}

void add_run_command(CLI::App& app, int& status) {
  auto o = std::make_shared<RunOptions>();
  auto* cmd = app.add_subcommand("run", "Evaluate messages with a policy or an image");
  cmd->add_option("policy", o->policy, "Policy source or compiled image")->required();
  cmd->add_option("messages", o->messages, "Message files, mbox files or directories")->required();
  auto* sender = cmd->add_option("--sender", o->sender, "Envelope sender (MAIL FROM); default: Return-Path");
  // One address per --rcpt, so that message paths after it are not taken as recipients.
  cmd->add_option("--rcpt", o->recipients, "Envelope recipient (RCPT TO), repeatable")
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("--client-ip", o->client_ip, "Connecting client's IP address");
  cmd->add_option("--helo", o->helo, "HELO/EHLO name");
  cmd->add_option("--format", o->format, "Output format")->check(CLI::IsMember({"text", "json"}));
  cmd->add_flag("--explain", o->explain, "Explain each verdict: fired rules, matches, scores");
  cmd->callback([o, sender, &status] {
    o->sender_given = sender->count() > 0;
    status = run(*o);
  });
}

}  // namespace

MP_REGISTER_COMMAND(20, add_run_command);

}  // namespace mp::tools
