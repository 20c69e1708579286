// EnvelopeOptions: the envelope flags and the envelope they describe.
#include "tools/envelope_options.h"

#include <iostream>

#include "tools/inputs.h"

namespace mp::tools {

void EnvelopeOptions::add_to(CLI::App& command) {
  sender_option_ =
      command.add_option("--sender", sender_, "Envelope sender (MAIL FROM); default: the Return-Path header");
  // One address per --rcpt, so that the message paths after it are not taken as recipients.
  command.add_option("--rcpt", recipients_, "Envelope recipient (RCPT TO), repeatable")
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  command.add_option("--client-ip", client_ip_, "Connecting client's IP address");
  command.add_option("--helo", helo_, "HELO/EHLO name");
}

std::optional<runtime::Envelope> EnvelopeOptions::base() const {
  runtime::Envelope envelope;
  envelope.recipients = recipients_;
  envelope.helo = helo_;
  if (!client_ip_.empty()) {
    envelope.client_ip = runtime::IpAddress::parse(client_ip_);
    if (!envelope.client_ip) {
      std::cerr << "error: --client-ip " << client_ip_ << " is not an IP address\n";
      return std::nullopt;
    }
  }
  return envelope;
}

runtime::Envelope EnvelopeOptions::for_message(const runtime::Envelope& base, const runtime::Message& message) const {
  runtime::Envelope envelope = base;
  bool sender_given = sender_option_ != nullptr && sender_option_->count() > 0;
  envelope.sender = sender_given ? sender_ : default_sender(message);
  return envelope;
}

}  // namespace mp::tools
