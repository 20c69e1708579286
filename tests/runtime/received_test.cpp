// Received "from" addresses and the effective client IP walk.
#include <gtest/gtest.h>

#include "runtime/received.h"

namespace mp::runtime {
namespace {

std::string ip_of(std::string_view received) {
  auto ip = received_from_ip(received);
  return ip ? ip->str() : "none";
}

TEST(Received, FromClauseAddressForms) {
  EXPECT_EQ(ip_of("from webhoster.someformservice.com ([192.0.2.45] ident=nobody) by us5.ppe-hosted.com"),
            "192.0.2.45");
  EXPECT_EQ(ip_of("from mail.example.org (mail.example.org [198.51.100.7]) by mx.widget.com (Postfix)"),
            "198.51.100.7");
  EXPECT_EQ(ip_of("from host (host [IPv6:2001:db8::25]) by mx"), "2001:db8::25");
  EXPECT_EQ(ip_of("from SN6PR05MB4415.namprd05.prod.outlook.com ([fe80::a455:2f63:bad2:334a%6]) by x"),
            "fe80::a455:2f63:bad2:334a");
  EXPECT_EQ(ip_of("from smtp01.example.net (EHLO smtp01.example.net) (63.107.133.19) by razorgate"),
            "63.107.133.19");
  EXPECT_EQ(ip_of("FROM [203.0.113.5] BY mx"), "203.0.113.5");
}

TEST(Received, NoAddressInTheFromClause) {
  EXPECT_EQ(ip_of("by mx.widget.com with LMTP id 42"), "none");
  EXPECT_EQ(ip_of("from localhost by mx ([192.0.2.1])"), "none") << "an address after `by` is not the sender's";
  EXPECT_EQ(ip_of(""), "none");
  EXPECT_EQ(ip_of("from [999.1.1.1] by x"), "none");
}

Message chain() {
  return Message::parse(
      "Received: from relay1.widget.com (relay1.widget.com [10.0.0.5]) by gw.widget.com\r\n"
      "Received: from relay2.widget.com ([10.0.0.6]) by relay1.widget.com\r\n"
      "Received: from outside.example ([198.51.100.99]) by relay2.widget.com\r\n"
      "Received: from laptop ([192.168.1.20]) by outside.example\r\n"
      "Subject: hop test\r\n\r\nbody\r\n");
}

bool in_ten_slash_eight(const IpAddress& ip) { return Cidr::parse("10.0.0.0/8")->contains(ip); }

TEST(EffectiveClientIp, WalksBackPastTrustedRelays) {
  auto ip = effective_client_ip(chain(), IpAddress::parse("10.0.0.5"), in_ten_slash_eight);
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->str(), "198.51.100.99");
}

TEST(EffectiveClientIp, UntrustedClientIsItself) {
  auto ip = effective_client_ip(chain(), IpAddress::parse("203.0.113.9"), in_ten_slash_eight);
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->str(), "203.0.113.9");
}

TEST(EffectiveClientIp, NoClientNoAnswer) {
  EXPECT_FALSE(effective_client_ip(chain(), std::nullopt, in_ten_slash_eight));
}

TEST(EffectiveClientIp, AForgedHopNamingOurRelayDeeperDownIsNotOurs) {
  // Our relay 10.0.0.5 relays (no gateway hop: policyc run); the sender forged a hop
  // "from 10.0.0.5" below the relay's genuine one, hoping the walk starts there.
  Message m = Message::parse(
      "Received: from outside.example ([198.51.100.99]) by relay1.widget.com\r\n"
      "Received: from relay1.widget.com ([10.0.0.5]) by gw.widget.com\r\n"
      "Received: from trusted-looking ([10.9.9.9]) by relay1.widget.com\r\n"
      "Subject: s\r\n\r\nbody\r\n");
  auto ip = effective_client_ip(m, IpAddress::parse("10.0.0.5"), in_ten_slash_eight);
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->str(), "198.51.100.99");
}

TEST(EffectiveClientIp, TrustedAllTheWayStopsAtTheOldestHop) {
  auto everything = [](const IpAddress&) { return true; };
  auto ip = effective_client_ip(chain(), IpAddress::parse("10.0.0.5"), everything);
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->str(), "192.168.1.20");
}

// Seed 002: which header fields our own systems wrote.
Message scored_chain() {
  return Message::parse(
      "Received: from relay1.widget.com (relay1.widget.com [10.0.0.5]) by gw.widget.com\r\n"
      "X-Spam-Score: 7.5\r\n"
      "Received: from outside.example ([198.51.100.99]) by relay1.widget.com\r\n"
      "X-Spam-Score: -3\r\n"
      "Received: from laptop ([192.168.1.20]) by outside.example\r\n"
      "Subject: hop test\r\n\r\nbody\r\n");
}

TEST(TrustedHeaders, AboveTheHopThatCameFromOutside) {
  // Through our relay: the relay's score (above its hop from outside) is ours.
  EXPECT_EQ(trusted_header_count(scored_chain(), IpAddress::parse("10.0.0.5"), in_ten_slash_eight), 2u);
  // Straight from outside to the gateway: only what sits above the gateway's own hop.
  EXPECT_EQ(trusted_header_count(scored_chain(), IpAddress::parse("198.51.100.99"), in_ten_slash_eight), 0u);
  EXPECT_EQ(trusted_header_count(scored_chain(), IpAddress::parse("203.0.113.9"), in_ten_slash_eight), 0u);
  EXPECT_EQ(trusted_header_count(scored_chain(), std::nullopt, in_ten_slash_eight), 0u);
}

TEST(TrustedHeaders, EverythingWhenTheMailNeverLeftUs) {
  auto everything = [](const IpAddress&) { return true; };
  Message m = scored_chain();
  EXPECT_EQ(trusted_header_count(m, IpAddress::parse("10.0.0.5"), everything), m.headers().size());
}

TEST(TrustedHeaders, ATrustedClientWithoutAHopOfOurs) {
  // policyc run: no gateway hop; the trusted client wrote the top Received.
  Message m = Message::parse(
      "X-Spam-Score: 9\r\n"
      "Received: from outside.example ([198.51.100.99]) by relay1.widget.com\r\n"
      "Subject: s\r\n\r\nbody\r\n");
  EXPECT_EQ(trusted_header_count(m, IpAddress::parse("10.0.0.5"), in_ten_slash_eight), 1u);
}

}  // namespace
}  // namespace mp::runtime
