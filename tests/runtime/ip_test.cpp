// Tests for runtime/ip.h: address and CIDR parsing, printing and matching,
// including the rule that IPv4 and IPv6 never match each other.
#include <gtest/gtest.h>

#include "runtime/ip.h"

namespace mp::runtime {
namespace {

IpAddress ip(std::string_view text) {
  const std::optional<IpAddress> parsed = IpAddress::parse(text);
  EXPECT_TRUE(parsed) << text;
  return parsed.value_or(IpAddress{});
}

Cidr cidr(std::string_view text) {
  const std::optional<Cidr> parsed = Cidr::parse(text);
  EXPECT_TRUE(parsed) << text;
  return parsed.value_or(Cidr{});
}

TEST(IpAddress, ParsesIpv4) {
  const IpAddress address = ip("192.0.2.33");
  EXPECT_FALSE(address.v6);
  EXPECT_EQ(address.bit_width(), 32);
  EXPECT_EQ(address.bytes[0], 192);
  EXPECT_EQ(address.bytes[3], 33);
  EXPECT_EQ(address.str(), "192.0.2.33");
  EXPECT_TRUE(address.bit(0));  // 192 = 0b11000000
  EXPECT_FALSE(address.bit(2));
}

TEST(IpAddress, ParsesIpv6AndPrintsCanonically) {
  const IpAddress address = ip("2001:DB8:0:0:0:0:0:1");
  EXPECT_TRUE(address.v6);
  EXPECT_EQ(address.bit_width(), 128);
  EXPECT_EQ(address.str(), "2001:db8::1");
  EXPECT_EQ(ip("::").str(), "::");
}

// Dual-stack MTAs and milters report IPv4 clients as ::ffff:a.b.c.d; such a client
// is the IPv4 address for every test, SPF and DNS list (issue 9).
TEST(IpAddress, V4MappedIsTheIpv4Address) {
  for (std::string_view mapped : {"::ffff:192.0.2.1", "::FFFF:192.0.2.1", "0:0:0:0:0:ffff:c000:0201"}) {
    const IpAddress address = ip(mapped);
    EXPECT_FALSE(address.v6) << mapped;
    EXPECT_EQ(address, ip("192.0.2.1")) << mapped;
    EXPECT_EQ(address.str(), "192.0.2.1") << mapped;
  }
  // Only the ::ffff:0:0/96 prefix carries IPv4: the deprecated IPv4-compatible
  // form and NAT64 addresses stay IPv6.
  EXPECT_TRUE(ip("::192.0.2.1").v6);
  EXPECT_TRUE(ip("64:ff9b::192.0.2.1").v6);
}

TEST(IpAddress, RejectsMalformedText) {
  for (std::string_view bad : {"", "1.2.3", "256.1.1.1", "1.2.3.4 ", " 1.2.3.4", "1.2.3.4.5", "01.2.3.4",
                               "example.com", "1:2:3:4:5:6:7:8:9", ":::", "fe80::1%eth0", "[::1]"}) {
    EXPECT_FALSE(IpAddress::parse(bad)) << bad;
  }
  EXPECT_FALSE(IpAddress::parse(std::string_view("1.2.3.4\0junk", 12)));
  EXPECT_FALSE(IpAddress::parse(std::string(200, '1')));
}

TEST(Cidr, ParsesAndNormalisesTheBase) {
  const Cidr block = cidr("10.1.2.3/8");
  EXPECT_EQ(block.prefix_len, 8);
  EXPECT_EQ(block.str(), "10.0.0.0/8");
  EXPECT_EQ(cidr("2001:db8:ffff::/32").str(), "2001:db8::/32");
}

TEST(Cidr, BareAddressIsAFullLengthPrefix) {
  EXPECT_EQ(cidr("192.0.2.1").prefix_len, 32);
  EXPECT_EQ(cidr("2001:db8::1").prefix_len, 128);
  EXPECT_TRUE(cidr("192.0.2.1").contains(ip("192.0.2.1")));
  EXPECT_FALSE(cidr("192.0.2.1").contains(ip("192.0.2.2")));
}

TEST(Cidr, RejectsBadPrefixes) {
  for (std::string_view bad : {"10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/", "10.0.0.0/+8", "10.0.0.0/8x",
                               "10.0.0.0/ 8", "2001:db8::/129", "/8", "10.0.0.0/8/8", "10.0.0.0/0008"}) {
    EXPECT_FALSE(Cidr::parse(bad)) << bad;
  }
}

TEST(Cidr, ContainsRespectsUnalignedPrefixes) {
  const Cidr block = cidr("172.16.0.0/12");
  EXPECT_TRUE(block.contains(ip("172.16.0.1")));
  EXPECT_TRUE(block.contains(ip("172.31.255.255")));
  EXPECT_FALSE(block.contains(ip("172.32.0.0")));
  EXPECT_FALSE(block.contains(ip("172.15.255.255")));

  const Cidr v6 = cidr("2001:db8:8000::/33");
  EXPECT_TRUE(v6.contains(ip("2001:db8:ffff::1")));
  EXPECT_FALSE(v6.contains(ip("2001:db8:7fff::1")));
}

TEST(Cidr, ZeroPrefixMatchesOnlyItsOwnFamily) {
  EXPECT_TRUE(cidr("0.0.0.0/0").contains(ip("203.0.113.9")));
  EXPECT_FALSE(cidr("0.0.0.0/0").contains(ip("::1")));
  EXPECT_TRUE(cidr("::/0").contains(ip("::1")));
  EXPECT_FALSE(cidr("::/0").contains(ip("203.0.113.9")));
  // Written in IPv6 notation, the v4-mapped prefix is IPv4 space.
  EXPECT_TRUE(cidr("::ffff:0:0/96").contains(ip("192.0.2.1")));
  EXPECT_FALSE(cidr("::ffff:0:0/96").contains(ip("::1")));
}

TEST(Cidr, V4MappedPrefixIsTheIpv4Prefix) {
  EXPECT_EQ(cidr("::ffff:198.51.100.0/120").str(), "198.51.100.0/24");
  EXPECT_TRUE(cidr("::ffff:198.51.100.0/120").contains(ip("::ffff:198.51.100.7")));
  EXPECT_TRUE(cidr("198.51.100.0/24").contains(ip("::ffff:198.51.100.7")));
  EXPECT_EQ(cidr("::ffff:198.51.100.10").str(), "198.51.100.10/32");
  EXPECT_FALSE(Cidr::parse("::ffff:0:0/64"));  // would span IPv6 space too
  EXPECT_FALSE(Cidr::parse("::ffff:198.51.100.0/129"));
}

TEST(Cidr, HandBuiltCidrWithHostBitsStillMatches) {
  const Cidr block{ip("10.9.9.9"), 8};
  EXPECT_TRUE(block.contains(ip("10.200.0.1")));
  EXPECT_FALSE(block.contains(ip("11.0.0.1")));
}

}  // namespace
}  // namespace mp::runtime
