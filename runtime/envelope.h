// The SMTP envelope of a message: what the gateway learnt from the session, as
// opposed to what the message's headers claim.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "runtime/ip.h"

namespace mp::runtime {

struct Envelope {
  std::string sender;                   // MAIL FROM, "" for the null sender
  std::vector<std::string> recipients;  // RCPT TO
  std::optional<IpAddress> client_ip;
  std::string helo;
};

}  // namespace mp::runtime
