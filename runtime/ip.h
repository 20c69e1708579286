// IPv4/IPv6 addresses and CIDR prefixes as values. IPv4 is kept apart from IPv6
// (not v4-mapped) so that a v4 CIDR never matches a v6 client and vice versa.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mp::runtime {

struct IpAddress {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};  // v4 uses the first 4 bytes

  static std::optional<IpAddress> parse(std::string_view text);
  int bit_width() const { return v6 ? 128 : 32; }
  bool bit(int index) const { return (bytes[index / 8] >> (7 - index % 8)) & 1; }
  std::string str() const;
  bool operator==(const IpAddress&) const = default;
};

struct Cidr {
  IpAddress base;
  int prefix_len = 0;

  // "10.0.0.0/8", "2001:db8::/32" or a bare address (full-length prefix).
  static std::optional<Cidr> parse(std::string_view text);
  bool contains(const IpAddress& ip) const;
  std::string str() const;
};

}  // namespace mp::runtime
