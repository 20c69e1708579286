// Faults of the components around policyd, under load through a real Postfix
// (docs/reliability.md, "Faults"): mid-run clamd is killed and comes back, Redis (the
// state store) is killed and comes back, and policyd itself is killed with SIGKILL and
// restarted as its supervisor would; and the filesystem of an LMDB store fills up. Every message is then
// reconciled (reconcile.h): delivered, held, refused or deferred, none lost.
//
// MP_SOAK_MESSAGES (default 600) and MP_SOAK_CLIENTS (default 20) size the run.
#include <gtest/gtest.h>

#include <cstdlib>
#include <future>
#include <mutex>
#include <string>
#include <thread>

#include "tests/av/clamd_harness.h"
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

const char* kRatePolicy = R"(stage reputation {
  rule burst: if rate(client.effective_ip, 1h) > 1000000 then tempfail "451 4.7.1 slow down"
}
stage custom_filters {
  rule hold: if subject contains "hold" then quarantine "held by policy"
}
)";

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

}  // namespace
}  // namespace mp::gateway_test
