// IPv4/IPv6 addresses and CIDR prefixes as values. IPv4 is kept apart from IPv6
// so that a v4 CIDR never matches a v6 client and vice versa; an IPv4-mapped IPv6
// address (RFC 4291 2.5.5.2, "::ffff:198.51.100.10", as dual-stack MTAs and milters
// report IPv4 clients) is parsed as the IPv4 address it carries, so it matches IPv4
// prefixes and is used as IPv4 for SPF and DNS lists.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/api_export.h"

namespace mp::runtime {

struct MP_API IpAddress {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};  // v4 uses the first 4 bytes

  // Dotted quad or RFC 4291 text; v4-mapped text yields the IPv4 address. nullopt
  // when the text is not an address.
  static std::optional<IpAddress> parse(std::string_view text);
  bool is_v4_mapped() const;
  // The IPv4 address a v4-mapped address carries; any other address unchanged.
  IpAddress unmapped() const;
  int bit_width() const { return v6 ? 128 : 32; }
  bool bit(int index) const { return (bytes[index / 8] >> (7 - index % 8)) & 1; }
  std::string str() const;
  bool operator==(const IpAddress&) const = default;
};

struct MP_API Cidr {
  IpAddress base;
  int prefix_len = 0;

  // "10.0.0.0/8", "2001:db8::/32" or a bare address (full-length prefix).
  // "::ffff:198.51.100.0/120" is the IPv4 prefix 198.51.100.0/24; a mapped base
  // with a prefix shorter than /96 is rejected (it would span IPv6 space too).
  static std::optional<Cidr> parse(std::string_view text);
  bool contains(const IpAddress& ip) const;
  std::string str() const;
};

}  // namespace mp::runtime
