// Received fields read into relays as SpamAssassin reads them (runtime/relays.h): one
// field of each MTA's shape, the trust split with and without our own relays, and the
// X-Spam-Relays-* text. tests/importer/sa_header_views_test.cpp compares the whole
// public corpus with SpamAssassin itself where it is installed.
#include "runtime/relays.h"

#include <gtest/gtest.h>

namespace mp::runtime {
namespace {

std::string read(std::string_view received) {
  const auto reading = read_received(received);
  return reading.relay ? relays_text({*reading.relay}) : "(none)";
}

TEST(Relays, EachMtasShape) {
  // Postfix: helo (rdns [ip]); "unknown" when the reverse lookup failed.
  EXPECT_EQ(
      read("from mail.example.net (mx1.example.net [192.0.2.7])\n\tby mx.widget.com (Postfix) with ESMTP id "
           "4F1A2B3C for <a@widget.com>; Mon,  9 Sep 2002 10:45:45 +0100 (IST)"),
      "[ ip=192.0.2.7 rdns=mx1.example.net helo=mail.example.net by=mx.widget.com ident= envfrom= intl=0 "
      "id=4F1A2B3C auth= msa=0 ]");
  EXPECT_EQ(read("from helo.example (unknown [198.51.100.9]) by mx.widget.com (Postfix) with SMTP id A1B2C3"),
            "[ ip=198.51.100.9 rdns= helo=helo.example by=mx.widget.com ident= envfrom= intl=0 id=A1B2C3 "
            "auth= msa=0 ]");
  // Sendmail with an RFC 1413 answer in the name.
  EXPECT_EQ(read("from lugh.tuatha.org (root@lugh.tuatha.org [194.125.145.45]) by dogma.slashnull.org "
                 "(8.11.6/8.11.6) with ESMTP id g7RKKoZ24338"),
            "[ ip=194.125.145.45 rdns=lugh.tuatha.org helo=lugh.tuatha.org by=dogma.slashnull.org ident=root "
            "envfrom= intl=0 id=g7RKKoZ24338 auth= msa=0 ]");
  // Exim: [ip] (helo=…), and rdns ([ip] helo=…).
  EXPECT_EQ(
      read("from [61.174.163.26] (helo=host) by list.example.net with smtp (Exim 3.31 #1) id "
           "18t2z0-0001NX-00"),
      "[ ip=61.174.163.26 rdns= helo=host by=list.example.net ident= envfrom= intl=0 id=18t2z0-0001NX-00 "
      "auth= msa=0 ]");
  EXPECT_EQ(
      read("from host.example.org ([192.0.2.1] helo=claimed.example) by exim.example.net with esmtp "
           "(Exim 4.50) id 1GFbZc-0006QV-L8"),
      "[ ip=192.0.2.1 rdns=host.example.org helo=claimed.example by=exim.example.net ident= envfrom= intl=0 "
      "id=1GFbZc-0006QV-L8 auth= msa=0 ]");
  // qmail: rdns (HELO name) (ip); Microsoft: helo ([ip]), no lookup.
  EXPECT_EQ(
      read("from unknown (HELO stockbyte.com) (62.221.11.15) by server-5.example.com with SMTP; "
           "4 Dec 2002 11:22:19 -0000"),
      "[ ip=62.221.11.15 rdns= helo=stockbyte.com by=server-5.example.com ident= envfrom= intl=0 id= auth= "
      "msa=0 ]");
  EXPECT_EQ(read("from tthompson ([217.35.105.172] unverified) by mail.example.com with Microsoft "
                 "SMTPSVC(5.0.2195.5329); Tue, 11 Mar 2003 13:23:01 +0000"),
            "[ ip=217.35.105.172 rdns= helo=tthompson by=mail.example.com ident= envfrom= intl=0 id= auth= "
            "msa=0 ]");
}

// Exchange: with its version right after the protocol, no rDNS and no queue id; with
// "id 15.20…" between (Office 365), the generic shape reads the name as the rDNS, as
// SpamAssassin does.
TEST(Relays, ExchangeShapes) {
  EXPECT_EQ(read("from EXC-DAG-02.global.net (10.45.252.152) by EXC-DAG-01.global.net (10.45.252.151) with "
                 "Microsoft SMTP Server (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256) "
                 "15.1.1261.35"),
            "[ ip=10.45.252.152 rdns= helo=EXC-DAG-02.global.net by=EXC-DAG-01.global.net ident= envfrom= "
            "intl=0 id= "
            "auth= msa=0 ]");
  EXPECT_EQ(
      read("from mail.sender.example (203.0.113.90) by mx.protection.outlook.com (10.167.16.167) with "
           "Microsoft SMTP Server (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id "
           "15.20.7202.16 via Frontend Transport; Tue, 16 Jan 2024 08:12:44 +0000"),
      "[ ip=203.0.113.90 rdns=mail.sender.example helo=mail.sender.example by=mx.protection.outlook.com "
      "ident= envfrom= intl=0 id=15.20.7202.16 auth= msa=0 ]");
  // "[ip] verified" is CommuniGate's rDNS check only when CommuniGate wrote it.
  EXPECT_EQ(
      read("from mx7.test.ru ([198.51.100.7] verified) by mail.test.ru (test mail) with ESMTP id 60578244"),
      "[ ip=198.51.100.7 rdns= helo=mx7.test.ru by=mail.test.ru ident= envfrom= intl=0 id=60578244 auth= "
      "msa=0 ]");
}

TEST(Relays, AuthenticationEnvelopeSenderAndOddCharacters) {
  EXPECT_EQ(
      read("from [10.1.2.3] (account kguest HELO tuatha.org) by stockbyte.com (CommuniGate Pro SMTP 3.5.9) "
           "with ESMTP id 53327"),
      "[ ip=10.1.2.3 rdns= helo=tuatha.org by=stockbyte.com ident= envfrom= intl=0 id=53327 "
      "auth=Communigate msa=0 ]");
  EXPECT_EQ(read("from laptop ([203.0.113.5]) by smtp.example.com (Postfix) with ESMTPSA id 9C4D5E"),
            "[ ip=203.0.113.5 rdns= helo=laptop by=smtp.example.com ident= envfrom= intl=0 id=9C4D5E "
            "auth=ESMTPSA msa=0 ]");
  EXPECT_EQ(
      read("from yoda (12-231-69-107.client.example.com [::ffff:12.231.69.107]) (AUTH: CRAM-MD5 a@b.example) "
           "by mail.example.net with esmtp"),
      "[ ip=12.231.69.107 rdns=12-231-69-107.client.example.com helo=yoda by=mail.example.net ident= "
      "envfrom= "
      "intl=0 id= auth=CRAM-MD5 msa=0 ]");
  // A HELO given as an address literal is written with '!' for the brackets.
  EXPECT_EQ(read("from [192.0.2.99] ([192.0.2.99]) by mx.example.org (8.12.5/8.12.5) with SMTP id g8A1234"),
            "[ ip=192.0.2.99 rdns= helo=!192.0.2.99! by=mx.example.org ident= envfrom= intl=0 id=g8A1234 "
            "auth= msa=0 ]");
}

TEST(Relays, WhatIsNoHandover) {
  EXPECT_EQ(read("(qmail 27981 invoked by uid 225); 14 Mar 2003 07:24:34 -0000"), "(none)");
  EXPECT_EQ(read("by oak.example.cz (Postfix, from userid 1002) id DABBD1BED3"), "(none)");
  EXPECT_EQ(read("from andrew by trinity.example.net with local (Exim 4.12) id 18xeL6-000Dn1-00"), "(none)");
  EXPECT_EQ(read("from virtual-access.org by bolero.example.com ; Thu, 20 Feb 2003 23:32:58 +0100"),
            "(none)");
  EXPECT_EQ(read(""), "(none)");
  EXPECT_EQ(read("from"), "(none)");
  // A "from" field of no known shape, with no bracketed address: unreadable, counted.
  EXPECT_TRUE(read_received("from somewhere odd via carrier pigeon").unparseable);
  EXPECT_FALSE(read_received("by oak.example.cz (Postfix, from userid 1002) id DABBD1BED3").unparseable);
  EXPECT_EQ(relay_path(Message::parse("Received: from somewhere odd\r\nReceived: from x (y [192.0.2.1]) by "
                                      "z.example (8.11.6/8.11.6) with ESMTP id g7CCCC\r\n\r\nx\r\n"),
                       nullptr)
                .unparseable,
            1u);
  const auto pickup =
      read_received("from jalapeno [127.0.0.1] by localhost with IMAP (fetchmail-5.9.0) for jm@localhost");
  EXPECT_TRUE(pickup.fetched);
  EXPECT_FALSE(pickup.relay);
}

const char* kPath =
    "Received: from localhost (jalapeno [127.0.0.1]) by jmason.org (Postfix) with ESMTP id 99\r\n"
    "Received: from jalapeno [127.0.0.1] by localhost with IMAP (fetchmail-5.9.0) for jm@localhost\r\n"
    "Received: from relay.widget.com (relay.widget.com [10.0.0.5]) by mx.widget.com (8.11.6/8.11.6) with "
    "ESMTP "
    "id g1AAA\r\n"
    "Received: from mail.example.net (mail.example.net [192.0.2.7]) by relay.widget.com (8.11.6/8.11.6) with "
    "ESMTP id g2\r\n"
    "Received: from pc (dsl-1-2-3-4.isp.example [198.51.100.4]) by mail.example.net (8.11.6/8.11.6) with "
    "ESMTP "
    "id g3\r\n"
    "From: a@example.net\r\n\r\nbody\r\n";

std::vector<std::string> ips(const std::vector<Relay>& relays) {
  std::vector<std::string> out;
  for (const auto& r : relays) out.push_back(r.ip);
  return out;
}

// With no relays of our own, trust is inferred: private addresses are ours; the pickup
// restarts the path, so the Postfix hop above it is not counted.
TEST(Relays, TrustInferredFromPrivateAddresses) {
  const RelayPath path = relay_path(Message::parse(kPath), nullptr);
  EXPECT_EQ(ips(path.trusted), (std::vector<std::string>{"10.0.0.5"}));
  EXPECT_EQ(ips(path.untrusted), (std::vector<std::string>{"192.0.2.7", "198.51.100.4"}));
  EXPECT_EQ(ips(path.internal), ips(path.trusted));
  EXPECT_EQ(ips(path.external), ips(path.untrusted));
  EXPECT_EQ(relays_text(path.trusted),
            "[ ip=10.0.0.5 rdns=relay.widget.com helo=relay.widget.com by=mx.widget.com ident= envfrom= "
            "intl=1 id=g1AAA "
            "auth= msa=0 ]");
}

// SpamAssassin's private ranges have no IPv6 unique-local addresses: such a relay
// is not inferred ours (name it in org.trusted_relays).
TEST(Relays, UniqueLocalIpv6IsNotInferredPrivate) {
  const RelayPath path = relay_path(
      Message::parse(
          "Received: from a.example ([fd00::5]) by b.example (8.12.5/8.12.5) with ESMTP id g7DDDD\r\n"
          "Received: from c.example ([fe80::1]) by a.example (8.12.5/8.12.5) with ESMTP id g7EEEE\r\n"
          "\r\nx\r\n"),
      nullptr);
  EXPECT_EQ(ips(path.untrusted), (std::vector<std::string>{"fd00::5", "fe80::1"}));
  EXPECT_TRUE(path.trusted.empty());
}

// Our relays named: 192.0.2.7 is ours too, and trust stops at the first that is not.
TEST(Relays, TrustFromOurRelays) {
  const auto ours = [](const IpAddress& ip) {
    return Cidr::parse("10.0.0.0/8")->contains(ip) || Cidr::parse("192.0.2.0/24")->contains(ip);
  };
  const RelayPath path = relay_path(Message::parse(kPath), ours);
  EXPECT_EQ(ips(path.trusted), (std::vector<std::string>{"10.0.0.5", "192.0.2.7"}));
  EXPECT_EQ(ips(path.untrusted), (std::vector<std::string>{"198.51.100.4"}));
  EXPECT_EQ(relays_text(path.untrusted).find("rdns=dsl-1-2-3-4.isp.example helo=pc"), 18u);
}

// Webmail services record the browser's address in a field of their own: the oldest relay.
TEST(Relays, OriginatingAddressIsTheOldestRelay) {
  const RelayPath path = relay_path(
      Message::parse(
          "Received: from web1.example.com ([203.0.113.8]) by mx.widget.com (8.11.6/8.11.6) with ESMTP "
          "id g1\r\nX-Originating-IP: [198.51.100.77]\r\nFrom: a@example.com\r\n\r\nx\r\n"),
      nullptr);
  EXPECT_EQ(ips(path.untrusted), (std::vector<std::string>{"203.0.113.8", "198.51.100.77"}));
  EXPECT_EQ(relays_text({path.untrusted[1]}),
            "[ ip=198.51.100.77 rdns= helo= by= ident= envfrom= intl=0 id= auth= msa=0 ]");
  EXPECT_TRUE(relay_path(Message::parse("From: a@b.example\r\n\r\nx\r\n"), nullptr).untrusted.empty());
}

}  // namespace
}  // namespace mp::runtime
