// SPF macro transformers with numbers of any length (RFC 7208 7.3: `*DIGIT`), through
// the production path (check_spf → dns::Resolver → a DNS server on 127.0.0.1). Found by
// fuzz/spf_fuzz.cpp: a 20-digit number made std::stoul throw out_of_range out of
// check_spf (fuzz/seeds/spf/crash-long-macro-transformer).
#include <gtest/gtest.h>

#include "auth/spf.h"
#include "tests/dnsd/test_dns_server.h"

namespace mp::auth {
namespace {

SpfOutcome check(const std::string& zone) {
  testing::TestDnsServer server(zone);
  dns::Resolver resolver({.servers = {server.address()}, .timeout_ms = 1000, .tries = 1});
  SpfRequest request;
  request.ip = runtime::IpAddress::parse("192.0.2.1").value();
  request.sender = "user@example.org";
  request.helo = "mail.example.org";
  return check_spf(request, resolver, dns::Resolver::Clock::now() + std::chrono::seconds(5));
}

TEST(SpfMacros, TransformerNumberTooLongForAnIntegerIsNoException) {
  // 20 digits: past what unsigned long holds. A number this large keeps every part.
  SpfOutcome outcome;
  EXPECT_NO_THROW(
      outcome = check("example.org. 300 IN TXT \"v=spf1 exists:%{l99999999999999999999}.example.org -all\"\n"
                      "user.example.org. 300 IN A 127.0.0.2\n"));
  EXPECT_EQ(outcome.result, SpfResult::Pass) << outcome.problem;
}

TEST(SpfMacros, TransformerNumberPastSizeMaxKeepsEveryPart) {
  // 2^64 + 1: wrapped around, it would keep one part ("org.example.org").
  SpfOutcome outcome = check(
      "example.org. 300 IN TXT \"v=spf1 exists:%{d18446744073709551617}.example.org -all\"\n"
      "example.org.example.org. 300 IN A 127.0.0.2\n"
      "org.example.org. 300 IN A 127.0.0.3\n");
  EXPECT_EQ(outcome.result, SpfResult::Pass) << outcome.problem;
  EXPECT_EQ(outcome.mechanism, "exists:%{d18446744073709551617}.example.org");
}

TEST(SpfMacros, TransformerZeroWrittenWithManyDigitsIsStillZero) {
  SpfOutcome outcome =
      check("example.org. 300 IN TXT \"v=spf1 exists:%{l000000000000000000000}.example.org -all\"\n");
  EXPECT_EQ(outcome.result, SpfResult::PermError);
  EXPECT_EQ(outcome.problem, "macro transformer 0");
}

}  // namespace
}  // namespace mp::auth
