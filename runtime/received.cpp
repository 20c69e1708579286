// received_from_ip: the address in a Received header's "from" clause.
#include "runtime/received.h"

#include <strings.h>

#include <cctype>

namespace mp::runtime {

namespace {

// The "from" clause: from the start up to " by " (case-insensitive), or the whole
// value when there is no "by".
std::string_view from_clause(std::string_view received) {
  std::string lower(received);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  size_t by = lower.find(" by ");
  return received.substr(0, by);
}

std::optional<IpAddress> bracketed(std::string_view clause) {
  for (size_t open = clause.find('['); open != std::string_view::npos; open = clause.find('[', open + 1)) {
    size_t close = clause.find(']', open);
    if (close == std::string_view::npos) break;
    std::string_view inside = clause.substr(open + 1, close - open - 1);
    if (inside.size() > 5 && strncasecmp(inside.data(), "IPv6:", 5) == 0) inside.remove_prefix(5);
    if (size_t percent = inside.find('%'); percent != std::string_view::npos) inside = inside.substr(0, percent);
    if (auto ip = IpAddress::parse(inside)) return ip;
  }
  return std::nullopt;
}

std::optional<IpAddress> first_bare_address(std::string_view clause) {
  size_t open = clause.find('(');
  if (open == std::string_view::npos) return std::nullopt;
  std::string_view comment = clause.substr(open + 1);
  size_t i = 0;
  while (i < comment.size()) {
    size_t start = comment.find_first_of("0123456789abcdefABCDEF:", i);
    if (start == std::string_view::npos) break;
    size_t end = comment.find_first_not_of("0123456789abcdefABCDEF:.", start);
    std::string_view token = comment.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (auto ip = IpAddress::parse(token)) return ip;
    i = end == std::string_view::npos ? comment.size() : end + 1;
  }
  return std::nullopt;
}

}  // namespace

std::optional<IpAddress> received_from_ip(std::string_view received) {
  size_t start = received.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) return std::nullopt;
  received.remove_prefix(start);
  if (received.size() < 5 || strncasecmp(received.data(), "from", 4) != 0) return std::nullopt;
  std::string_view clause = from_clause(received);
  if (auto ip = bracketed(clause)) return ip;
  return first_bare_address(clause);
}

std::optional<IpAddress> effective_client_ip(const Message& message, std::optional<IpAddress> client,
                                             const std::function<bool(const IpAddress&)>& is_trusted) {
  std::vector<std::optional<IpAddress>> hops;
  for (const auto& h : message.headers()) {
    if (strcasecmp(h.name.c_str(), "Received") == 0) hops.push_back(received_from_ip(h.value));
  }
  // Our gateway's hop, when there is one, is the newest: the top one, naming the
  // client. A hop further down naming the client proves nothing (the sender writes
  // what it likes below our hops), so the walk never starts there.
  size_t next = client && !hops.empty() && hops[0] == client ? 1 : 0;
  std::optional<IpAddress> current = client;
  while (current && is_trusted(*current) && next < hops.size()) current = hops[next++];
  return current;
}

size_t trusted_header_count(const Message& message, std::optional<IpAddress> client,
                            const std::function<bool(const IpAddress&)>& is_trusted) {
  struct Hop {
    size_t header;
    std::optional<IpAddress> from;
  };
  std::vector<Hop> hops;
  const auto& headers = message.headers();
  for (size_t i = 0; i < headers.size(); ++i) {
    if (strcasecmp(headers[i].name.c_str(), "Received") == 0)
      hops.push_back({i, received_from_ip(headers[i].value)});
  }
  // As in effective_client_ip: our gateway's hop is the top one naming the client; the
  // hosts before it each wrote the next one.
  const bool ours = !hops.empty() && client && hops[0].from == client;
  if (!client || !is_trusted(*client)) return ours ? hops[0].header : 0;
  for (size_t next = ours ? 1 : 0; next < hops.size(); ++next) {
    if (!hops[next].from || !is_trusted(*hops[next].from)) return hops[next].header;
  }
  return headers.size();
}

}  // namespace mp::runtime
