// policyd's fail-safe behaviour in front of a real Postfix: a message policyd cannot
// judge gets `on_error` (451 or accept), a fact that cannot be computed gets
// facts.on_temperror, a new image is swapped in without losing a message and a broken
// one is refused, and a policyd that is gone leaves Postfix's milter_default_action.
#include <gtest/gtest.h>

#include <string>

#include "tests/dnsd/test_dns_server.h"
#include "tests/gateway/policyd_harness.h"

namespace mp::gateway_test {
namespace {

std::string crlf(const std::string& text) {
  std::string out;
  for (char c : text) out += c == '\n' ? std::string("\r\n") : std::string(1, c);
  return out;
}

std::string message(const std::string& subject, size_t body_bytes = 40) {
  return crlf("From: bob@example.net\nTo: carol@widget.com\nSubject: " + subject + "\n\n" +
              std::string(body_bytes, 'x') + "\n");
}

struct Gateway {
  Gateway(const fs::path& image, std::vector<std::string> config, PostfixOptions options = {})
      : policyd(image, std::move(config)) {
    EXPECT_TRUE(policyd.start());
    options.smtpd_milters = policyd.milter();
    postfix = std::make_unique<PostfixInstance>(std::move(options));
    EXPECT_TRUE(postfix->start());
  }
  SendResult send(const std::string& data, std::string from = "bob@example.net") {
    return postfix->send({.from = std::move(from), .to = {"carol@widget.com"}, .data = data});
  }
  PolicydProcess policyd;
  std::unique_ptr<PostfixInstance> postfix;
};

const char* kSubjectPolicy = R"(stage custom_filters {
  rule version_a: if subject contains "a" then reject "550 5.7.1 policy A"
}
)";
const char* kSubjectPolicyB = R"(stage custom_filters {
  rule version_b: if subject contains "a" then reject "550 5.7.1 policy B"
}
)";

using GatewayFaults = PostfixTest;

TEST_F(GatewayFaults, AMessageOverTheSizeLimitGetsOnError) {
  mp::e2e::TempDir dir;
  fs::path image = build_image(dir.path(), "p", kSubjectPolicy);
  Gateway tempfail(image, {"limits.max_message_bytes = 2000"});
  SendResult big = tempfail.send(message("big", 5000));
  EXPECT_EQ(big.reply.line(), "451 4.7.1 Message not judged by the policy (too_large), try again later")
      << big.transcript();
  SendResult small = tempfail.send(message("tiny"));
  EXPECT_EQ(small.code(), 250) << small.transcript();
  ASSERT_TRUE(tempfail.policyd.wait_for_events("message", 2));
  EXPECT_EQ(tempfail.policyd.events("message")[0]["unjudged"], "too_large");
  EXPECT_EQ(tempfail.policyd.metric(R"(mailpolicy_unjudged_total{reason="too_large"})"), 1);

  Gateway accept(image, {"limits.max_message_bytes = 2000", "on_error = accept"});
  EXPECT_EQ(accept.send(message("big", 5000)).code(), 250);
  ASSERT_TRUE(accept.postfix->wait_for_delivered(1));
  EXPECT_EQ(accept.postfix->delivered()[0].header("X-Policy-Verdict").value_or(""),
            "unjudged; reason=too_large");
}

TEST_F(GatewayFaults, ANewImageIsSwappedInAndABrokenOneIsRefused) {
  mp::e2e::TempDir dir;
  fs::path image = build_image(dir.path(), "p", kSubjectPolicy);
  fs::path image_b = build_image(dir.path(), "b", kSubjectPolicyB);
  Gateway gw(image, {});
  EXPECT_EQ(gw.send(message("a")).reply.line(), "550 5.7.1 policy A");

  // A changed file (written elsewhere and renamed in, as deployments do) is picked up.
  fs::copy_file(image_b, dir.path() / "next.pbc");
  fs::rename(dir.path() / "next.pbc", image);
  ASSERT_TRUE(gw.policyd.wait_for_events("reload", 2)) << gw.policyd.log_text();
  EXPECT_EQ(gw.send(message("a")).reply.line(), "550 5.7.1 policy B");

  // A corrupt image: refused, logged, and B keeps serving.
  std::string bytes = mp::e2e::read_text(image_b);
  bytes[bytes.size() / 2] ^= 0x5a;
  mp::e2e::write_text(dir.path() / "next.pbc", bytes);
  fs::rename(dir.path() / "next.pbc", image);
  ASSERT_TRUE(gw.policyd.wait_for_events("reload", 3)) << gw.policyd.log_text();
  auto reloads = gw.policyd.events("reload");
  EXPECT_EQ(reloads[2]["result"], "failed");
  EXPECT_NE(reloads[2]["error"].get<std::string>().find("checksum"), std::string::npos) << reloads[2];
  EXPECT_EQ(gw.send(message("a")).reply.line(), "550 5.7.1 policy B");
  EXPECT_EQ(gw.policyd.metric(R"(mailpolicy_reloads_total{result="failed"})"), 1);

  // SIGHUP reloads even an unchanged file (and reopens the log).
  fs::copy_file(image_b, image, fs::copy_options::overwrite_existing);
  ASSERT_TRUE(gw.policyd.wait_for_events("reload", 4));
  gw.policyd.hangup();
  ASSERT_TRUE(gw.policyd.wait_for_events("reload", 5)) << gw.policyd.log_text();
  EXPECT_EQ(gw.policyd.events("reload")[4]["trigger"], "SIGHUP");
  EXPECT_EQ(gw.send(message("a")).reply.line(), "550 5.7.1 policy B");
  EXPECT_EQ(gw.policyd.stop(SIGTERM), 0) << gw.policyd.stderr_text();
}

const char* kFactPolicy = R"(stage authentication {
  rule spf_fail: if spf is fail then reject "550 5.7.23 SPF fail"
}
)";

TEST_F(GatewayFaults, FactsComeFromDnsAndATimeoutTempfailsNamingTheFact) {
  testing::TestDnsServer dns(
      "example.net. 300 IN TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n"
      "slow.example. TIMEOUT\n");
  mp::e2e::TempDir dir;
  fs::path image = build_image(dir.path(), "p", kFactPolicy);
  Gateway gw(image, {"dns.servers = " + dns.address(), "dns.timeout_ms = 300", "facts.budget_ms = 2000"},
             {.extra_main_cf = {"smtpd_authorized_xclient_hosts = 127.0.0.0/8"}});
  auto send_from = [&](const std::string& ip, const std::string& sender) {
    return gw.postfix->send({.from = sender,
                             .to = {"carol@widget.com"},
                             .data = message("hi"),
                             .swaks_args = {"--xclient-addr", ip}});
  };
  EXPECT_EQ(send_from("203.0.113.9", "bob@example.net").reply.line(), "550 5.7.23 SPF fail");
  EXPECT_EQ(send_from("192.0.2.7", "bob@example.net").code(), 250);
  SendResult slow = send_from("192.0.2.7", "bob@slow.example");
  EXPECT_EQ(slow.code(), 451) << slow.transcript();
  EXPECT_NE(slow.reply.text.find("spf"), std::string::npos) << slow.reply.line();
  ASSERT_TRUE(gw.postfix->wait_for_delivered(1));
  // Folded between methods, as RFC 8601 writes it.
  EXPECT_EQ(gw.postfix->delivered()[0].header("Authentication-Results").value_or(""),
            "mailpolicy;\n\tspf=pass smtp.mailfrom=bob@example.net");
  EXPECT_EQ(gw.policyd.metric(R"(mailpolicy_fact_errors_total{fact="spf"})"), 1);
  EXPECT_GT(gw.policyd.metric(R"(mailpolicy_fact_seconds_count{fact="spf"})"), 2);
}

TEST_F(GatewayFaults, WithPolicydGoneThePostfixDefaultActionApplies) {
  mp::e2e::TempDir dir;
  fs::path image = build_image(dir.path(), "p", kSubjectPolicy);
  Gateway gw(image, {}, {.milter_default_action = "tempfail"});
  EXPECT_EQ(gw.send(message("hello")).code(), 250);
  gw.policyd.stop(SIGKILL);
  SendResult down = gw.send(message("hello again"));
  EXPECT_EQ(down.code(), 451) << down.transcript();
  ASSERT_TRUE(gw.postfix->wait_until_idle());
  EXPECT_EQ(gw.postfix->delivered().size(), 1u);
}

}  // namespace
}  // namespace mp::gateway_test
