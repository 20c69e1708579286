// Tests for DKIM verification (auth/dkim.h, auth/dkim_verify.cpp): the RFC 8463
// example message with its published keys, several signatures and the overall result,
// and key lookups through the real resolver.
#include <gtest/gtest.h>

#include <chrono>
#include <map>

#include "auth/dkim.h"
#include "runtime/message.h"
#include "tests/auth/dkim_test_util.h"
#include "tests/dnsd/test_dns_server.h"

namespace mp::auth {
namespace {

using namespace dkim_testing;

// ---- The RFC 8463 example (Appendix A), as published, LF line ends -----------------

const std::string kRfc8463Ed25519Key = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
const std::string kRfc8463RsaKey =
    "v=DKIM1; k=rsa; "
    "p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/"
    "J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+"
    "2kryOTIKT+l/K4w3QIDAQAB";
constexpr std::time_t kRfc8463SigningTime = 1528637909;

FakeDns rfc8463_dns() {
  FakeDns dns;
  dns.add("brisbane._domainkey.football.example.com", kRfc8463Ed25519Key);
  dns.add("test._domainkey.football.example.com", kRfc8463RsaKey);
  return dns;
}

DkimVerification verify_rfc8463(const std::string& message, std::time_t now = kRfc8463SigningTime + 60) {
  FakeDns dns = rfc8463_dns();
  return dkim_verify(message, dns.lookup(), now);
}

TEST(DkimRfc8463, BothSignaturesPass) {
  const DkimVerification v = verify_rfc8463(data_file("rfc8463_example.eml"));
  ASSERT_EQ(v.signatures.size(), 2u);
  EXPECT_EQ(statuses(v), (std::vector<std::string>{"pass", "pass"}));
  const DkimResult& ed = v.signatures[0];
  EXPECT_EQ(ed.algorithm, "ed25519-sha256");
  EXPECT_EQ(ed.domain, "football.example.com");
  EXPECT_EQ(ed.selector, "brisbane");
  EXPECT_EQ(ed.identity, "@football.example.com");
  EXPECT_EQ(ed.signature_prefix, "/gCrinpc");
  EXPECT_FALSE(ed.testing);
  EXPECT_EQ(v.signatures[1].algorithm, "rsa-sha256");
  EXPECT_EQ(v.overall(), DkimStatus::Pass);
  EXPECT_EQ(v.passing_domains(), std::vector<std::string>{"football.example.com"});
}

TEST(DkimRfc8463, ChangedBodyIsABodyHashMismatch) {
  const std::string changed =
      replaced(data_file("rfc8463_example.eml"), "We lost the game.", "We won the game.");
  EXPECT_EQ(statuses(verify_rfc8463(changed)),
            (std::vector<std::string>{"fail: body hash mismatch", "fail: body hash mismatch"}));
}

TEST(DkimRfc8463, ChangedSignedHeaderFailsTheSignature) {
  const std::string changed =
      replaced(data_file("rfc8463_example.eml"), "Is dinner ready?", "Is lunch ready?");
  EXPECT_EQ(statuses(verify_rfc8463(changed)),
            (std::vector<std::string>{"fail: signature did not verify", "fail: signature did not verify"}));
}

TEST(DkimRfc8463, OverSignedHeaderCannotBeAdded) {
  // h= lists subject twice while the message has one Subject: a second one is noticed
  // wherever it is put, while an unsigned field may be added freely.
  const std::string original = data_file("rfc8463_example.eml");
  const std::string extra_subject = replaced(original, "\n\nHi.", "\nSubject: Free lunch\n\nHi.");
  EXPECT_EQ(verify_rfc8463(extra_subject).overall(), DkimStatus::Fail);
  const std::string extra_field = replaced(original, "\n\nHi.", "\nX-Mailer: list manager\n\nHi.");
  EXPECT_EQ(statuses(verify_rfc8463(extra_field)), (std::vector<std::string>{"pass", "pass"}));
}

TEST(DkimRfc8463, MboxFromLineAsKeptByTheMessageModel) {
  const std::string mbox =
      "From joe@football.example.com Fri Jul 11 21:00:37 2003\n" + data_file("rfc8463_example.eml");
  const runtime::Message message = runtime::Message::parse(mbox);
  ASSERT_TRUE(message.raw().starts_with("From joe@")) << "Message::raw() keeps the mbox line";
  EXPECT_EQ(statuses(verify_rfc8463(std::string(message.raw()))), (std::vector<std::string>{"pass", "pass"}));
  EXPECT_EQ(dkim_key_queries(message.raw()),
            (std::vector<std::string>{"brisbane._domainkey.football.example.com",
                                      "test._domainkey.football.example.com"}));
}

TEST(DkimRfc8463, SignatureTimeAgainstTheClock) {
  const std::string message = data_file("rfc8463_example.eml");
  EXPECT_EQ(verify_rfc8463(message, kRfc8463SigningTime - 200).overall(),
            DkimStatus::Pass);  // within the skew
  const DkimVerification early = verify_rfc8463(message, kRfc8463SigningTime - 1000);
  EXPECT_EQ(statuses(early), (std::vector<std::string>{"permerror: signature timestamp in the future",
                                                       "permerror: signature timestamp in the future"}));
}

// ---- Several signatures and the overall result --------------------------------------

TEST(DkimVerify, SeveralSignaturesInHeaderOrder) {
  DkimSigner list_signer = signer_for(rsa2048());
  list_signer.domain = "lists.example.org";
  const std::string message = sign_message(sign_message(kMessage, signer_for(ed25519())), list_signer);
  FakeDns dns = dns_with(ed25519());
  dns.add("sel._domainkey.lists.example.org", rsa2048().record);
  const DkimVerification v = dkim_verify(message, dns.lookup(), kNow);
  EXPECT_EQ(statuses(v), (std::vector<std::string>{"pass", "pass"}));
  EXPECT_EQ(v.passing_domains(), (std::vector<std::string>{"lists.example.org", "example.com"}));

  dns.add("sel._domainkey.lists.example.org", "v=DKIM1; p=");
  const DkimVerification one_revoked = dkim_verify(message, dns.lookup(), kNow);
  EXPECT_EQ(statuses(one_revoked), (std::vector<std::string>{"permerror: key revoked", "pass"}));
  EXPECT_EQ(one_revoked.overall(), DkimStatus::Pass);
  EXPECT_EQ(one_revoked.passing_domains(), std::vector<std::string>{"example.com"});
}

TEST(DkimVerify, EachKeyIsLookedUpOnce) {
  const std::string once = sign_message(kMessage, signer_for(ed25519()));
  const std::string twice = sign_message(once, signer_for(ed25519()));
  FakeDns dns = dns_with(ed25519());
  EXPECT_EQ(statuses(dkim_verify(twice, dns.lookup(), kNow)), (std::vector<std::string>{"pass", "pass"}));
  EXPECT_EQ(dns.asked, std::vector<std::string>{"sel._domainkey.example.com"});
}

TEST(DkimVerify, KeyQueriesForPrefetch) {
  const std::string message =
      "DKIM-Signature: v=1; a=rsa-sha256; d=Example.COM; s=a; h=from; bh=AAAA; b=AAAA\r\n"
      "DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=b; bh=AAAA; b=AAAA\r\n"  // no h=
      "DKIM-Signature: v=1; a=ed25519-sha256; d=example.com; s=a; h=from; bh=AAAA; b=AAAA\r\n"
      "DKIM-Signature: v=1; a=rsa-sha256; d=example.net; s=c.d; h=from; bh=AAAA; b=AAAA\r\n"
      "From: a@example.com\r\n\r\n";
  EXPECT_EQ(dkim_key_queries(message),
            (std::vector<std::string>{"a._domainkey.example.com", "c.d._domainkey.example.net"}));
  EXPECT_TRUE(dkim_key_queries(kMessage).empty());
}

TEST(DkimVerify, AtMostTenSignaturesAreChecked) {
  std::string message = kMessage;
  for (int i = 0; i < 12; ++i) {
    message = "DKIM-Signature: v=1; a=rsa-sha256; d=d" + std::to_string(i) +
              ".example; s=s; h=from; bh=AAAA; b=AAAA\r\n" + message;
  }
  FakeDns dns;
  const DkimVerification v = dkim_verify(message, dns.lookup(), kNow);
  ASSERT_EQ(v.signatures.size(), 12u);
  EXPECT_EQ(status_and_reason(v.signatures[9]), "permerror: no key record");
  EXPECT_EQ(status_and_reason(v.signatures[10]), "neutral: not checked: more than 10 signatures");
  EXPECT_EQ(v.signatures[11].domain, "d0.example");
  EXPECT_EQ(dns.asked.size(), 10u);
  EXPECT_EQ(dkim_key_queries(message).size(), 10u);
}

DkimVerification with_statuses(std::initializer_list<DkimStatus> list) {
  DkimVerification v;
  for (DkimStatus status : list) v.signatures.emplace_back().status = status;
  return v;
}

TEST(DkimVerify, OverallOrder) {
  using enum DkimStatus;
  EXPECT_EQ(with_statuses({}).overall(), None);
  EXPECT_EQ(with_statuses({Fail, Pass, TempError}).overall(), Pass);
  EXPECT_EQ(with_statuses({PermError, Fail, TempError, Neutral}).overall(), TempError);
  EXPECT_EQ(with_statuses({PermError, Fail, Neutral}).overall(), Fail);
  EXPECT_EQ(with_statuses({Neutral, PermError}).overall(), PermError);
  EXPECT_EQ(with_statuses({Neutral}).overall(), Neutral);
  EXPECT_TRUE(with_statuses({Fail}).passing_domains().empty());
}

TEST(DkimVerify, StatusNames) {
  using enum DkimStatus;
  EXPECT_EQ(dkim_status_name(None), "none");
  EXPECT_EQ(dkim_status_name(Pass), "pass");
  EXPECT_EQ(dkim_status_name(Fail), "fail");
  EXPECT_EQ(dkim_status_name(Neutral), "neutral");
  EXPECT_EQ(dkim_status_name(TempError), "temperror");
  EXPECT_EQ(dkim_status_name(PermError), "permerror");
}

// ---- Key lookups through the real resolver -------------------------------------------

// The production path: prefetch the names dkim_key_queries() gives, then answer the
// lookups from the resolver's cache. The DNS server sends the RSA record as several
// character-strings; one selector times out, one is SERVFAIL.
TEST(DkimResolver, PrefetchedKeysThroughTheResolver) {
  std::string zone = "ed._domainkey.example.com. 300 IN TXT \"" + ed25519().record + "\"\n" +
                     "rsa._domainkey.example.com. 300 IN TXT";
  for (size_t i = 0; i < rsa2048().record.size(); i += 200)
    zone += " \"" + rsa2048().record.substr(i, 200) + "\"";
  zone += "\nslow._domainkey.example.com. TIMEOUT\nbroken._domainkey.example.com. SERVFAIL\n";
  mp::testing::TestDnsServer server(zone);
  dns::Resolver resolver({.servers = {server.address()}, .timeout_ms = 300, .tries = 1, .cache = nullptr});

  std::string message = kMessage;
  for (const char* selector : {"broken", "slow", "missing", "rsa", "ed"}) {
    DkimSigner signer = signer_for(std::string_view(selector) == "rsa" ? rsa2048() : ed25519());
    signer.selector = selector;
    message = sign_message(message, signer);
  }
  const std::vector<std::string> names = dkim_key_queries(message);
  ASSERT_EQ(names.size(), 5u);
  for (const std::string& name : names) resolver.query(name, dns::RrType::Txt, [](const dns::Answer&) {});
  resolver.run_until_idle(dns::Resolver::Clock::now() + std::chrono::seconds(5));

  std::map<std::string, bool> from_cache;
  const DkimVerification v = dkim_verify(
      message,
      [&](const std::string& name) {
        dns::Answer answer = resolver.resolve(name, dns::RrType::Txt);
        from_cache[name] = answer.from_cache;
        return answer;
      },
      kNow);
  ASSERT_EQ(v.signatures.size(), 5u);
  EXPECT_EQ(status_and_reason(v.signatures[0]), "pass");  // ed
  EXPECT_EQ(status_and_reason(v.signatures[1]), "pass");  // rsa, several strings
  EXPECT_EQ(status_and_reason(v.signatures[2]), "permerror: no key record");
  EXPECT_EQ(v.signatures[3].status, DkimStatus::TempError);
  EXPECT_TRUE(v.signatures[3].reason.starts_with("DNS ")) << v.signatures[3].reason;
  EXPECT_EQ(v.signatures[4].status, DkimStatus::TempError);
  EXPECT_TRUE(from_cache["ed._domainkey.example.com"]);
  EXPECT_TRUE(from_cache["rsa._domainkey.example.com"]);
}

}  // namespace
}  // namespace mp::auth
