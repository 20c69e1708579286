// libFuzzer target: list files (`list NAME = file("PATH")`, `org.* = file("PATH")`).
// The input is written as list.txt in a private directory and read by two fixed
// policies there (compile_source anchors relative list paths at the policy's path):
//   - rules: one list tested as every kind of value a list file can hold (addresses,
//     domains, IP prefixes, text for equality, substrings, prefixes, suffixes, and
//     resemblance), then the image is run once over a small message;
//   - settings: every org.* list setting read from the same file. A line of the
//     wrong kind there is E062, so these get their own policy: in the first, one bad
//     line would otherwise stop every input short of codegen.
// Diagnostics are expected; crashes, sanitizer reports and hangs are bugs.
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>

#include "compiler/compiler.h"
#include "fuzz/temp_dir.h"
#include "runtime/message.h"
#include "vm/vm.h"

namespace {

constexpr const char* kRulesPolicy = R"(list entries = file("list.txt")
const look_alikes = entries

stage lists {
  rule addresses: if from.address in entries or recipients in entries then score +1 "address"
  rule domains: if from.domain in entries or urls.domain in entries or helo ends with entries
    then score +1 "domain"
  rule ips: if client.ip in entries or client.effective_ip not in entries then score +1 "ip"
  rule equal_texts: if subject in entries nocase or attachments.extension in entries then score +1 "text"
  rule substrings: if body contains entries or subject contains entries nocase then score +1 "substring"
  rule affixes: if header "X-Mailer" starts with entries or from.local ends with entries nocase
    then score +1 "affix"
  rule resemblance: if from.display_name resembles look_alikes then quarantine "look-alike"
}
)";

constexpr const char* kSettingsPolicy = R"(settings {
  org.domains = file("list.txt")
  org.sending_servers = file("list.txt")
  org.trusted_relays = file("list.txt")
  org.groups = file("list.txt")
  org.spamtraps = file("list.txt")
}

rule inside: if client.ip in org.sending_servers or recipients in org.spamtraps then tag "ours"
)";

constexpr const char* kMessage =
    "Received: from mail.example.net (mail.example.net [198.51.100.7]) by mx.widget.com\r\n"
    "From: Jane Widget <jane@widget.com>\r\n"
    "To: jim@widget.com\r\n"
    "Subject: Invoice 42\r\n"
    "X-Mailer: Outlook 16\r\n"
    "\r\n"
    "Please see https://pay.example.net/invoice and wire the money.\r\n";

const std::string& directory() {
  static const std::string dir = mp::fuzz::private_directory("list_fuzz");
  return dir;
}

void run_once(const mp::compiler::Compilation& c) {
  std::string image = mp::vm::write_image(*c.image);
  mp::vm::Evaluator evaluator(
      mp::vm::Program::load({reinterpret_cast<const uint8_t*>(image.data()), image.size()}));
  mp::runtime::Message message = mp::runtime::Message::parse(kMessage);
  mp::runtime::Envelope envelope;
  envelope.sender = "jane@widget.com";
  envelope.recipients = {"jim@widget.com"};
  envelope.client_ip = mp::runtime::IpAddress::parse("198.51.100.7");
  envelope.helo = "mail.example.net";
  evaluator.evaluate(message, envelope);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& dir = directory();
  {
    std::ofstream out(dir + "/list.txt", std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  mp::compiler::Compilation rules = mp::compiler::compile_source(dir + "/rules.mp", kRulesPolicy);
  if (rules.ok()) run_once(rules);
  mp::compiler::Compilation settings = mp::compiler::compile_source(dir + "/settings.mp", kSettingsPolicy);
  if (settings.ok()) run_once(settings);
  return 0;
}
