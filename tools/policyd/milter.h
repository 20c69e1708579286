// policyd's milter: libmilter callbacks that collect the SMTP session and the message,
// judge it at end of message (Service::judge), and turn the verdict into milter
// actions (docs/gateway.md, "What the MTA is told"):
//   reject     smfi_setreply(5xx, the rule's text) + SMFIS_REJECT
//   tempfail   smfi_setreply(4xx, …) + SMFIS_TEMPFAIL
//   discard    SMFIS_DISCARD
//   quarantine smfi_quarantine(reason): Postfix's hold queue (or a header only)
//   headers    the policy's add/remove header actions, X-Policy-*, Authentication-Results
//              and the tags, as configured; incoming fields that claim to be ours are
//              removed first (RFC 8601 5)
// A message policyd cannot judge gets the configured on_error: a 451 or an accept.
#pragma once

#include <string>

#include "tools/policyd/service.h"

namespace mp::policyd {

// Registers the callbacks with libmilter and opens the socket (libmilter's form:
// unix:/path, inet:PORT@HOST); a unix socket gets `config.socket_mode`. Throws
// std::runtime_error when libmilter refuses. `service` must outlive smfi_main().
// Refuses before any socket is touched: a socket another process (a running policyd)
// listens on, which libmilter would remove and so cut that process off from the MTA.
void register_milter(Service& service);

// Throws std::runtime_error when the directory of a unix socket does not exist
// (--check-config and register_milter).
void check_socket_directory(const Config& config);

// Characters of `text` that sendmail's reply formatting would interpret ('%') doubled,
// CR/LF turned into spaces, cut to a length an SMTP reply line can carry.
std::string reply_text(const std::string& text);

}  // namespace mp::policyd
