// URL defense through a real Postfix: the `rewrite urls` action's links reach the
// delivered mail through smfi_replacebody, in the text and HTML parts, our own links
// left alone, also for a sender a rule allowed (url_defense runs after an allow), and
// policyd's log line counts the links rewritten.
#include <gtest/gtest.h>

#include <string>

#include "runtime/message.h"
#include "tests/gateway/policyd_harness.h"

namespace mp::gateway_test {
namespace {

const char* kPolicy = R"(settings { org.domains = [widget.com] }
stage custom_filters {
  rule trusted_partner (inbound):
    if from.domain is partner.example then allow
}
stage url_defense {
  rule rewrite_links (inbound):
    if count(urls) > 0 then rewrite urls "https://urldefense.example/v1?u={url}" except [org.domains]
}
)";

const std::string kChecked = "https://urldefense.example/v1?u=http%3A%2F%2Fevil.example%2Flogin";

std::string crlf(const std::string& text) {
  std::string out;
  for (char c : text) out += c == '\n' ? std::string("\r\n") : std::string(1, c);
  return out;
}

std::string message(const std::string& from) {
  return crlf(
      "From: <" + from + ">\nTo: carol@widget.com\nSubject: your account\nMessage-ID: <" +
      std::to_string(std::hash<std::string>{}(from)) +
      "@example.net>\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=A\n\n"
      "--A\nContent-Type: text/plain\n\nLog in at http://evil.example/login or https://www.widget.com/help\n"
      "--A\nContent-Type: text/html\n\n<p><a href=\"http://evil.example/login\">Log in</a></p>\n--A--\n");
}

class GatewayUrlDefense : public PolicydGatewayTest {
 protected:
  void SetUp() override { start_with(kPolicy); }
  runtime::Message delivered_from(const std::string& from) {
    SendResult sent = postfix_->send({.from = from, .to = {"carol@widget.com"}, .data = message(from)});
    EXPECT_EQ(sent.code(), 250) << sent.transcript();
    return runtime::Message::parse(delivered_one().content);
  }
};

TEST_F(GatewayUrlDefense, DeliveredLinksPointAtTheCheckerAndOursStay) {
  const runtime::Message m = delivered_from("bob@example.net");
  EXPECT_NE(m.body_text().find("Log in at " + kChecked + " or https://www.widget.com/help"),
            std::string::npos)
      << m.body_text();
  EXPECT_NE(m.html().find("<a href=\"" + kChecked + "\">Log in</a>"), std::string::npos) << m.html();
  EXPECT_TRUE(m.defects().empty());
  auto lines = policyd_->events("message");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["urls_rewritten"], 2) << lines[0].dump();
}

TEST_F(GatewayUrlDefense, AnAllowedSendersLinksAreRewrittenToo) {
  const runtime::Message m = delivered_from("news@partner.example");
  EXPECT_NE(m.body_text().find(kChecked), std::string::npos) << m.body_text();
  auto lines = policyd_->events("message");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["action"], "allow") << lines[0].dump();
  EXPECT_EQ(lines[0]["urls_rewritten"], 2) << lines[0].dump();
}

}  // namespace
}  // namespace mp::gateway_test
