// The SMTP envelope flags shared by `policyc run` and `policyc diff`: --sender,
// --rcpt (one address each), --client-ip, --helo, --auth-user, --tls; and the envelope sidecar, a file
// FILE.env next to message FILE holding the same flags for that message
// ("--client-ip 203.0.113.10 --sender a@widget.com --rcpt b@example.org"; words split
// at white space, "" for an empty value, # starts a comment). For each field the
// command line wins over the sidecar, and the sidecar over what the message says
// (its Return-Path for the sender).
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <vector>

#include "runtime/envelope.h"
#include "runtime/message.h"

namespace mp::tools {

// One envelope field of a message and where its value came from, for --explain.
struct EnvelopeSource {
  std::string field;  // "sender", "rcpt", "client.ip", "helo", "client.auth_user", "client.tls"
  std::string value;
  std::string source;  // "the command line", the sidecar's path, or "Return-Path" (derived)
};

struct MessageEnvelope {
  runtime::Envelope envelope;
  std::vector<EnvelopeSource> sources;  // the fields that have a value, in the order above
  std::string error;                    // the sidecar cannot be used: do not evaluate the message
};

class EnvelopeOptions {
 public:
  void add_to(CLI::App& command);
  // The envelope of the flags; nullopt (after printing why) on a bad --client-ip.
  std::optional<runtime::Envelope> base() const;
  // The envelope for the message read from `file` (its sidecar is `file` + ".env").
  MessageEnvelope for_message(const runtime::Envelope& base, const runtime::Message& message,
                              const std::string& file) const;

 private:
  std::string sender_;
  CLI::Option* sender_option_ = nullptr;
  std::vector<std::string> recipients_;
  std::string client_ip_;
  std::string helo_;
  CLI::Option* helo_option_ = nullptr;
  std::string auth_user_;
  CLI::Option* auth_user_option_ = nullptr;
  std::string tls_version_;
  CLI::Option* tls_option_ = nullptr;
};

// `--explain` lines naming the source of the envelope:
// "  envelope from mail/x.eml.env: sender=a@widget.com rcpt=b@example.org".
std::string envelope_text(const std::vector<EnvelopeSource>& sources);
// `verdict_line` (one JSON object) with the key "envelope": [{"field", "value", "source"}].
std::string with_envelope_json(const std::string& verdict_line, const std::vector<EnvelopeSource>& sources);

}  // namespace mp::tools
