// policyc sign: DKIM-sign outbound messages (RFC 6376; rsa-sha256 or ed25519-sha256 as
// the key says), writing each to DIR with its DKIM-Signature prepended.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "auth/dkim.h"
#include "tools/commands.h"
#include "tools/inputs.h"

namespace mp::tools {

namespace {

struct SignOptions {
  std::vector<std::string> messages;
  std::string domain, selector, key_file, output;
  std::vector<std::string> headers;
  bool simple = false;
  bool print_record = false;
};

std::string read_file(const std::string& path, bool& ok) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  ok = static_cast<bool>(in) || in.eof();
  return bytes.str();
}

// A leading mbox "From " line is not part of the message and must not be signed.
std::string_view without_mbox_line(std::string_view bytes) {
  if (!bytes.starts_with("From ")) return bytes;
  size_t end = bytes.find('\n');
  return end == std::string_view::npos ? std::string_view() : bytes.substr(end + 1);
}

int sign(const SignOptions& o) {
  bool ok = false;
  auth::DkimSigner signer{o.domain, o.selector, read_file(o.key_file, ok)};
  if (!ok || signer.private_key_pem.empty()) {
    std::cerr << "error: cannot read the key " << o.key_file << "\n";
    return 2;
  }
  if (!o.headers.empty()) signer.headers = o.headers;
  signer.relaxed_header = signer.relaxed_body = !o.simple;
  try {
    if (o.print_record)
      std::cout << o.selector << "._domainkey." << o.domain << " TXT \""
                << auth::dkim_public_key_record(signer.private_key_pem) << "\"\n";
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  }
  std::filesystem::create_directories(o.output);
  int status = 0;
  for (auto& input : read_messages(o.messages)) {
    std::filesystem::path out =
        std::filesystem::path(o.output) / std::filesystem::path(input.name).filename();
    try {
      if (!input.error.empty()) throw std::runtime_error(input.error);
      std::string_view message = without_mbox_line(input.bytes);
      std::string signature = auth::dkim_sign(message, signer, std::time(nullptr));
      std::string eol = message.find("\r\n") != std::string_view::npos ? "\r\n" : "\n";
      if (eol == "\n") {
        for (size_t p; (p = signature.find("\r\n")) != std::string::npos;) signature.replace(p, 2, "\n");
      }
      std::ofstream file(out, std::ios::binary | std::ios::trunc);
      file << signature << eol << message;
      if (!file) throw std::runtime_error("cannot write " + out.string());
      std::cout << input.name << ": signed d=" << o.domain << " s=" << o.selector << " -> " << out.string()
                << "\n";
    } catch (const std::exception& e) {
      std::cerr << input.name << ": error: " << e.what() << "\n";
      status = 1;
    }
  }
  return status;
}

void add_sign_command(CLI::App& app, int& status) {
  auto o = std::make_shared<SignOptions>();
  auto* cmd = app.add_subcommand("sign", "DKIM-sign messages for outbound mail");
  cmd->add_option("messages", o->messages, "Message files, mbox files or directories")->required();
  cmd->add_option("--domain", o->domain, "Signing domain (d=)")->required();
  cmd->add_option("--selector", o->selector, "Selector (s=)")->required();
  cmd->add_option("--key", o->key_file, "Private key, PEM (RSA of at least 1024 bits, or Ed25519)")
      ->required();
  cmd->add_option("--output", o->output, "Directory for the signed messages")->required()->type_name("DIR");
  cmd->add_option("--headers", o->headers,
                  "Header fields to sign (default: from,to,subject,date,message-id,...)")
      ->delimiter(',');
  cmd->add_flag("--simple", o->simple, "simple/simple canonicalisation (default relaxed/relaxed)");
  cmd->add_flag("--print-record", o->print_record, "Print the TXT record to publish for the key");
  cmd->callback([o, &status] { status = sign(*o); });
}

}  // namespace

MP_REGISTER_COMMAND(70, add_sign_command);

}  // namespace mp::tools
