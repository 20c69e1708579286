// dns::Resolver against a real DNS server on 127.0.0.1 (tests/dnsd): record decoding,
// NXDOMAIN vs NODATA, the TTL cache, merged questions, real timeouts, SERVFAIL, TCP
// fallback for large answers, and the per-message query budget.
#include "dns/resolver.h"

#include <gtest/gtest.h>

#include <thread>

#include "tests/dnsd/test_dns_server.h"

namespace mp::dns {
namespace {

const char* kZone = R"(
example.test.          300 IN A     192.0.2.10
example.test.          300 IN AAAA  2001:db8::10
example.test.          300 IN MX    10 mx1.example.test.
example.test.          300 IN MX    20 mx2.example.test.
example.test.          300 IN TXT   "v=spf1 " "ip4:192.0.2.0/24 -all"
short.example.test.    1   IN A     192.0.2.11
alias.example.test.    300 IN CNAME example.test.
10.2.0.192.in-addr.arpa. 300 IN PTR example.test.
sub.deep.example.test. 300 IN A     192.0.2.12
slow.example.test.     TIMEOUT
broken.example.test.   SERVFAIL
)";

std::string big_txt_zone() {
  std::string zone = "big.example.test. 300 IN TXT";
  for (int i = 0; i < 6; ++i) zone += " \"" + std::string(200, static_cast<char>('a' + i)) + "\"";
  return zone + "\n";
}

class ResolverTest : public ::testing::Test {
 protected:
  testing::TestDnsServer server{std::string(kZone) + big_txt_zone()};
  ResolverOptions options() {
    return {.servers = {server.address()}, .timeout_ms = 200, .tries = 1, .cache = nullptr};
  }
};

TEST_F(ResolverTest, DecodesEachRecordType) {
  Resolver r(options());
  auto a = r.resolve("example.test", RrType::A);
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(a.records.size(), 1u);
  EXPECT_EQ(a.records[0].ip.str(), "192.0.2.10");
  EXPECT_EQ(a.records[0].ttl, 300u);

  auto aaaa = r.resolve("example.test", RrType::Aaaa);
  ASSERT_EQ(aaaa.records.size(), 1u);
  EXPECT_EQ(aaaa.records[0].ip.str(), "2001:db8::10");

  auto mx = r.resolve("example.test", RrType::Mx);
  ASSERT_EQ(mx.records.size(), 2u);
  EXPECT_EQ(mx.records[0].preference + mx.records[1].preference, 30);
  EXPECT_TRUE(mx.records[0].name == "mx1.example.test" || mx.records[0].name == "mx2.example.test");

  auto txt = r.resolve("example.test", RrType::Txt);
  ASSERT_EQ(txt.records.size(), 1u);
  EXPECT_EQ(txt.records[0].strings.size(), 2u);
  EXPECT_EQ(txt.records[0].text(), "v=spf1 ip4:192.0.2.0/24 -all");  // joined without a space

  auto ptr = r.resolve(reverse_name(*runtime::IpAddress::parse("192.0.2.10")), RrType::Ptr);
  ASSERT_EQ(ptr.records.size(), 1u);
  EXPECT_EQ(ptr.records[0].name, "example.test");
}

TEST_F(ResolverTest, FollowsCnameToTheAskedType) {
  Resolver r(options());
  auto a = r.resolve("alias.example.test", RrType::A);
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(a.records.size(), 1u);
  EXPECT_EQ(a.records[0].ip.str(), "192.0.2.10");
}

TEST_F(ResolverTest, TellsNxdomainFromNodata) {
  Resolver r(options());
  EXPECT_EQ(r.resolve("nowhere.example.test", RrType::A).status, Status::NxDomain);
  auto nodata = r.resolve("example.test", RrType::Ptr);
  EXPECT_EQ(nodata.status, Status::Ok);
  EXPECT_TRUE(nodata.empty());
  // An empty non-terminal exists.
  EXPECT_EQ(r.resolve("deep.example.test", RrType::A).status, Status::Ok);
}

TEST_F(ResolverTest, CachesForTheTtlAndCountsWireQueries) {
  Resolver r(options());
  EXPECT_FALSE(r.resolve("example.test", RrType::A).from_cache);
  EXPECT_TRUE(r.resolve("EXAMPLE.test.", RrType::A).from_cache);  // case and final dot do not matter
  EXPECT_EQ(r.queries_sent(), 1u);
  EXPECT_EQ(server.queries(), 1u);
  // Negative answers are cached too.
  r.resolve("nowhere.example.test", RrType::A);
  EXPECT_TRUE(r.resolve("nowhere.example.test", RrType::A).from_cache);
}

TEST_F(ResolverTest, ExpiredEntriesAreAskedAgain) {
  Resolver r(options());
  r.resolve("short.example.test", RrType::A);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_FALSE(r.resolve("short.example.test", RrType::A).from_cache);
  EXPECT_EQ(server.queries(), 2u);
}

TEST_F(ResolverTest, SharedCacheServesOtherResolvers) {
  auto cache = std::make_shared<Cache>();
  auto opts = options();
  opts.cache = cache;
  Resolver first(opts), second(opts);
  first.resolve("example.test", RrType::Mx);
  EXPECT_TRUE(second.resolve("example.test", RrType::Mx).from_cache);
  EXPECT_EQ(server.queries(), 1u);
}

TEST_F(ResolverTest, IdenticalQuestionsInFlightAreMerged) {
  Resolver r(options());
  int answered = 0;
  for (int i = 0; i < 3; ++i)
    r.query("example.test", RrType::Txt, [&](const Answer& a) { answered += a.ok(); });
  EXPECT_EQ(r.outstanding(), 1u);
  r.run_until_idle(Resolver::Clock::now() + std::chrono::seconds(2));
  EXPECT_EQ(answered, 3);
  EXPECT_EQ(server.queries(), 1u);
}

TEST_F(ResolverTest, QuestionsForOneMessageRunInParallel) {
  Resolver r(options());
  int timeouts = 0;
  for (const char* name : {"slow.example.test", "example.test", "alias.example.test"}) {
    r.query(name, RrType::A, [&](const Answer& a) { timeouts += a.temp_error(); });
  }
  EXPECT_EQ(r.outstanding(), 3u);  // all three on the wire before any answer is read
  r.run_until_idle(Resolver::Clock::now() + std::chrono::seconds(2));
  EXPECT_EQ(r.outstanding(), 0u);
  EXPECT_EQ(timeouts, 1);
}

TEST_F(ResolverTest, AnUnansweredQuestionIsATempErrorTimeout) {
  Resolver r(options());
  auto a = r.resolve("slow.example.test", RrType::Txt);
  EXPECT_EQ(a.status, Status::TempError);
  EXPECT_EQ(a.reason, "timeout");
  EXPECT_FALSE(r.resolve("slow.example.test", RrType::Txt).from_cache);  // failures are not cached
}

TEST_F(ResolverTest, ADeadlineShorterThanTheTimeoutStopsWaiting) {
  Resolver r({.servers = {server.address()}, .timeout_ms = 5000, .tries = 1, .cache = nullptr});
  auto a = r.resolve("slow.example.test", RrType::A, Resolver::Clock::now() + std::chrono::milliseconds(100));
  EXPECT_TRUE(a.temp_error());
  r.query("slow.example.test", RrType::Mx, [](const Answer&) {});
  r.run_until_idle(Resolver::Clock::now() + std::chrono::milliseconds(50));
  EXPECT_EQ(r.outstanding(), 0u);  // cancelled at the deadline
}

// A message past its facts budget still runs its SPF and DNSBL steps, each asking with
// a deadline already gone: nothing is sent that no one would read, but what is known
// without asking is still given.
TEST_F(ResolverTest, ADeadlineAlreadyPastSendsNoQuestion) {
  Resolver r(options());
  const auto past = Resolver::Clock::now() - std::chrono::milliseconds(1);
  Answer a = r.resolve("example.test", RrType::A, past);
  EXPECT_TRUE(a.temp_error());
  EXPECT_EQ(a.reason, "timeout (deadline passed before asking)");
  EXPECT_EQ(r.resolve("bad..name", RrType::A, past).status, Status::NxDomain);
  EXPECT_EQ(r.queries_sent(), 0u);
  EXPECT_EQ(r.outstanding(), 0u);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(server.queries(), 0u);

  ASSERT_TRUE(r.resolve("example.test", RrType::A).ok());
  Answer cached = r.resolve("example.test", RrType::A, past);
  EXPECT_TRUE(cached.ok());
  EXPECT_TRUE(cached.from_cache);
  EXPECT_EQ(server.queries(), 1u);
}

// GatewayLoad's DNS outage found this: a question whose caller stopped waiting stays on
// the wire, and its answer may lie unread in the socket until the next question for the
// same name, after the server is gone and the answer's TTL has run out. That answer
// must be neither given to the later question nor cached.
TEST(ResolverStaleAnswers, AnAnswerLeftUnreadIsNotGivenToALaterQuestion) {
  auto server = std::make_unique<testing::TestDnsServer>("stale.test. 1 IN A 192.0.2.1\n");
  Resolver r({.servers = {server->address()}, .timeout_ms = 100, .tries = 1, .cache = nullptr});
  r.query("stale.test", RrType::A, [](const Answer&) {});      // asked, and never driven
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the answer comes, unread
  server.reset();
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // past its TTL and its question's time
  Answer later = r.resolve("stale.test", RrType::A);
  EXPECT_TRUE(later.temp_error()) << "given an answer sent over a second ago, " << later.records.size()
                                  << " records";
  EXPECT_TRUE(r.resolve("stale.test", RrType::A).temp_error()) << "it was cached";
}

TEST(DnsCache, TheTtlCountsFromWhenTheQuestionWasAsked) {
  Cache cache;
  Answer ok;
  ok.status = Status::Ok;
  Answer out;
  const auto now = std::chrono::steady_clock::now();
  cache.store("old.test", RrType::A, ok, 300, now - std::chrono::seconds(301));
  EXPECT_FALSE(cache.lookup("old.test", RrType::A, out));
  cache.store("recent.test", RrType::A, ok, 300, now - std::chrono::seconds(299));
  EXPECT_TRUE(cache.lookup("recent.test", RrType::A, out));
  cache.store("zero.test", RrType::A, ok, 0);
  EXPECT_FALSE(cache.lookup("zero.test", RrType::A, out));
}

TEST_F(ResolverTest, ASlowServerIsWaitedForWithinTheTimeoutOnly) {
  Resolver r(options());  // 200 ms, one try
  server.set_delay(std::chrono::milliseconds(100));
  const auto start = Resolver::Clock::now();
  EXPECT_TRUE(r.resolve("example.test", RrType::A).ok());
  EXPECT_GE(Resolver::Clock::now() - start, std::chrono::milliseconds(100));
  server.set_delay(std::chrono::milliseconds(400));
  Answer late = r.resolve("example.test", RrType::Mx);
  EXPECT_EQ(late.reason, "timeout");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the late answer arrives, unread
  server.set_delay(std::chrono::milliseconds(0));
  EXPECT_TRUE(r.resolve("example.test", RrType::Mx).ok());
}

TEST_F(ResolverTest, ServfailIsATempError) {
  Resolver r(options());
  auto a = r.resolve("broken.example.test", RrType::A);
  EXPECT_EQ(a.status, Status::TempError);
  EXPECT_EQ(a.reason, "SERVFAIL");
}

TEST_F(ResolverTest, NoServerListeningIsATempError) {
  Resolver r({.servers = {"127.0.0.1:9"}, .timeout_ms = 100, .tries = 1, .cache = nullptr});
  EXPECT_TRUE(r.resolve("example.test", RrType::A).temp_error());
}

TEST_F(ResolverTest, LargeAnswersComeOverTcp) {
  Resolver r(options());
  auto txt = r.resolve("big.example.test", RrType::Txt);
  ASSERT_TRUE(txt.ok()) << txt.reason;
  ASSERT_EQ(txt.records.size(), 1u);
  EXPECT_EQ(txt.records[0].text().size(), 1200u);
}

TEST_F(ResolverTest, TheQueryBudgetStopsFurtherWireQueries) {
  Resolver r(options());
  r.set_query_budget(1);
  EXPECT_TRUE(r.resolve("example.test", RrType::A).ok());
  EXPECT_TRUE(r.resolve("example.test", RrType::A).ok());  // cached: free
  auto over = r.resolve("example.test", RrType::Mx);
  EXPECT_TRUE(over.temp_error());
  EXPECT_EQ(over.reason, "query budget exhausted");
  r.set_query_budget(0);
  EXPECT_TRUE(r.resolve("example.test", RrType::Mx).ok());
}

TEST_F(ResolverTest, InvalidNamesAreNotAsked) {
  Resolver r(options());
  EXPECT_EQ(r.resolve(std::string(64, 'a') + ".example.test", RrType::A).status, Status::NxDomain);
  EXPECT_EQ(r.resolve("a..example.test", RrType::A).status, Status::NxDomain);
  EXPECT_EQ(server.queries(), 0u);
}

TEST(ResolverOptionsTest, ABadServerListIsRejected) {
  EXPECT_THROW(Resolver({.servers = {"not an address"}, .timeout_ms = 100, .tries = 1, .cache = nullptr}),
               std::runtime_error);
}

TEST(DnsNames, ReverseNamesForPtrAndDnsbl) {
  EXPECT_EQ(reverse_name(*runtime::IpAddress::parse("192.0.2.1")), "1.2.0.192.in-addr.arpa");
  EXPECT_EQ(reverse_labels(*runtime::IpAddress::parse("2001:db8::1")),
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2");
  EXPECT_TRUE(valid_dns_name("a.b.c."));
  EXPECT_FALSE(valid_dns_name(std::string(254, 'a')));
  EXPECT_FALSE(valid_dns_name(""));
}

}  // namespace
}  // namespace mp::dns

namespace mp::dns {
namespace {

// Every server form the docs name is taken; a bad address or port is refused with the
// entry named (c-ares itself would read port 99999 as 34463).
TEST(ResolverServers, BadAddressesAndPortsAreRefused) {
  for (const char* good : {"127.0.0.1", "127.0.0.1:5353", "::1", "[::1]:53", "[2001:db8::1]"}) {
    EXPECT_NO_THROW(Resolver({.servers = {good}})) << good;
  }
  for (const char* bad : {"127.0.0.1:99999", "127.0.0.1:0", "127.0.0.1:", "127.0.0.1:5x", "dns.example",
                          "[::1", "[::1]x53", "[::1]:70000", "300.1.1.1"}) {
    try {
      Resolver resolver({.servers = {bad}});
      ADD_FAILURE() << bad << " was accepted";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace mp::dns
