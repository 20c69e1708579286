// policyd in front of a real Postfix (postfix_harness.h): each verdict effect reaches
// the SMTP client, the queue and the delivered mail as docs/gateway.md says; the
// session's fields (client, HELO, MAIL FROM, RCPT TO, SASL login) reach the policy; every
// message gets one JSON log line and is counted in the metrics.
#include <gtest/gtest.h>

#include <string>

#include "tests/e2e/expected_table.h"
#include "tests/gateway/policyd_harness.h"

namespace mp::gateway_test {
namespace {

const char* kPolicy = R"(settings { org.domains = [widget.com] }
stage custom_filters {
  rule exe:
    if attachments.extension in [exe] then reject "550 5.7.1 Executable attachments are not accepted"
  rule hold_it:
    if subject contains "quarantine me" then quarantine "suspicious subject"
  rule drop_it:
    if subject contains "discard me" then discard
  rule later:
    if subject contains "tempfail me" then tempfail "451 4.7.1 Try again in 100% of cases"
  rule mark:
    if subject contains "tag me"
    then tag "[External]", add header X-Campaign "spring", remove header X-Spam-Flag
  rule account:
    if client.auth_user is "alice" and from.address is not alice@widget.com
    then reject "550 5.7.1 From: is not your account"
}
)";

// A message as a client sends it (CRLF line ends).
std::string message(const std::string& subject, const std::string& extra_headers = "",
                    const std::string& from = "Bob <bob@example.net>") {
  std::string text = "From: " + from + "\nTo: carol@widget.com\nSubject: " + subject + "\nMessage-ID: <" +
                     std::to_string(std::hash<std::string>{}(subject)) + "@example.net>\n" + extra_headers +
                     "\nHello Carol,\nthe report is attached.\n";
  std::string crlf;
  for (char c : text) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  return crlf;
}

class GatewayPolicyd : public PolicydGatewayTest {
 protected:
  // policyd with kPolicy (and `extra` config lines), and a Postfix using it that
  // accepts XCLIENT from the test (so a test can say which client it is).
  void start(std::vector<std::string> extra = {}) {
    start_with(kPolicy, PostfixOptions{.extra_main_cf = {"smtpd_authorized_xclient_hosts = 127.0.0.0/8"}},
               std::move(extra));
  }
  SendResult send(const std::string& data, std::vector<std::string> swaks_args = {},
                  std::string from = "bob@example.net") {
    return postfix_->send({.from = std::move(from),
                           .to = {"carol@widget.com"},
                           .data = data,
                           .swaks_args = std::move(swaks_args)});
  }
};

TEST_F(GatewayPolicyd, RejectReachesTheClientWithTheRulesReply) {
  start();
  std::string data = mp::e2e::read_text(mp::e2e::kExampleDir / "mail" / "exe-attachment.eml");
  SendResult sent = send(data);
  EXPECT_EQ(sent.reply.command, "EOM") << sent.transcript();
  EXPECT_EQ(sent.reply.line(), "550 5.7.1 Executable attachments are not accepted") << sent.transcript();
  EXPECT_FALSE(
      postfix_->wait_for_log("milter-reject: END-OF-MESSAGE .*5.7.1 Executable attachments").empty());
  ASSERT_TRUE(postfix_->wait_until_idle());
  EXPECT_TRUE(postfix_->delivered().empty());
}

TEST_F(GatewayPolicyd, TempfailAndDiscard) {
  start();
  SendResult later = send(message("please tempfail me"));
  // '%' survives libmilter's reply formatting as one '%'.
  EXPECT_EQ(later.reply.line(), "451 4.7.1 Try again in 100% of cases") << later.transcript();
  SendResult dropped = send(message("please discard me"));
  EXPECT_EQ(dropped.code(), 250) << dropped.transcript();
  EXPECT_FALSE(postfix_->wait_for_log("milter-discard: END-OF-MESSAGE").empty()) << postfix_->log();
  ASSERT_TRUE(postfix_->wait_until_idle());
  EXPECT_TRUE(postfix_->delivered().empty());
}

TEST_F(GatewayPolicyd, QuarantineGoesToTheHoldQueueWithTheReason) {
  start();
  SendResult sent = send(message("quarantine me now"));
  EXPECT_EQ(sent.code(), 250) << sent.transcript();
  ASSERT_TRUE(postfix_->wait_until_idle());
  auto held = postfix_->held();
  ASSERT_EQ(held.size(), 1u) << postfix_->log();
  EXPECT_EQ(held[0].queue_id, sent.queue_id);
  // Postfix does not log a milter's reason (smfi_quarantine): the header carries it.
  EXPECT_NE(held[0].reason.find("milter triggers HOLD action"), std::string::npos) << held[0].reason;
  EXPECT_EQ(held[0].header("X-Policy-Quarantine").value_or(""), "suspicious subject") << held[0].content;
  EXPECT_EQ(held[0].header("X-Policy-Verdict").value_or(""), "quarantine; rule=custom_filters.hold_it");
  EXPECT_TRUE(postfix_->delivered().empty());
}

TEST_F(GatewayPolicyd, DeliveredMailCarriesTheVerdictAndThePolicysEdits) {
  start();
  // A forged verdict header and a header the policy removes come in with the message.
  SendResult sent =
      send(message("tag me please", "X-Policy-Verdict: allow\nX-Spam-Flag: NO\nX-Spam-Flag: YES\n"));
  EXPECT_EQ(sent.code(), 250) << sent.transcript();
  ASSERT_TRUE(postfix_->wait_for_delivered(1));
  const auto mail = postfix_->delivered()[0];
  EXPECT_EQ(mail.header("X-Policy-Verdict").value_or(""), "deliver");
  EXPECT_EQ(mail.header("X-Policy-Tags").value_or(""), "[External]");
  EXPECT_EQ(mail.header("X-Campaign").value_or(""), "spring");
  EXPECT_FALSE(mail.header("X-Spam-Flag").has_value()) << mail.content;
  // One X-Policy-Verdict: ours, at the top, above Postfix's Received.
  EXPECT_EQ(mail.content.find("X-Policy-Verdict:"), mail.content.rfind("X-Policy-Verdict:")) << mail.content;
  EXPECT_LT(mail.content.find("X-Policy-Verdict:"), mail.content.find("Received:")) << mail.content;
}

TEST_F(GatewayPolicyd, TagsCanGoIntoTheSubject) {
  start({"tags = subject", "headers = none"});
  send(message("tag me please"));
  ASSERT_TRUE(postfix_->wait_for_delivered(1));
  const auto mail = postfix_->delivered()[0];
  EXPECT_EQ(mail.header("Subject").value_or(""), "[External] tag me please");
  EXPECT_FALSE(mail.header("X-Policy-Verdict").has_value()) << mail.content;
}

TEST_F(GatewayPolicyd, TheSessionReachesThePolicyThroughXclient) {
  start();
  // XCLIENT LOGIN is the SASL login name: the milter's {auth_authen}.
  SendResult forged = send(message("quarterly report", "", "Mallory <mallory@widget.com>"),
                           {"--xclient-addr", "192.0.2.45", "--xclient-login", "alice"});
  EXPECT_EQ(forged.reply.line(), "550 5.7.1 From: is not your account") << forged.transcript();
  SendResult own = send(message("my report", "", "Alice <alice@widget.com>"),
                        {"--xclient-addr", "192.0.2.45", "--xclient-login", "alice"});
  EXPECT_EQ(own.code(), 250) << own.transcript();
  ASSERT_TRUE(policyd_->wait_for_events("message", 2));
  auto lines = policyd_->events("message");
  EXPECT_EQ(lines[0]["client_ip"], "192.0.2.45");
  EXPECT_EQ(lines[0]["auth_user"], "alice");
  EXPECT_EQ(lines[0]["sender"], "<bob@example.net>");
  EXPECT_EQ(lines[0]["recipients"], nlohmann::json::array({"<carol@widget.com>"}));
  EXPECT_EQ(lines[0]["action"], "reject");
  EXPECT_EQ(lines[0]["rule"], "account");
  EXPECT_EQ(lines[1]["action"], "deliver");
  EXPECT_EQ(lines[1]["queue_id"], own.queue_id);
}

TEST_F(GatewayPolicyd, MetricsCountVerdictsAndLatencies) {
  start();
  send(message("quarantine me"));
  send(message("tempfail me"));
  send(message("hello"));
  ASSERT_TRUE(policyd_->wait_for_events("message", 3));
  EXPECT_EQ(policyd_->metric(
                R"(mailpolicy_verdicts_total{action="quarantine",stage="custom_filters",rule="hold_it"})"),
            1);
  EXPECT_EQ(
      policyd_->metric(R"(mailpolicy_verdicts_total{action="tempfail",stage="custom_filters",rule="later"})"),
      1);
  EXPECT_EQ(policyd_->metric(R"(mailpolicy_verdicts_total{action="deliver",stage="",rule=""})"), 1);
  EXPECT_EQ(policyd_->metric("mailpolicy_evaluation_seconds_count"), 3);
  EXPECT_EQ(policyd_->metric(R"(mailpolicy_reloads_total{result="ok"})"), 1);
  EXPECT_EQ(policyd_->metric("mailpolicy_in_flight"), 0);
}

}  // namespace
}  // namespace mp::gateway_test
