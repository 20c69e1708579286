// Tests of the private-Postfix harness (postfix_harness.h) against a real Postfix with
// no milter: delivery to the Maildir, refusals at RCPT and DATA, the log, the hold
// queue and two instances side by side. They skip where Postfix cannot run (not root,
// postfix or swaks missing).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>

#include <string>
#include <vector>

#include "tests/gateway/postfix_harness.h"

namespace mp::gateway_test {
namespace {

using ::testing::HasSubstr;

// A small complete message from sender@example.net to `to` with `subject`.
std::string message_text(const std::string& to, const std::string& subject,
                         const std::string& body = "Hello.\n") {
  return "From: Sender <sender@example.net>\n"
         "To: <" +
         to +
         ">\n"
         "Subject: " +
         subject +
         "\n"
         "Message-ID: <" +
         subject.substr(0, subject.find(' ')) +
         "@example.net>\n"
         "X-Test-Header: kept as it is\n"
         "\n" +
         body;
}

TEST(GatewaySwaksTranscript, PairsRepliesWithCommandsAndFindsTheDecidingOne) {
  const std::string transcript =
      "=== Trying 127.0.0.1:2525...\n"
      "<-  220 mx.gateway.test ESMTP Postfix\n"
      " -> EHLO client.example.net\n"
      "<-  250-mx.gateway.test\n"
      "<-  250 CHUNKING\n"
      " -> MAIL FROM:<a@example.net>\n"
      "<-  250 2.1.0 Ok\n"
      " -> RCPT TO:<b@nowhere.invalid>\n"
      "<** 554 5.7.1 <b@nowhere.invalid>: Relay access denied\n"
      " -> RCPT TO:<c@widget.com>\n"
      "<-  250 2.1.5 Ok\n"
      " -> DATA\n"
      "<-  354 End data with <CR><LF>.<CR><LF>\n"
      " -> Subject: MAIL FROM looks like a command\n"
      " -> \n"
      " -> .\n"
      "<** 550 5.7.1 test reject\n"
      " -> QUIT\n"
      "<-  221 2.0.0 Bye\n";
  std::vector<SmtpReply> replies = parse_swaks_transcript(transcript);
  ASSERT_EQ(replies.size(), 8u);
  EXPECT_EQ(replies[1].command, "EHLO");
  EXPECT_EQ(replies[1].text, "mx.gateway.test\nCHUNKING");
  EXPECT_EQ(replies[3].line(), "554 5.7.1 <b@nowhere.invalid>: Relay access denied");
  EXPECT_EQ(replies[3].command, "RCPT");
  EXPECT_EQ(replies[5].code, 354);
  EXPECT_EQ(replies[6].command, "EOM");
  EXPECT_EQ(deciding_reply(replies).line(), "550 5.7.1 test reject");
  replies.erase(replies.begin() + 5, replies.end());
  EXPECT_EQ(deciding_reply(replies).command, "RCPT") << "without a message the first refusal decides";
}

using GatewayPostfixHarness = PostfixTest;

TEST_F(GatewayPostfixHarness, DeliversToTheMaildirWithHeadersIntactAndAReceivedLine) {
  PostfixInstance postfix;
  ASSERT_TRUE(postfix.start());
  SendResult sent =
      postfix.send({.to = {"alice@widget.com"}, .data = message_text("alice@widget.com", "first one")});
  ASSERT_EQ(sent.code(), 250) << sent.transcript();
  ASSERT_FALSE(sent.queue_id.empty()) << sent.reply.line();
  ASSERT_TRUE(postfix.wait_until_idle());

  std::vector<DeliveredMessage> mail = postfix.delivered();
  ASSERT_EQ(mail.size(), 1u) << postfix.log();
  const DeliveredMessage& m = mail[0];
  EXPECT_THAT(m.content, HasSubstr("From: Sender <sender@example.net>\n"));
  EXPECT_THAT(m.content, HasSubstr("Subject: first one\n"));
  EXPECT_THAT(m.content, HasSubstr("X-Test-Header: kept as it is\n"));
  EXPECT_THAT(m.content, HasSubstr("\n\nHello.\n"));
  EXPECT_EQ(m.header("Delivered-To"), "alice@widget.com");
  EXPECT_EQ(m.header("Return-Path"), "<sender@example.net>");
  std::optional<std::string> received = m.header("Received");
  ASSERT_TRUE(received.has_value()) << m.content;
  EXPECT_THAT(*received, HasSubstr("from client.example.net (unknown [127.0.0.1])"));
  EXPECT_THAT(*received, HasSubstr("by mx.gateway.test (Postfix) with ESMTP id " + sent.queue_id));
  EXPECT_THAT(*received, HasSubstr("for <alice@widget.com>"));
}

TEST_F(GatewayPostfixHarness, RefusesARecipientOfAnUnknownDomainAtRcpt) {
  PostfixInstance postfix;
  ASSERT_TRUE(postfix.start());
  SendResult refused = postfix.send({.to = {"someone@unknown.invalid"}});
  EXPECT_EQ(refused.reply.command, "RCPT") << refused.transcript();
  EXPECT_EQ(refused.code() / 100, 5) << refused.transcript();
  EXPECT_THAT(refused.reply.text, HasSubstr("Relay access denied"));

  // One good recipient beside it: the message goes to that one only.
  SendResult mixed = postfix.send({.to = {"someone@unknown.invalid", "bob@example.org"}});
  std::vector<SmtpReply> rcpts = mixed.rcpt_replies();
  ASSERT_EQ(rcpts.size(), 2u) << mixed.transcript();
  EXPECT_EQ(rcpts[0].code / 100, 5);
  EXPECT_EQ(rcpts[1].code, 250);
  EXPECT_EQ(mixed.code(), 250) << mixed.transcript();
  ASSERT_TRUE(postfix.wait_until_idle());
  std::vector<DeliveredMessage> mail = postfix.delivered();
  ASSERT_EQ(mail.size(), 1u);
  EXPECT_EQ(mail[0].header("Delivered-To"), "bob@example.org");
}

TEST_F(GatewayPostfixHarness, TwoRecipientsGetACopyEachInTheOneMaildir) {
  PostfixInstance postfix;
  ASSERT_TRUE(postfix.start());
  SendResult sent = postfix.send({.to = {"carol@widget.ca", "dave@example.com"}});
  ASSERT_EQ(sent.code(), 250) << sent.transcript();
  ASSERT_TRUE(postfix.wait_until_idle());
  std::vector<DeliveredMessage> mail = postfix.delivered();
  ASSERT_EQ(mail.size(), 2u) << postfix.log();
  std::vector<std::string> delivered_to;
  for (const DeliveredMessage& m : mail) delivered_to.push_back(m.header("Delivered-To").value_or(""));
  std::sort(delivered_to.begin(), delivered_to.end());
  EXPECT_EQ(delivered_to, (std::vector<std::string>{"carol@widget.ca", "dave@example.com"}));
}

TEST_F(GatewayPostfixHarness, RefusesAMessageOverTheSizeLimitWith552) {
  PostfixInstance postfix({.message_size_limit = 4000});
  ASSERT_TRUE(postfix.start());
  SendResult sent =
      postfix.send({.data = message_text("rcpt@widget.com", "big one", std::string(8000, 'x') + "\n")});
  EXPECT_EQ(sent.reply.command, "EOM") << sent.transcript();
  EXPECT_EQ(sent.code(), 552) << sent.transcript();
  EXPECT_THAT(sent.reply.text, HasSubstr("5.3.4"));
  ASSERT_TRUE(postfix.wait_until_idle());
  EXPECT_TRUE(postfix.delivered().empty());
}

TEST_F(GatewayPostfixHarness, TheLogRecordsTheQueueIdFromReceptionToDelivery) {
  PostfixInstance postfix;
  ASSERT_TRUE(postfix.start());
  SendResult sent = postfix.send({.to = {"erin@example.test"}});
  ASSERT_EQ(sent.code(), 250) << sent.transcript();
  const std::string& id = sent.queue_id;
  EXPECT_FALSE(postfix.wait_for_log(id + R"(: to=<erin@example\.test>, relay=virtual.*status=sent)").empty())
      << postfix.log();
  EXPECT_EQ(postfix.log_lines_matching("postfix/smtpd.*" + id + R"(: client=unknown\[127\.0\.0\.1\])").size(),
            1u);
  EXPECT_EQ(postfix.log_lines_matching("postfix/qmgr.*" + id + ": from=<sender@example.net>").size(), 1u);
}

TEST_F(GatewayPostfixHarness, AHeaderChecksHoldRuleKeepsTheMessageInTheHoldQueue) {
  PostfixInstance postfix({.extra_main_cf = {"header_checks = regexp:$config_directory/header_checks"}});
  postfix.write_config_file("header_checks", "/^Subject: hold me/ HOLD held by the test rule\n");
  ASSERT_TRUE(postfix.start());
  SendResult sent = postfix.send({.data = message_text("frank@widget.com", "hold me please")});
  ASSERT_EQ(sent.code(), 250) << sent.transcript();
  SendResult other = postfix.send({.data = message_text("frank@widget.com", "deliver me")});
  ASSERT_EQ(other.code(), 250) << other.transcript();
  ASSERT_TRUE(postfix.wait_until_idle());

  std::vector<HeldMessage> held = postfix.held();
  ASSERT_EQ(held.size(), 1u) << postfix.log();
  EXPECT_EQ(held[0].queue_id, sent.queue_id);
  EXPECT_EQ(held[0].sender, "sender@example.net");
  EXPECT_EQ(held[0].recipients, std::vector<std::string>{"rcpt@widget.com"});
  EXPECT_EQ(held[0].header("Subject"), "hold me please");
  EXPECT_THAT(held[0].content, HasSubstr("X-Test-Header: kept as it is"));
  EXPECT_THAT(held[0].reason, HasSubstr("hold: header Subject: hold me please"));
  EXPECT_THAT(held[0].reason, HasSubstr("held by the test rule"));
  std::vector<DeliveredMessage> mail = postfix.delivered();
  ASSERT_EQ(mail.size(), 1u);
  EXPECT_EQ(mail[0].header("Subject"), "deliver me");
}

TEST_F(GatewayPostfixHarness, DeferredMailPutOnHoldByPostsuper) {
  // defer_transports keeps everything for virtual(8) in the deferred queue.
  PostfixInstance postfix({.extra_main_cf = {"defer_transports = virtual"}});
  ASSERT_TRUE(postfix.start());
  SendResult sent = postfix.send({.to = {"gina@widget.com"}});
  ASSERT_EQ(sent.code(), 250) << sent.transcript();
  ASSERT_TRUE(poll_until(10s, [&] { return postfix.deferred() == 1; })) << postfix.log();
  EXPECT_EQ(postfix.active(), 0u);
  EXPECT_FALSE(postfix.wait_until_idle(200ms)) << "deferred mail is not idle";

  // By queue id: "postsuper -h ALL" logs only a count, no line per message.
  RunResult hold = postfix.tool("postsuper", {"-h", sent.queue_id});
  ASSERT_EQ(hold.status, 0) << mp::e2e::describe(hold);
  std::vector<HeldMessage> held = postfix.held();
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(held[0].queue_id, sent.queue_id);
  EXPECT_EQ(held[0].recipients, std::vector<std::string>{"gina@widget.com"});
  EXPECT_EQ(held[0].reason, "placed on hold");
  EXPECT_EQ(postfix.deferred(), 0u);
  EXPECT_TRUE(postfix.wait_until_idle());
}

TEST_F(GatewayPostfixHarness, TwoInstancesRunSideBySide) {
  PostfixInstance first;
  PostfixInstance second;
  ASSERT_TRUE(first.start());
  ASSERT_TRUE(second.start());
  EXPECT_NE(first.port(), second.port());
  ASSERT_EQ(first.send({.to = {"one@widget.com"}}).code(), 250);
  ASSERT_EQ(second.send({.to = {"two@widget.com"}}).code(), 250);
  ASSERT_TRUE(first.wait_until_idle());
  ASSERT_TRUE(second.wait_until_idle());
  ASSERT_EQ(first.delivered().size(), 1u);
  ASSERT_EQ(second.delivered().size(), 1u);
  EXPECT_EQ(first.delivered()[0].header("Delivered-To"), "one@widget.com");
  EXPECT_EQ(second.delivered()[0].header("Delivered-To"), "two@widget.com");
}

}  // namespace
}  // namespace mp::gateway_test
