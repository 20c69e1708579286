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
  std::string auth_user;    // SASL login name (RFC 4954 AUTH), "" when not authenticated
  std::string tls_version;  // TLS protocol of the session ("TLSv1.3"), "" for plain SMTP
};

}  // namespace mp::runtime
