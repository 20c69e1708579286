// Faults of the components around policyd, under load through a real Postfix
// (docs/reliability.md, "Faults"): mid-run clamd is killed and comes back, Redis (the
// state store) is killed and comes back, and policyd itself is killed with SIGKILL and
// restarted as its supervisor would; the filesystem of an LMDB store fills up; and the
// DNS server turns slow, first within the resolver's timeout and then past the facts
// budget. Every message is then reconciled (reconcile.h): delivered, held, refused or
// deferred, none lost.
//
// MP_SOAK_MESSAGES (default 600) and MP_SOAK_CLIENTS (default 20) size the run.
#include <gtest/gtest.h>

#include <cstdlib>
#include <future>
#include <mutex>
#include <string>
#include <thread>

#include "tests/av/clamd_harness.h"
#include "tests/dnsd/test_dns_server.h"
#include "tests/gateway/policyd_harness.h"
#include "tests/gateway/reconcile.h"
#include "tests/gateway/smtp_load.h"
#include "tests/state/redis_harness.h"
#include "tests/state/small_filesystem.h"

namespace mp::gateway_test {
namespace {

// A scanner that cannot answer defers the message; a store that cannot answer gives
// no reputation (state.on_error = ignore, the default), so mail flows.
const char* kPolicy = R"(stage antivirus {
  rule virus: if av is infected then reject "554 5.7.1 virus found"
  rule scanner_down: if av is error then tempfail "451 4.7.1 virus scanner unavailable"
}
stage reputation {
  rule poor_reputation: if reputation(client.effective_ip) >= 1000 then quarantine "poor reputation"
}
stage custom_filters {
  rule hold: if subject contains "hold" then quarantine "held by policy"
}
)";

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && std::atoi(v) > 0 ? std::atoi(v) : fallback;
}

// Message i: one in ten carries the test virus, one in ten asks to be held.
std::string fault_message(int i) {
  const bool virus = i % 10 == 3, hold = i % 10 == 7;
  std::string m =
      "From: load@example.net\r\nTo: sink@widget.com\r\nSubject: " + std::string(hold ? "hold" : "normal") +
      " message\r\nMessage-ID: <load-" + std::to_string(i) +
      "@example.net>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
      "--b\r\nContent-Type: text/plain\r\n\r\nbody of message " +
      std::to_string(i) + "\r\n";
  if (virus) {
    std::string payload = av_test::kVirusPayload;
    payload.pop_back();  // the payload's own "\n" becomes the line's CRLF
    m += "--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; "
         "filename=payload.bin\r\n\r\n" +
         payload + "\r\n";
  }
  return m + "--b--\r\n";
}

TEST(GatewayFaultLoad, EveryMessageIsAccountedForWhenClamdRedisAndPolicydDie) {
  if (std::string why = postfix_unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
  const int count = env_int("MP_SOAK_MESSAGES", 600), clients = env_int("MP_SOAK_CLIENTS", 20);
  av_test::ClamdProcess clamd;
  ASSERT_TRUE(clamd.start()) << clamd.error();
  state_test::RedisProcess redis;
  ASSERT_TRUE(redis.start()) << redis.error();
  mp::e2e::TempDir dir;
  fs::path image = build_image(dir.path(), "p", kPolicy);
  PolicydProcess policyd(image, {"clamd = " + clamd.unix_address(), "clamd.timeout_ms = 2000",
                                 "state = " + redis.unix_address(), "facts.budget_ms = 5000"});
  ASSERT_TRUE(policyd.start());
  PostfixInstance postfix({.smtpd_milters = policyd.milter(), .milter_content_timeout = "60s"});
  ASSERT_TRUE(postfix.start());

  // Faults by the number of messages finished, in order; the load waits on the lock
  // while one is made.
  std::mutex faults;
  int finished = 0;
  // policyd's supervisor (systemd's Restart=always): restarts it 300 ms after it dies.
  // A thread of its own that lives until policyd is stopped, since policyd dies with
  // the thread that started it (PR_SET_PDEATHSIG), and the load's threads end first.
  std::promise<void> killed, restarted, stopped;
  std::thread supervisor([&, died = killed.get_future(), done = stopped.get_future()]() mutable {
    died.wait();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_TRUE(policyd.start());
    restarted.set_value();
    done.wait();
  });
  std::future<void> back = restarted.get_future();
  auto fault_at = [&](int) {
    std::lock_guard lock(faults);
    const int i = ++finished;
    if (i == count * 1 / 10) clamd.stop();  // SIGKILL
    if (i == count * 2 / 10 && !clamd.start()) ADD_FAILURE() << "clamd restart: " << clamd.error();
    if (i == count * 4 / 10) redis.stop();  // SIGKILL
    if (i == count * 5 / 10 && !redis.start()) ADD_FAILURE() << "Redis restart: " << redis.error();
    if (i == count * 7 / 10) {  // SIGKILL mid-load; the load goes on meanwhile
      policyd.stop(SIGKILL);
      killed.set_value();
    }
    // The rest of the load goes to the restarted policyd.
    if (i == count * 8 / 10 && back.wait_for(std::chrono::seconds(15)) != std::future_status::ready)
      ADD_FAILURE() << "policyd was not restarted";
  };
  const auto started = std::chrono::steady_clock::now();
  LoadResult load = send_load(postfix.port(), count, clients, 5, fault_message, "sink@widget.com", fault_at);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_TRUE(postfix.wait_until_idle(std::chrono::milliseconds(120000))) << "the queue did not drain";

  const Tally t = reconcile(load, count, postfix);
  std::cout << "faults: " << count << " messages, " << clients << " clients, " << seconds << " s: " << t
            << "\n";
  EXPECT_EQ(t.unaccounted, 0);
  EXPECT_EQ(t.no_reply, 0);
  EXPECT_EQ(t.accounted(), count);
  EXPECT_EQ(t.held_in_queue, t.held);
  EXPECT_EQ(policyd.events("start").size(), 2u);
  EXPECT_GT(t.delivered, count / 3);
  EXPECT_GT(t.held, 0);
  EXPECT_GT(t.refused, 0);  // viruses found while clamd was up
  // What each fault did, from policyd's log: the scanner's outage deferred messages,
  // the store's did not stop mail (no value, logged as a state error).
  int scanner_down = 0, state_errors = 0;
  for (const auto& e : policyd.events("message")) {
    scanner_down += e.value("rule", nlohmann::json()).is_string() && e["rule"] == "scanner_down";
    state_errors += e.contains("state_errors");
  }
  EXPECT_GT(scanner_down, 0);
  EXPECT_LE(scanner_down, t.deferred);
  EXPECT_GT(state_errors, 0);
  EXPECT_EQ(policyd.stop(SIGTERM), 0) << policyd.stderr_text();
  stopped.set_value();
  supervisor.join();
  EXPECT_EQ(policyd.stderr_text().find("ERROR: AddressSanitizer"), std::string::npos)
      << policyd.stderr_text();
}

// Every load below holds the messages that ask for it (one in ten).
const std::string kHoldStage = R"(stage custom_filters {
  rule hold: if subject contains "hold" then quarantine "held by policy"
}
)";

const std::string kRatePolicy = R"(stage reputation {
  rule burst: if rate(client.effective_ip, 1h) > 1000000 then tempfail "451 4.7.1 slow down"
}
)" + kHoldStage;

TEST(GatewayFaultLoad, EveryMessageIsAccountedForWhenTheStoresDiskIsFull) {
  if (std::string why = postfix_unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
  const int count = env_int("MP_SOAK_MESSAGES", 600) / 3, clients = env_int("MP_SOAK_CLIENTS", 20);
  mp::e2e::TempDir dir;
  state_test::SmallFilesystem disk(dir.path() / "store", "1m");
  if (!disk.error().empty()) GTEST_SKIP() << disk.error();
  fs::path image = build_image(dir.path(), "p", kRatePolicy);
  PolicydProcess policyd(image, {"state = lmdb:" + (dir.path() / "store" / "state.mdb").string()});
  ASSERT_TRUE(policyd.start());
  PostfixInstance postfix({.smtpd_milters = policyd.milter(), .milter_content_timeout = "60s"});
  ASSERT_TRUE(postfix.start());
  std::mutex faults;
  int finished = 0;
  auto fault_at = [&](int) {
    std::lock_guard lock(faults);
    const int i = ++finished;
    if (i == count * 1 / 4) disk.fill();
    if (i == count * 3 / 4) disk.free();
  };
  LoadResult load = send_load(postfix.port(), count, clients, 5, fault_message, "sink@widget.com", fault_at);
  EXPECT_TRUE(postfix.wait_until_idle(std::chrono::milliseconds(120000))) << "the queue did not drain";
  const Tally t = reconcile(load, count, postfix);
  int state_errors = 0;
  for (const auto& e : policyd.events("message")) state_errors += e.contains("state_errors");
  std::cout << "disk full: " << count << " messages: " << t << "; " << state_errors << " with state errors\n";
  EXPECT_EQ(t.unaccounted, 0);
  EXPECT_EQ(t.no_reply, 0);
  EXPECT_EQ(t.accounted(), count);
  EXPECT_EQ(t.held_in_queue, t.held);
  EXPECT_EQ(static_cast<int>(policyd.events("message").size()), count);
  EXPECT_EQ(policyd.stop(SIGTERM), 0) << policyd.stderr_text();
}

const std::string kSpfPolicy = R"(stage authentication {
  rule spf_fail: if spf is fail then reject "550 5.7.23 SPF fail"
}
)" + kHoldStage;

// A server that answers, but late: 100 ms (within dns.timeout_ms, so facts still come)
// and then 1.5 s (past facts.budget_ms, so SPF is a temperror and the message is
// deferred). Each message is judged within the facts budget, whatever the server does.
TEST(GatewayFaultLoad, EveryMessageIsAccountedForWhenDnsIsSlow) {
  if (std::string why = postfix_unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
  const int count = env_int("MP_SOAK_MESSAGES", 600) / 2, clients = env_int("MP_SOAK_CLIENTS", 20);
  // SPF passes for 127.0.0.1. TTL 0, not to be cached (RFC 1035 3.2.1): every message
  // asks the server, since a fast load would pass a phase within one answer's TTL.
  testing::TestDnsServer dns("example.net. 0 IN TXT \"v=spf1 ip4:127.0.0.0/8 -all\"\n");
  mp::e2e::TempDir dir;
  fs::path image = build_image(dir.path(), "p", kSpfPolicy);
  PolicydProcess policyd(
      image, {"dns.servers = " + dns.address(), "dns.timeout_ms = 200", "facts.budget_ms = 1000"});
  ASSERT_TRUE(policyd.start());
  PostfixInstance postfix({.smtpd_milters = policyd.milter(), .milter_content_timeout = "60s"});
  ASSERT_TRUE(postfix.start());
  std::mutex faults;
  int finished = 0;
  size_t late_from = 0, slow_from = 0, slow_to = 0;  // policyd's message events in each phase
  auto fault_at = [&](int) {
    std::lock_guard lock(faults);
    const int i = ++finished;
    if (i == count * 1 / 5) {
      dns.set_delay(std::chrono::milliseconds(100));
      late_from = policyd.events("message").size();
    }
    if (i == count * 2 / 5) {
      dns.set_delay(std::chrono::milliseconds(1500));
      slow_from = policyd.events("message").size();
    }
    if (i == count * 3 / 5) {
      dns.set_delay(std::chrono::milliseconds(0));
      slow_to = policyd.events("message").size();
    }
  };
  LoadResult load = send_load(postfix.port(), count, clients, 5, fault_message, "sink@widget.com", fault_at);
  EXPECT_TRUE(postfix.wait_until_idle(std::chrono::milliseconds(120000))) << "the queue did not drain";
  const Tally t = reconcile(load, count, postfix);
  const auto events = policyd.events("message");
  auto tempfails = [&](size_t from, size_t to) {
    int n = 0;
    for (size_t i = from; i < to && i < events.size(); ++i) n += events[i].value("action", "") == "tempfail";
    return n;
  };
  double slowest = 0;
  for (const auto& e : events) slowest = std::max(slowest, e.value("seconds", 0.0));
  const int late_deferred = tempfails(late_from, slow_from), slow_deferred = tempfails(slow_from, slow_to);
  std::cout << "slow DNS: " << count << " messages: " << t << "; deferred " << late_deferred << " of "
            << slow_from - late_from << " judged at 100 ms, " << slow_deferred << " of "
            << slow_to - slow_from << " at 1.5 s; slowest judgement " << slowest << " s; " << dns.queries()
            << " DNS questions\n";
  EXPECT_EQ(t.unaccounted, 0);
  EXPECT_EQ(t.no_reply, 0);
  EXPECT_EQ(t.accounted(), count);
  EXPECT_EQ(t.held_in_queue, t.held);
  EXPECT_EQ(static_cast<int>(events.size()), count);
  EXPECT_GT(t.delivered, count / 3);
  EXPECT_GE(dns.queries(), static_cast<uint64_t>(count * 4 / 5)) << "answers of TTL 0 were cached";
  // Within the timeout the answers still come: most messages then are judged on them.
  EXPECT_LT(late_deferred * 2, static_cast<int>(slow_from - late_from));
  EXPECT_GT(slow_deferred, 0);
  // No message waits on the server beyond the facts budget (1 s), scheduling aside.
  EXPECT_LT(slowest, 3.0);
  EXPECT_EQ(policyd.stop(SIGTERM), 0) << policyd.stderr_text();
  EXPECT_EQ(policyd.stderr_text().find("ERROR: AddressSanitizer"), std::string::npos)
      << policyd.stderr_text();
}

}  // namespace
}  // namespace mp::gateway_test
