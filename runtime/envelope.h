// The SMTP envelope of a message: what the gateway learnt from the session, as
// opposed to what the message's headers claim.
#pragma once

#include <optional>
#include <string>
#include <string_view>
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

// An address as given for the envelope, bare: blanks around it off, and the angle
// brackets SMTP writes a path in (RFC 5321 section 4.1.2: `<a@b.example>`, `<>` for
// the null sender) off too. "<>" gives "", the null sender; any other text is kept.
std::string bare_path(std::string_view text);

}  // namespace mp::runtime
