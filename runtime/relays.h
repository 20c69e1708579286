// The relays a message passed, read from its Received fields the way SpamAssassin
// reads them (Mail::SpamAssassin::Message::Metadata::Received), and split into the
// trusted and untrusted, internal and external parts of the path, so that rules written
// against SpamAssassin's X-Spam-Relays-* pseudo-headers read the same text.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/ip.h"
#include "runtime/message.h"

namespace mp::runtime {

// One handover: what the receiving host (`by`) recorded about the host it took the
// message from. Fields the header does not say are empty. Characters that cannot be
// part of a name (white space, #, [, ], (, ), <, >, |) are written '!', as
// SpamAssassin writes them.
struct Relay {
  std::string ip;       // the connecting address, "1.2.3.4" or an IPv6 text
  std::string rdns;     // the name the receiving host looked up for it
  std::string helo;     // the name the sending host gave (HELO/EHLO)
  std::string by;       // the receiving host
  std::string ident;    // an RFC 1413 user, when the header has one
  std::string envfrom;  // the envelope sender, when the header has one
  std::string id;       // the receiving host's queue id
  std::string auth;     // how the sender authenticated ("ESMTPA", "Postfix", ...)
  bool internal = false;
};

// What one Received field body says. nullopt when it does not record a handover from
// another host (local delivery, a fetchmail pickup, a header too odd to read).
// `fetched` is set when the field records a POP3/IMAP pickup, after which the trust
// chain restarts (SpamAssassin's mail-fetcher marker).
// `unparseable` is set for a "from" field whose shape is unknown and that names no
// bracketed address and receiving host either (SpamAssassin's unparseable relay).
struct ReceivedReading {
  std::optional<Relay> relay;
  bool fetched = false;
  bool unparseable = false;
};
ReceivedReading read_received(std::string_view received);

// The relays, newest first, split where the path leaves our hosts.
struct RelayPath {
  std::vector<Relay> trusted, untrusted, internal, external;
  size_t unparseable = 0;  // Received fields that could not be read (ReceivedReading)
};

// Splits the message's relays (its Received fields, then the originating-IP fields
// webmail services add: X-Originating-IP, X-Yahoo-Post-IP, ...). With `is_trusted`,
// a relay is trusted while every relay before it (newer) was, and it authenticated or
// its address is trusted or loopback; internal is the same here (SpamAssassin's trusted_networks
// with no internal_networks). Without it, trust is inferred as SpamAssassin infers it
// with no trusted_networks: private addresses (RFC 1918, loopback, link-local, CGN;
// not IPv6 unique-local, which SpamAssassin leaves out) and authenticated senders are
// trusted.
RelayPath relay_path(const Message& message, const std::function<bool(const IpAddress&)>& is_trusted);

// The relays as SpamAssassin writes them in X-Spam-Relays-*: each
// "[ ip=… rdns=… helo=… by=… ident=… envfrom=… intl=0|1 id=… auth=… msa=0 ]",
// joined with a space; "" for none.
std::string relays_text(const std::vector<Relay>& relays);

}  // namespace mp::runtime
