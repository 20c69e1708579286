// Load and faults through Postfix and policyd (docs/gateway.md, "Never losing a
// message"): many clients at once; mid-run the DNS server goes away and comes back, a
// new image is swapped in and then a corrupt one is offered. Every message is then
// reconciled: delivered (in the Maildir), held (in the hold queue), refused (the
// client saw 5xx) or deferred (4xx) — and none unaccounted for.
//
// MP_SOAK_MESSAGES (default 600) and MP_SOAK_CLIENTS (default 20) size the run;
// scripts/soak runs 10,000. scripts/test runs it again with policyd built with
// ASan+UBSan.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <string>
#include <thread>

#include "tests/dnsd/test_dns_server.h"
#include "tests/gateway/policyd_harness.h"
#include "tests/gateway/reconcile.h"
#include "tests/gateway/smtp_load.h"

namespace mp::gateway_test {
namespace {

std::string policy(const std::string& version) {
  return R"(stage authentication {
  rule spf_fail: if spf is fail then reject "550 5.7.23 SPF fail"
}
stage custom_filters {
  rule refuse: if subject contains "refuse" then reject "550 5.7.1 refused by policy )" +
         version + R"("
  rule hold: if subject contains "hold" then quarantine "held by policy )" +
         version + R"("
}
)";
}

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && std::atoi(v) > 0 ? std::atoi(v) : fallback;
}

// Message i: its kind in the subject, its token in the Message-ID.
std::string load_message(int i) {
  const char* kind = i % 10 == 3 ? "refuse" : i % 10 == 7 ? "hold" : "normal";
  return "From: load@example.net\r\nTo: sink@widget.com\r\nSubject: " + std::string(kind) +
         " message\r\nMessage-ID: <load-" + std::to_string(i) + "@example.net>\r\n\r\nbody of message " +
         std::to_string(i) + "\r\n";
}

// SPF passes for 127.0.0.1; TTL 1 s so that the cache does not hide the outage.
const char* kZone = "example.net. 1 IN TXT \"v=spf1 ip4:127.0.0.0/8 -all\"\n";

// The DNS server is restarted on its port mid-run: a port below the ephemeral range
// (32768-60999), which the SMTP clients' own sockets could otherwise be holding then.
std::unique_ptr<testing::TestDnsServer> dns_below_ephemeral_ports() {
  const int base = 20000 + static_cast<int>(getpid() % 5000);
  for (int port = base; port < base + 2000; ++port) {
    try {
      return std::make_unique<testing::TestDnsServer>(kZone, static_cast<uint16_t>(port));
    } catch (const std::runtime_error&) {
      continue;  // taken
    }
  }
  throw std::runtime_error("no free port for the test DNS server");
}

// The message events logged in [from, to), one line each: to tell, when the outage
// deferred nothing, whether no message was judged then or its SPF was not a temperror.
std::string outage_events(const PolicydProcess& policyd, size_t from, size_t to) {
  auto events = policyd.events("message");
  std::string out;
  for (size_t i = from; i < to && i < events.size(); ++i) out += events[i].dump() + "\n";
  return out.empty() ? "(none)\n" : out;
}

TEST(GatewayLoad, EveryMessageIsAccountedForThroughOutagesAndReloads) {
  if (std::string why = postfix_unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
  const int count = env_int("MP_SOAK_MESSAGES", 600), clients = env_int("MP_SOAK_CLIENTS", 20);
  mp::e2e::TempDir dir;
  fs::path image = build_image(dir.path(), "a", policy("A"));
  fs::path image_b = build_image(dir.path(), "b", policy("B"));
  auto dns = dns_below_ephemeral_ports();
  const uint16_t dns_port = dns->port();
  PolicydProcess policyd(
      image, {"dns.servers = " + dns->address(), "dns.timeout_ms = 200", "facts.budget_ms = 1000"});
  ASSERT_TRUE(policyd.start());
  PostfixInstance postfix({.smtpd_milters = policyd.milter(), .milter_content_timeout = "60s"});
  ASSERT_TRUE(postfix.start());

  // Faults by the number of messages finished (not by message number: clients finish
  // out of order), so they happen in order.
  std::mutex faults;
  std::atomic<int> finished{0};
  std::chrono::steady_clock::time_point dns_stopped;
  size_t outage_from = 0, outage_to = 0;  // policyd's message events while DNS was away
  // policyd looks at the image every reload.poll_ms: a run fast enough to rename twice
  // within one look would see one reload, so the load waits for each (bounded).
  auto wait_for_reloads = [&](size_t n) {
    for (int tries = 0; tries < 200 && policyd.events("reload").size() < n; ++tries) {
      std::this_thread::sleep_for(50ms);
    }
  };
  auto fault_at = [&](int) {
    std::lock_guard lock(faults);
    const int i = ++finished;
    // The DNS server goes away for 2 s (longer than its answers' TTL) …
    if (i == count * 2 / 10) {
      dns.reset();
      dns_stopped = std::chrono::steady_clock::now();
      outage_from = policyd.events("message").size();
      // … and the load pauses past the TTL (every client finishing a message waits on
      // this lock), so that the cached answers expire while the server is away however
      // fast the rest of the run would otherwise go.
      std::this_thread::sleep_for(1200ms);
    }
    if (!dns && i >= count * 3 / 10 && std::chrono::steady_clock::now() - dns_stopped > 2s) {
      try {  // … and comes back on its port
        outage_to = policyd.events("message").size();
        dns = std::make_unique<testing::TestDnsServer>(kZone, dns_port);
      } catch (const std::exception& e) {
        ADD_FAILURE() << "DNS server restart: " << e.what();
      }
    }
    if (i == count * 5 / 10) {  // a new image, renamed into place
      fs::copy_file(image_b, dir.path() / "next.pbc", fs::copy_options::overwrite_existing);
      fs::rename(dir.path() / "next.pbc", image);
      wait_for_reloads(2);
    }
    if (i == count * 7 / 10) {  // a corrupt one: refused, B keeps serving
      std::string bytes = mp::e2e::read_text(image_b);
      bytes[bytes.size() / 3] ^= 0x21;
      mp::e2e::write_text(dir.path() / "next.pbc", bytes);
      fs::rename(dir.path() / "next.pbc", image);
      wait_for_reloads(3);
    }
  };
  auto started = std::chrono::steady_clock::now();
  LoadResult load = send_load(postfix.port(), count, clients, 5, load_message, "sink@widget.com", fault_at);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ASSERT_TRUE(postfix.wait_until_idle(std::chrono::milliseconds(120000))) << "the queue did not drain";

  const Tally t = reconcile(load, count, postfix);
  std::cout << "load: " << count << " messages, " << clients << " clients, " << seconds << " s ("
            << count / seconds << " msg/s): " << t << "; " << outage_to - outage_from
            << " judged while DNS was away\n";
  EXPECT_EQ(t.unaccounted, 0);
  EXPECT_EQ(t.no_reply, 0);
  EXPECT_EQ(t.accounted(), count);
  EXPECT_EQ(t.held_in_queue, t.held);  // nothing on hold that no client sent
  EXPECT_GT(t.deferred, 0) << "the DNS outage should have deferred some messages; policyd judged these while "
                              "it lasted:\n"
                           << outage_events(policyd, outage_from, outage_to);
  EXPECT_GT(t.delivered, count / 3);
  EXPECT_GT(t.held, 0);
  EXPECT_GT(t.refused, 0);
  // policyd never crashed: it is alive, judged every message, and logged both reloads.
  EXPECT_EQ(kill(policyd.pid(), 0), 0) << "policyd died:\n" << policyd.stderr_text();
  EXPECT_EQ(static_cast<int>(policyd.events("message").size()), count);
  auto reloads = policyd.events("reload");
  ASSERT_EQ(reloads.size(), 3u) << policyd.log_text();
  EXPECT_EQ(reloads[1]["result"], "ok");
  EXPECT_EQ(reloads[2]["result"], "failed");
  EXPECT_EQ(policyd.stop(SIGTERM), 0) << policyd.stderr_text();
  EXPECT_EQ(policyd.stderr_text().find("ERROR: AddressSanitizer"), std::string::npos)
      << policyd.stderr_text();
}

}  // namespace
}  // namespace mp::gateway_test
