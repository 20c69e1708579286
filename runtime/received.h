// Reading the trace headers: the address a Received hop says it received from.
#pragma once

#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "runtime/ip.h"
#include "runtime/message.h"

namespace mp::runtime {

// The connecting IP of one Received header's "from" clause: the bracketed address in
// `from host ([192.0.2.1])`, `from host (host [IPv6:2001:db8::1])` or `from [192.0.2.1]`,
// else the first bare address in the clause's comment. nullopt when there is none.
std::optional<IpAddress> received_from_ip(std::string_view received);

// The effective client IP (as Mirapoint walks it): starting from the connecting
// client, while the current address is one of our trusted relays, step one Received
// hop back to the address that relay received the message from. `is_trusted` says
// whether an address is one of our relays.
std::optional<IpAddress> effective_client_ip(const Message& message, std::optional<IpAddress> client,
                                             const std::function<bool(const IpAddress&)>& is_trusted);

// How many header fields, from the top, were written inside our trust zone: above the
// Received header in which one of our hosts (the gateway, or a trusted relay before
// it) recorded taking the message from a host we do not trust. Walks the hops as
// effective_client_ip does. 0 when the connecting client itself is not trusted and no
// hop names it; every header when the message never left trusted hosts. Seed 002:
// a spam score another of our systems wrote can be trusted, one in mail from outside
// cannot.
size_t trusted_header_count(const Message& message, std::optional<IpAddress> client,
                            const std::function<bool(const IpAddress&)>& is_trusted);

}  // namespace mp::runtime
