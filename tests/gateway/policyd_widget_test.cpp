// The example of examples/widget through Postfix and policyd: every message of
// expected.txt, sent with its envelope (the client address through XCLIENT), ends as
// the table says — refused with the rule's reply, held, or delivered with the
// verdict's header — exactly as `policyc run` judges it.
#include <gtest/gtest.h>

#include <string>

#include "tests/e2e/expected_table.h"
#include "tests/gateway/policyd_harness.h"

namespace mp::gateway_test {
namespace {

// The value of `flag` in the row's flags ("" when absent).
std::string flag(const mp::e2e::Row& row, const std::string& name) {
  for (size_t i = 0; i + 1 < row.flags.size(); ++i) {
    if (row.flags[i] == name) return row.flags[i + 1];
  }
  return {};
}

// MAIL FROM for a row: --sender, else the message's Return-Path (as policyc run does).
std::string sender_of(const mp::e2e::Row& row, const std::string& data) {
  std::string sender = flag(row, "--sender");
  if (!sender.empty()) return sender;
  std::string path = header_value(data, "Return-Path").value_or("");
  size_t open = path.find('<'), close = path.rfind('>');
  return open != std::string::npos && close > open ? path.substr(open + 1, close - open - 1) : path;
}

// XCLIENT ADDR: IPv6 addresses carry the IPV6: prefix (Postfix XCLIENT_README).
std::string xclient_address(const std::string& ip) {
  return ip.find(':') != std::string::npos ? "IPV6:" + ip : ip;
}

using GatewayWidget = PostfixTest;

TEST_F(GatewayWidget, EveryExampleMessageEndsAsExpectedTxtSays) {
  mp::e2e::TempDir dir;
  fs::path image = dir.path() / "widget.pbc";
  RunResult built = mp::e2e::run_program(
      {kPolicycBin.string(), "build", (mp::e2e::kExampleDir / "policy.mp").string(), "-o", image.string()});
  ASSERT_EQ(built.status, 0) << mp::e2e::describe(built);
  PolicydProcess policyd(image, {"facts = off"});
  ASSERT_TRUE(policyd.start());
  PostfixInstance postfix({.smtpd_milters = policyd.milter(),
                           .inet_protocols = "ipv4, ipv6",  // rfc2047-qp.eml comes from IPv6
                           .extra_main_cf = {"smtpd_authorized_xclient_hosts = 127.0.0.0/8"}});
  ASSERT_TRUE(postfix.start());

  size_t checked = 0, delivered = 0, held = 0;
  for (const mp::e2e::Row& row : mp::e2e::parse_table(mp::e2e::kExampleDir / "expected.txt")) {
    if (row.index != 0) continue;  // mbox parts: one SMTP message is one file
    SCOPED_TRACE(row.file);
    std::string data = mp::e2e::read_text(mp::e2e::kExampleDir / row.path);
    SendResult sent =
        postfix.send({.from = sender_of(row, data),
                      .to = {flag(row, "--rcpt")},
                      .data = data,
                      .swaks_args = {"--xclient-addr", xclient_address(flag(row, "--client-ip"))}});
    ASSERT_TRUE(postfix.wait_until_idle());
    ++checked;
    if (row.action == "reject") {
      EXPECT_EQ(sent.code() / 100, 5) << sent.transcript();
      continue;
    }
    ASSERT_EQ(sent.code(), 250) << sent.transcript();
    std::optional<std::string> verdict;
    if (row.action == "quarantine") {
      auto queue = postfix.held();
      ASSERT_EQ(queue.size(), ++held) << postfix.log();
      for (const HeldMessage& m : queue) {
        if (m.queue_id == sent.queue_id) verdict = m.header("X-Policy-Verdict");
      }
    } else {
      ASSERT_TRUE(postfix.wait_for_delivered(++delivered)) << postfix.log();
      verdict = postfix.delivered().back().header("X-Policy-Verdict");
    }
    std::string expected = row.action;
    if (row.rule != "-") expected += "; rule=";
    EXPECT_TRUE(verdict && verdict->starts_with(expected))
        << verdict.value_or("(none)") << " vs " << expected;
    if (row.rule != "-") {
      EXPECT_TRUE(verdict->ends_with("." + row.rule)) << *verdict;
    }
  }
  EXPECT_GE(checked, 13u);
  EXPECT_EQ(policyd.events("message").size(), checked);
}

}  // namespace
}  // namespace mp::gateway_test
