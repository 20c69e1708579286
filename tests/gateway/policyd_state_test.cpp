// Memory across messages through a real Postfix and policyd with `state` set: a
// message to a spamtrap raises its client's reputation in the store, and the same
// client's next message is held; an account's burst is deferred (4xx) and nothing is
// lost; policyd with a Redis that is down still judges every message.
#include <gtest/gtest.h>

#include <string>

#include "tests/gateway/policyd_harness.h"
#include "tests/state/redis_harness.h"

namespace mp::gateway_test {
namespace {

const char* kPolicy = R"(settings { org.domains = [widget.com]
  org.spamtraps = [trap@widget.com] }
stage reputation {
  rule poor_reputation (inbound): if reputation(client.effective_ip) >= 5 then quarantine "poor reputation"
  rule burst: if rate(client.auth_user, 1h) > 2 then tempfail "451 4.7.1 Too many messages, slow down"
}
)";

std::string message(const std::string& to) {
  return "From: Bob <bob@example.net>\r\nTo: " + to + "\r\nSubject: offer\r\nMessage-ID: <" +
         std::to_string(std::hash<std::string>{}(to)) + "@example.net>\r\n\r\nbuy now\r\n";
}

class GatewayState : public PolicydGatewayTest {
 protected:
  void start(const std::string& store) {
    start_with(kPolicy, PostfixOptions{.extra_main_cf = {"smtpd_authorized_xclient_hosts = 127.0.0.0/8"}},
               {"state = " + store});
  }
  SendResult send(const std::string& to, std::vector<std::string> xclient) {
    return postfix_->send(
        {.from = "bob@example.net", .to = {to}, .data = message(to), .swaks_args = std::move(xclient)});
  }
};

TEST_F(GatewayState, ASpamtrapHitHoldsTheClientsNextMessage) {
  start("lmdb:" + (scratch_.path() / "state.mdb").string());
  const std::vector<std::string> client = {"--xclient-addr", "198.51.100.66"};
  EXPECT_EQ(send("trap@widget.com", client).code(), 250);
  EXPECT_EQ(send("carol@widget.com", client).code(), 250);
  ASSERT_TRUE(policyd_->wait_for_events("message", 2));
  auto lines = policyd_->events("message");
  EXPECT_EQ(lines[0]["action"], "deliver");
  EXPECT_EQ(lines[1]["action"], "quarantine") << lines[1].dump();
  EXPECT_EQ(lines[1]["rule"], "poor_reputation");
  ASSERT_TRUE(postfix_->wait_until_idle());
  EXPECT_EQ(postfix_->held().size(), 1u);
}

TEST_F(GatewayState, AnAccountsBurstIsDeferredAcrossARealRedis) {
  state_test::RedisProcess redis;
  ASSERT_TRUE(redis.start()) << redis.error();
  start(redis.unix_address());
  const std::vector<std::string> jane = {"--xclient-addr", "192.0.2.10", "--xclient-login", "jane"};
  for (int i = 0; i < 2; ++i) EXPECT_EQ(send("carol@widget.com", jane).code(), 250);
  SendResult third = send("carol@widget.com", jane);
  EXPECT_EQ(third.code(), 451) << third.transcript();
  // The store goes away: no value, mail flows (state.on_error = ignore), and the
  // failures are in the log line and the metrics.
  redis.stop();
  EXPECT_EQ(send("carol@widget.com", jane).code(), 250);
  ASSERT_TRUE(policyd_->wait_for_events("message", 4));
  const auto down = policyd_->events("message")[3];
  EXPECT_EQ(down["action"], "deliver");
  EXPECT_GE(down["state_errors"]["facts"].get<int>(), 1) << down.dump();
  EXPECT_NE(policyd_->metrics().find("mailpolicy_state_errors_total{op=\"facts\"}"), std::string::npos)
      << policyd_->metrics();
}

}  // namespace
}  // namespace mp::gateway_test
