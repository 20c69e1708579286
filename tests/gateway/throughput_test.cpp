// Throughput through Postfix with policyd against Postfix alone, in one run on the same
// machine with the same load (Postfix's own smtp-source: MP_BENCH_MESSAGES messages,
// 20 sessions at once, 4 KB each): the time until every message is delivered. A
// benchmark, not a test: it runs only when MP_GATEWAY_BENCH=1 (scripts/bench), and
// prints one JSON line that scripts/bench puts into docs/performance.md.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "tests/gateway/policyd_harness.h"

namespace mp::gateway_test {
namespace {

// Seconds from the first connection until `count` messages are in the Maildir.
double deliver(PostfixInstance& postfix, int count) {
  auto start = std::chrono::steady_clock::now();
  RunResult r = mp::e2e::run_shell(
      "/usr/sbin/smtp-source -s 20 -l 4096 -m " + std::to_string(count) +
      " -f load@example.net -t sink@widget.com 127.0.0.1:" + std::to_string(postfix.port()) + " 2>&1");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_TRUE(postfix.wait_for_delivered(static_cast<size_t>(count), std::chrono::milliseconds(600000)));
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

TEST(GatewayThroughput, PostfixWithPolicydAgainstPostfixAlone) {
  if (std::getenv("MP_GATEWAY_BENCH") == nullptr) GTEST_SKIP() << "a benchmark: MP_GATEWAY_BENCH=1 runs it";
  if (std::string why = postfix_unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
  const int count = std::getenv("MP_BENCH_MESSAGES") ? std::atoi(std::getenv("MP_BENCH_MESSAGES")) : 2000;
  mp::e2e::TempDir dir;
  RunResult built = mp::e2e::run_program({kPolicycBin.string(), "build",
                                          (fs::path(MP_SOURCE_DIR) / "examples/widget/policy.mp").string(),
                                          "-o", (dir.path() / "widget.pbc").string()});
  ASSERT_EQ(built.status, 0) << built.err;

  PostfixInstance alone;
  ASSERT_TRUE(alone.start());
  double alone_seconds = deliver(alone, count);
  alone.stop();

  PolicydProcess policyd(dir.path() / "widget.pbc", {"facts = off"});
  ASSERT_TRUE(policyd.start());
  PostfixInstance with({.smtpd_milters = policyd.milter()});
  ASSERT_TRUE(with.start());
  double with_seconds = deliver(with, count);
  EXPECT_EQ(static_cast<int>(policyd.events("message").size()), count);
  std::printf("{\"messages\":%d,\"alone_per_second\":%.1f,\"with_policyd_per_second\":%.1f,\"ratio\":%.3f}\n",
              count, count / alone_seconds, count / with_seconds, alone_seconds / with_seconds);
}

}  // namespace
}  // namespace mp::gateway_test
