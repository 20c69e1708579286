// IP address and CIDR values: parsing and printing go through inet_pton/inet_ntop
// so the accepted and printed forms are exactly the C library's (dotted quad for
// IPv4, RFC 5952 compressed form for IPv6).
#include "runtime/ip.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

namespace mp::runtime {
namespace {

// Longest textual IPv6 address, including an embedded IPv4 tail.
constexpr size_t kMaxAddressText = INET6_ADDRSTRLEN;

// Clears every bit at or after `prefix_len`, so a CIDR's base is canonical.
IpAddress network_of(IpAddress ip, int prefix_len) {
  for (int byte = 0; byte < ip.bit_width() / 8; ++byte) {
    const int bits_kept = std::clamp(prefix_len - byte * 8, 0, 8);
    ip.bytes[byte] &= static_cast<uint8_t>(0xFF00 >> bits_kept);
  }
  return ip;
}

std::optional<int> parse_prefix_len(std::string_view text, int max) {
  if (text.empty() || text.size() > 3) return std::nullopt;
  int value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  if (value < 0 || value > max) return std::nullopt;
  return value;
}

}  // namespace

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  if (text.empty() || text.size() >= kMaxAddressText) return std::nullopt;
  // inet_pton needs a terminated string; the copy also stops an embedded NUL from
  // cutting the text short unnoticed.
  char buffer[kMaxAddressText] = {};
  std::copy(text.begin(), text.end(), buffer);
  if (text.find('\0') != std::string_view::npos) return std::nullopt;

  IpAddress ip;
  ip.v6 = text.find(':') != std::string_view::npos;
  if (inet_pton(ip.v6 ? AF_INET6 : AF_INET, buffer, ip.bytes.data()) != 1) return std::nullopt;
  return ip.unmapped();
}

bool IpAddress::is_v4_mapped() const {
  constexpr std::array<uint8_t, 12> kMappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
  return v6 && std::equal(kMappedPrefix.begin(), kMappedPrefix.end(), bytes.begin());
}

IpAddress IpAddress::unmapped() const {
  if (!is_v4_mapped()) return *this;
  IpAddress v4;
  std::copy(bytes.begin() + 12, bytes.end(), v4.bytes.begin());
  return v4;
}

std::string IpAddress::str() const {
  char buffer[kMaxAddressText] = {};
  inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), buffer, sizeof buffer);
  return buffer;
}

std::optional<Cidr> Cidr::parse(std::string_view text) {
  const size_t slash = text.find('/');
  const std::string_view address = text.substr(0, slash);
  const std::optional<IpAddress> base = IpAddress::parse(address);
  if (!base) return std::nullopt;
  if (slash == std::string_view::npos) return Cidr{*base, base->bit_width()};
  // A v4-mapped base was written in IPv6 notation, so its prefix counts 128 bits;
  // it must stay inside ::ffff:0:0/96 to mean IPv4 addresses only.
  const bool mapped = !base->v6 && address.find(':') != std::string_view::npos;
  const int written_width = mapped ? 128 : base->bit_width();
  std::optional<int> prefix_len = parse_prefix_len(text.substr(slash + 1), written_width);
  if (!prefix_len || (mapped && *prefix_len < 96)) return std::nullopt;
  if (mapped) *prefix_len -= 96;
  return Cidr{network_of(*base, *prefix_len), *prefix_len};
}

bool Cidr::contains(const IpAddress& ip) const {
  // Masking both sides keeps this right for a hand-built Cidr whose base has host
  // bits set.
  return ip.v6 == base.v6 && network_of(ip, prefix_len) == network_of(base, prefix_len);
}

std::string Cidr::str() const {
  return base.str() + "/" + std::to_string(prefix_len);
}

}  // namespace mp::runtime
