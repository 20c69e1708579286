// auth::MessageFacts against a DNS server on 127.0.0.1: reverse DNS, HELO checks,
// SPF through the fact interface, temperrors, and the Authentication-Results header.
#include "auth/facts.h"

#include <gtest/gtest.h>

#include "tests/dnsd/test_dns_server.h"

namespace mp::auth {
namespace {

using vm::FieldId;

const char* kZone = R"(
example.test.               300 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
mail.example.test.          300 IN A   192.0.2.10
other.example.test.         300 IN A   192.0.2.99
10.2.0.192.in-addr.arpa.    300 IN PTR mail.example.test.
11.2.0.192.in-addr.arpa.    300 IN PTR 11-2-0-192.dyn.example.net.
12.2.0.192.in-addr.arpa.    TIMEOUT
slow.test.                  TIMEOUT
1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.zen.test. 300 IN A 127.0.0.3
10.2.0.192.zen.test.        300 IN A   127.0.0.2
10.2.0.192.slowlist.test.   TIMEOUT
10.2.0.192.refusing.test.   300 IN A   127.255.255.254
10.2.0.192.hijacked.test.   300 IN A   198.51.100.80
10.2.0.192.mixed.test.      300 IN A   127.0.0.4
10.2.0.192.mixed.test.      300 IN A   203.0.113.9
xn--e1afmkfd.xn--p1ai.      300 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
xn--e1afmkfd.xn--p1ai.      300 IN MX  10 mail.example.test.
_dmarc.xn--e1afmkfd.xn--p1ai. 300 IN TXT "v=DMARC1; p=reject"
)";

class MessageFactsTest : public ::testing::Test {
 protected:
  testing::TestDnsServer server{kZone};
  dns::Resolver resolver{{.servers = {server.address()}, .timeout_ms = 200, .tries = 1, .cache = nullptr}};
  runtime::Message message = runtime::Message::parse("From: a@example.test\r\nSubject: x\r\n\r\nbody\r\n");

  runtime::Envelope envelope(const std::string& ip, const std::string& helo = "mail.example.test",
                             const std::string& sender = "a@example.test") {
    runtime::Envelope e;
    e.client_ip = runtime::IpAddress::parse(ip);
    e.helo = helo;
    e.sender = sender;
    return e;
  }

  std::vector<std::string> values(const runtime::Envelope& e, FieldId field) {
    MessageFacts facts(resolver, message, e);
    return facts.compute(field, {}).text;
  }
};

TEST_F(MessageFactsTest, ForwardConfirmedReverseDns) {
  auto e = envelope("192.0.2.10");
  EXPECT_EQ(values(e, FieldId::Fcrdns), std::vector<std::string>{"pass"});
  EXPECT_EQ(values(e, FieldId::Ptr), std::vector<std::string>{"mail.example.test"});
  EXPECT_EQ(values(e, FieldId::PtrChecks), std::vector<std::string>{"ok"});
}

TEST_F(MessageFactsTest, UnconfirmedGenericAndMissingPtr) {
  auto generic = envelope("192.0.2.11");
  EXPECT_EQ(values(generic, FieldId::Fcrdns), std::vector<std::string>{"fail"});
  EXPECT_TRUE(values(generic, FieldId::Ptr).empty());
  EXPECT_EQ(values(generic, FieldId::PtrChecks), (std::vector<std::string>{"unconfirmed", "generic"}));
  auto none = envelope("192.0.2.77");
  EXPECT_EQ(values(none, FieldId::Fcrdns), std::vector<std::string>{"none"});
  EXPECT_EQ(values(none, FieldId::PtrChecks), std::vector<std::string>{"none"});
}

TEST_F(MessageFactsTest, AReverseLookupTimeoutIsATempError) {
  auto env = envelope("192.0.2.12");
  MessageFacts facts(resolver, message, env);
  auto v = facts.compute(FieldId::Fcrdns, {});
  EXPECT_TRUE(v.temp_error);
  EXPECT_EQ(v.text, std::vector<std::string>{"temperror"});
  EXPECT_NE(v.detail.find("timeout"), std::string::npos) << v.detail;
}

TEST_F(MessageFactsTest, HeloChecks) {
  EXPECT_EQ(values(envelope("192.0.2.10"), FieldId::HeloChecks), std::vector<std::string>{"ok"});
  EXPECT_EQ(values(envelope("192.0.2.10", "[192.0.2.10]"), FieldId::HeloChecks),
            std::vector<std::string>{"ip_literal"});
  EXPECT_EQ(values(envelope("192.0.2.10", "[192.0.2.99]"), FieldId::HeloChecks),
            (std::vector<std::string>{"ip_literal", "not_client"}));
  EXPECT_EQ(values(envelope("192.0.2.10", "localhost"), FieldId::HeloChecks),
            std::vector<std::string>{"localhost"});
  EXPECT_EQ(values(envelope("192.0.2.10", "OEMCOMPUTER"), FieldId::HeloChecks),
            std::vector<std::string>{"not_fqdn"});
  EXPECT_EQ(values(envelope("192.0.2.10", "nowhere.example.test"), FieldId::HeloChecks),
            (std::vector<std::string>{"no_dns", "ptr_mismatch"}));
  EXPECT_EQ(values(envelope("192.0.2.10", "other.example.test"), FieldId::HeloChecks),
            (std::vector<std::string>{"not_client", "ptr_mismatch"}));
  EXPECT_EQ(values(envelope("192.0.2.10", ""), FieldId::HeloChecks), std::vector<std::string>{"missing"});
}

// A stored message evaluated outside an SMTP session (no client, no HELO): the session
// facts have no value, so "no reverse DNS" and "HELO missing" never fire on it.
TEST_F(MessageFactsTest, NoSessionNoSessionFacts) {
  auto no_session = envelope("", "");
  ASSERT_FALSE(no_session.client_ip);
  EXPECT_TRUE(values(no_session, FieldId::PtrChecks).empty());
  EXPECT_TRUE(values(no_session, FieldId::Fcrdns).empty());
  EXPECT_TRUE(values(no_session, FieldId::HeloChecks).empty());
  EXPECT_EQ(values(envelope("", "OEMCOMPUTER"), FieldId::HeloChecks), std::vector<std::string>{"not_fqdn"});
}

TEST_F(MessageFactsTest, SpfThroughTheFactInterfaceAndTheHeader) {
  auto env = envelope("192.0.2.10");
  MessageFacts facts(resolver, message, env);
  auto spf = facts.compute(FieldId::Spf, {});
  EXPECT_EQ(spf.text, std::vector<std::string>{"pass"});
  EXPECT_NE(spf.detail.find("ip4:192.0.2.0/24"), std::string::npos) << spf.detail;
  EXPECT_EQ(facts.auth_summary(), (std::vector<std::pair<std::string, std::string>>{{"spf", "pass"}}));
  EXPECT_EQ(facts.authentication_results(), "mailpolicy;\r\n\tspf=pass smtp.mailfrom=a@example.test");
}

TEST_F(MessageFactsTest, NullSenderChecksTheHeloIdentity) {
  auto env = envelope("198.51.100.1", "example.test", "");
  MessageFacts facts(resolver, message, env);
  EXPECT_EQ(facts.compute(FieldId::Spf, {}).text, std::vector<std::string>{"fail"});
  EXPECT_NE(facts.authentication_results().find("smtp.helo=example.test"), std::string::npos);
}

TEST_F(MessageFactsTest, SpfTimeoutIsATempErrorNamingTheLookup) {
  auto env = envelope("192.0.2.10", "mail.example.test", "a@slow.test");
  MessageFacts facts(resolver, message, env);
  auto spf = facts.compute(FieldId::Spf, {});
  EXPECT_TRUE(spf.temp_error);
  EXPECT_NE(spf.detail.find("DNS TXT slow.test: timeout"), std::string::npos) << spf.detail;
}

TEST_F(MessageFactsTest, TheMessageBudgetBoundsEveryLookup) {
  FactOptions options;
  options.budget = std::chrono::milliseconds(50);
  dns::Resolver patient({.servers = {server.address()}, .timeout_ms = 5000, .tries = 1, .cache = nullptr});
  auto env = envelope("192.0.2.10", "mail.example.test", "a@slow.test");
  MessageFacts facts(patient, message, env, options);
  auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(facts.compute(FieldId::Spf, {}).temp_error);
  EXPECT_LT(std::chrono::steady_clock::now() - started,
            std::chrono::seconds(4));  // not the 5 s resolver timeout
}

TEST_F(MessageFactsTest, PrefetchAsksEveryFirstQuestionAtOnce) {
  auto env = envelope("192.0.2.10");
  MessageFacts facts(resolver, message, env);
  std::vector<vm::FactUse> needed = {{FieldId::Spf, {}}, {FieldId::Fcrdns, {}}};
  facts.prefetch(needed);
  EXPECT_EQ(resolver.outstanding(), 2u);  // the SPF TXT and the PTR, both on the wire
  EXPECT_EQ(facts.compute(FieldId::Spf, {}).text, std::vector<std::string>{"pass"});
}

TEST_F(MessageFactsTest, DnsListsForIpv4AndIpv6Clients) {
  std::vector<std::string> zones = {"zen.test", "other.test"};
  auto v4 = envelope("192.0.2.10");
  MessageFacts facts4(resolver, message, v4);
  auto listed = facts4.compute(FieldId::Dnsbl, zones);
  ASSERT_EQ(listed.ips.size(), 1u);
  EXPECT_EQ(listed.ips[0].str(), "127.0.0.2");
  EXPECT_EQ(listed.arguments, std::vector<std::string>{"zen.test"});
  EXPECT_NE(listed.detail.find("other.test: not listed"), std::string::npos) << listed.detail;
  auto v6 = envelope("2001:db8::1");
  MessageFacts facts6(resolver, message, v6);
  auto listed6 = facts6.compute(FieldId::Dnsbl, zones);
  ASSERT_EQ(listed6.ips.size(), 1u);
  EXPECT_EQ(listed6.ips[0].str(), "127.0.0.3");
}

// RFC 5782 2.1: only 127.0.0.0/8 is a listing. A list's refusal (Spamhaus's
// 127.255.255.254, "query through a public resolver") is not knowing, not listed: a
// test of every message would otherwise read "listed"; another address (a resolver
// answering NXDOMAIN with its own) is no listing.
TEST_F(MessageFactsTest, DnsListRefusalsAreTempErrorsAndAddressesOutside127AreNoListing) {
  auto e = envelope("192.0.2.10");
  MessageFacts facts(resolver, message, e);
  std::vector<std::string> refusing = {"refusing.test"}, hijacked = {"hijacked.test"}, mixed = {"mixed.test"};
  const vm::FactValue refused = facts.compute(FieldId::Dnsbl, refusing);
  EXPECT_TRUE(refused.temp_error);
  EXPECT_TRUE(refused.ips.empty());
  EXPECT_NE(refused.detail.find("refused the query (127.255.255.254)"), std::string::npos) << refused.detail;
  const vm::FactValue outside = facts.compute(FieldId::Dnsbl, hijacked);
  EXPECT_FALSE(outside.temp_error);
  EXPECT_TRUE(outside.ips.empty());
  EXPECT_NE(outside.detail.find("not listed (ignored 198.51.100.80"), std::string::npos) << outside.detail;
  const vm::FactValue both = facts.compute(FieldId::Dnswl, mixed);
  ASSERT_EQ(both.ips.size(), 1u);
  EXPECT_EQ(both.ips[0].str(), "127.0.0.4");
}

TEST_F(MessageFactsTest, TimeoutsOfListsAndMxAreTempErrors) {
  auto e = envelope("192.0.2.10", "mail.example.test", "a@slow.test");
  MessageFacts facts(resolver, message, e);
  std::vector<std::string> slow_zone = {"slowlist.test"};
  auto list = facts.compute(FieldId::Dnsbl, slow_zone);
  EXPECT_TRUE(list.temp_error);
  EXPECT_NE(list.detail.find("timeout"), std::string::npos) << list.detail;
  std::vector<std::string> sender_domain = {"sender.domain"};
  auto mx = facts.compute(FieldId::Mx, sender_domain);
  EXPECT_TRUE(mx.temp_error);
  EXPECT_EQ(mx.text, std::vector<std::string>{"temperror"});
  auto slow_helo = envelope("192.0.2.10", "slow.test");
  MessageFacts helo_facts(resolver, message, slow_helo);
  EXPECT_TRUE(helo_facts.compute(FieldId::HeloChecks, {}).temp_error);
}

TEST(GenericPtr, RecognisesTheAddressDigits) {
  auto ip = *runtime::IpAddress::parse("192.0.2.11");
  EXPECT_TRUE(looks_generic("11-2-0-192.dyn.example.net", ip));
  EXPECT_TRUE(looks_generic("host192.0.2.11.pool.example", ip));
  EXPECT_TRUE(looks_generic("192-0-2-11.example", ip));
  EXPECT_TRUE(looks_generic("c192000002011.cable.example", ip));
  EXPECT_FALSE(looks_generic("mail.example.test", ip));
  EXPECT_FALSE(looks_generic("mx11.example.test", ip));
}

}  // namespace
}  // namespace mp::auth

// The compiler rejects values outside vm::field_vocabulary (E023); every name the
// fact modules produce must be in it, or a correct rule would be refused.
namespace mp::auth {
namespace {

bool in_vocabulary(vm::FieldId field, std::string_view value) {
  const auto& words = vm::field_vocabulary(field);
  return std::find(words.begin(), words.end(), value) != words.end();
}

TEST(FactVocabulary, EveryStatusNameIsKnownToTheCompiler) {
  for (auto r = 0; r <= static_cast<int>(SpfResult::PermError); ++r) {
    EXPECT_TRUE(in_vocabulary(FieldId::Spf, spf_result_name(static_cast<SpfResult>(r))));
  }
  for (auto s = 0; s <= static_cast<int>(DkimStatus::PermError); ++s) {
    EXPECT_TRUE(in_vocabulary(FieldId::Dkim, dkim_status_name(static_cast<DkimStatus>(s))));
  }
  for (auto s = 0; s <= static_cast<int>(DmarcStatus::PermError); ++s) {
    EXPECT_TRUE(in_vocabulary(FieldId::Dmarc, dmarc_status_name(static_cast<DmarcStatus>(s))));
  }
  for (auto p = 0; p <= static_cast<int>(DmarcPolicy::Reject); ++p) {
    EXPECT_TRUE(in_vocabulary(FieldId::DmarcPolicy, dmarc_policy_name(static_cast<DmarcPolicy>(p))));
  }
}

}  // namespace
}  // namespace mp::auth

// Names on the wire are A-labels (RFC 7208 4.3); a v4-mapped client is IPv4 (issue 9).
namespace mp::auth {
namespace {

TEST_F(MessageFactsTest, InternationalizedSenderDomainIsAskedAsALabels) {
  message = runtime::Message::parse(
      "From: ivan@\xd0\xbf\xd1\x80\xd0\xb8\xd0\xbc\xd0\xb5\xd1\x80.\xd1\x80\xd1\x84\r\n\r\nb\r\n");
  const std::string sender =
      "ivan@\xd0\xbf\xd1\x80\xd0\xb8\xd0\xbc\xd0\xb5\xd1\x80.\xd1\x80\xd1\x84";  // пример.рф
  auto e = envelope("192.0.2.10", "mail.example.test", sender);
  MessageFacts facts(resolver, message, e);
  const vm::FactValue spf = facts.compute(FieldId::Spf, {});
  EXPECT_EQ(spf.text, std::vector<std::string>{"pass"}) << spf.detail;
  EXPECT_NE(spf.detail.find("xn--e1afmkfd.xn--p1ai"), std::string::npos) << spf.detail;
  const std::vector<std::string> argument{"sender.domain"};
  EXPECT_EQ(facts.compute(FieldId::Mx, argument).text, std::vector<std::string>{"mx"});
  EXPECT_EQ(facts.compute(FieldId::Dmarc, {}).text, std::vector<std::string>{"pass"});
}

TEST_F(MessageFactsTest, V4MappedClientIsIpv4ForSpfPtrAndDnsLists) {
  auto e = envelope("::ffff:192.0.2.10");
  EXPECT_EQ(values(e, FieldId::Spf), std::vector<std::string>{"pass"});
  EXPECT_EQ(values(e, FieldId::Fcrdns), std::vector<std::string>{"pass"});
  MessageFacts facts(resolver, message, e);
  const std::vector<std::string> zone{"zen.test"};
  const vm::FactValue listed = facts.compute(FieldId::Dnsbl, zone);
  ASSERT_EQ(listed.ips.size(), 1u) << listed.detail;
  EXPECT_EQ(listed.ips[0].str(), "127.0.0.2");
}

TEST(ALabels, EveryNonAsciiLabelIsConverted) {
  EXPECT_EQ(dns::a_label_name("_dmarc.\xd0\xbf\xd1\x80\xd0\xb8\xd0\xbc\xd0\xb5\xd1\x80.\xd1\x80\xd1\x84"),
            "_dmarc.xn--e1afmkfd.xn--p1ai");
  EXPECT_EQ(dns::a_label_name("sel._domainkey.M\xc3\xbcnchen.de"), "sel._domainkey.xn--mnchen-3ya.de");
  EXPECT_EQ(dns::a_label_name("plain.example"), "plain.example");
  EXPECT_FALSE(dns::a_label_name("bad\xff.example"));
}

}  // namespace
}  // namespace mp::auth
