// The SMTP envelope flags shared by `policyc run` and `policyc diff`: --sender,
// --rcpt (one address each), --client-ip, --helo.
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <vector>

#include "runtime/envelope.h"
#include "runtime/message.h"

namespace mp::tools {

class EnvelopeOptions {
 public:
  void add_to(CLI::App& command);
  // The envelope without its sender; nullopt (after printing why) on a bad --client-ip.
  std::optional<runtime::Envelope> base() const;
  // The envelope for one message: --sender if given (even "", the null sender),
  // else the message's Return-Path.
  runtime::Envelope for_message(const runtime::Envelope& base, const runtime::Message& message) const;

 private:
  std::string sender_;
  CLI::Option* sender_option_ = nullptr;
  std::vector<std::string> recipients_;
  std::string client_ip_;
  std::string helo_;
};

}  // namespace mp::tools
