// Body replacement through a real Postfix: the `banner` action's warning reaches the
// delivered (and held) mail through smfi_replacebody, with the top-level fields that must
// change with the body, the rest of the message intact, bodies larger than one milter
// chunk whole, and a signed message passed on untouched with the reason in the log.
#include <gtest/gtest.h>

#include <string>

#include "runtime/message.h"
#include "tests/e2e/expected_table.h"
#include "tests/gateway/policyd_harness.h"

namespace mp::gateway_test {
namespace {

const char* kPolicy = R"(settings { org.domains = [widget.com] }
stage custom_filters {
  rule hold_it:
    if subject contains "hold" then quarantine "suspicious subject"
}
# Before custom_filters: a rule that decides ends the evaluation, and held mail that is
# released later should carry the warning too.
stage anti_spoofing {
  rule external (inbound):
    if from.domain not in [widget.com] then banner "CAUTION: external sender."
  rule lookalike (inbound):
    if subject contains "vorsicht" then banner "Achtung – externe Absenderin"
}
)";

std::string crlf(const std::string& text) {
  std::string out;
  for (char c : text) out += c == '\n' ? std::string("\r\n") : std::string(1, c);
  return out;
}

std::string message(const std::string& subject, const std::string& body, const std::string& headers = "") {
  return crlf("From: Bob <bob@example.net>\nTo: carol@widget.com\nSubject: " + subject + "\nMessage-ID: <" +
              std::to_string(std::hash<std::string>{}(subject)) + "@example.net>\n" + headers + "\n" + body);
}

runtime::Message parsed(const std::string& content) {
  return runtime::Message::parse(content);
}

// The delivered text without the empty line local(8) ends each mailbox entry with.
std::string text_of(const std::string& content) {
  std::string text = parsed(content).body_text();
  while (text.ends_with("\n\n")) text.pop_back();
  return text;
}

class GatewayBanner : public PolicydGatewayTest {
 protected:
  void SetUp() override { start_with(kPolicy); }
  SendResult send(const std::string& data) {
    return postfix_->send({.from = "bob@example.net", .to = {"carol@widget.com"}, .data = data});
  }
};

TEST_F(GatewayBanner, PlainTextGetsTheBannerAndKeepsItsHeaders) {
  SendResult sent = send(message("quarterly report", "Hello Carol,\nthe report is attached.\n"));
  ASSERT_EQ(sent.code(), 250) << sent.transcript();
  const DeliveredMessage mail = delivered_one();
  EXPECT_EQ(text_of(mail.content), "CAUTION: external sender.\n\nHello Carol,\nthe report is attached.\n")
      << mail.content;
  EXPECT_EQ(parsed(mail.content).subject(), "quarterly report");
  EXPECT_FALSE(mail.header("Content-Transfer-Encoding").has_value()) << mail.content;  // still 7bit
  auto lines = policyd_->events("message");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["banners"], "added");
}

TEST_F(GatewayBanner, NonAsciiBannerChangesTheContentFieldsWithTheBody) {
  send(message("vorsicht bitte", "Hallo Carol\n"));
  const DeliveredMessage mail = delivered_one();
  EXPECT_EQ(mail.header("Content-Type").value_or(""), "text/plain; charset=utf-8") << mail.content;
  EXPECT_EQ(mail.header("Content-Transfer-Encoding").value_or(""), "quoted-printable") << mail.content;
  EXPECT_EQ(mail.header("MIME-Version").value_or(""), "1.0") << mail.content;
  EXPECT_EQ(text_of(mail.content),
            "CAUTION: external sender.\n\nAchtung – externe Absenderin\n\nHallo Carol\n");
}

TEST_F(GatewayBanner, AlternativePartsBothShowItAndAttachmentsArriveByteForByte) {
  const std::string attachment =
      "--B\nContent-Type: application/pdf; name=\"a.pdf\"\nContent-Transfer-Encoding: base64\n\n"
      "JVBERi0xLjQKJcOkw7zDtsOfCjIgMCBvYmoKPDwvTGVuZ3RoIDMgMCBSL0ZpbHRlci9GbGF0ZURl\n";
  const std::string body =
      "--B\nContent-Type: multipart/alternative; boundary=A\n\n"
      "--A\nContent-Type: text/plain; charset=utf-8\n\nplain side\n"
      "--A\nContent-Type: text/html; charset=utf-8\n\n<html><body><p>html side</p></body></html>\n"
      "--A--\n" +
      attachment + "--B--\n";
  send(message("hold this one", body, "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n"));
  ASSERT_TRUE(postfix_->wait_until_idle());
  auto held = postfix_->held();
  ASSERT_EQ(held.size(), 1u) << postfix_->log();
  const runtime::Message m = parsed(held[0].content);
  EXPECT_EQ(m.body_text().find("CAUTION: external sender.\n\nplain side"), 0u) << m.body_text();
  EXPECT_NE(m.html().find("<body><div style="), std::string::npos) << m.html();
  EXPECT_NE(held[0].content.find(attachment), std::string::npos) << held[0].content;
  ASSERT_EQ(m.attachments().size(), 1u);
  EXPECT_EQ(m.attachments()[0].name, "a.pdf");
}

TEST_F(GatewayBanner, BodiesLargerThanOneMilterChunkArriveWhole) {
  std::string body;
  for (int i = 0; body.size() < 300 * 1024; ++i) body += "line " + std::to_string(i) + " of a long report\n";
  send(message("long report", body));
  const DeliveredMessage mail = delivered_one();
  EXPECT_EQ(text_of(mail.content), "CAUTION: external sender.\n\n" + body);
}

TEST_F(GatewayBanner, SignedMailPassesUntouchedAndTheLogSaysWhy) {
  const std::string body =
      "--S\nContent-Type: text/plain\n\nsigned text\n"
      "--S\nContent-Type: application/pkcs7-signature\nContent-Transfer-Encoding: base64\n\nMIIB\n--S--\n";
  send(message("signed", body,
               "MIME-Version: 1.0\nContent-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; "
               "micalg=sha-256; boundary=S\n"));
  const DeliveredMessage mail = delivered_one();
  EXPECT_NE(mail.content.find(body), std::string::npos) << mail.content;
  EXPECT_EQ(mail.content.find("CAUTION"), std::string::npos);
  auto lines = policyd_->events("message");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0]["banners"].get<std::string>().find("signed"), std::string::npos) << lines[0].dump();
}

}  // namespace
}  // namespace mp::gateway_test
