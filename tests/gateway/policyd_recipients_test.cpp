// Per-recipient verdicts through a real Postfix and policyd. With recipient_split =
// defer, a RCPT whose recipient has another policy than the transaction's first gets
// 452 4.5.3 and comes in a transaction of its own. With it off (or when only the From:
// field tells recipients apart), a recipient whose rules or lists refuse the message is
// removed from it (smfi_delrcpt) and the others get it; a quarantine for some holds the
// one copy for all (nothing is lost); the log line lists each outcome. The user's
// blocked list lives in the store, written while policyd runs.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "state/lists.h"
#include "tests/gateway/policyd_harness.h"

namespace mp::gateway_test {
namespace {

const char* kPolicy = R"(settings {
  org.domains = [widget.com]
  org.groups = ["finance: alice@widget.com"]
}
stage custom_filters {
  rule ceo_wire (user ceo@widget.com): if subject contains "wire" then discard
  rule finance_wire (group finance): if subject contains "wire" then quarantine "wire request to finance"
  rule blocked_sender (inbound): if sender_list is blocked then discard
}
)";

std::string message(const std::string& subject) {
  return "From: Bob <bob@example.net>\r\nTo: staff@widget.com\r\nSubject: " + subject + "\r\nMessage-ID: <" +
         std::to_string(std::hash<std::string>{}(subject)) + "@example.net>\r\n\r\nhello\r\n";
}

class GatewayRecipients : public PolicydGatewayTest {
 protected:
  void start(const std::string& split) {
    store_path_ = "lmdb:" + (scratch_.path() / "state.mdb").string();
    start_with(kPolicy, {}, {"state = " + store_path_, "recipient_split = " + split});
  }
  void block(const std::string& user, const std::string& entry) {
    state::StoreOptions options;
    options.address = store_path_;
    auto store = state::open_store(options);
    state::list_add(*store, state::ListKind::Blocked, state::user_scope(user), entry);
  }
  SendResult send(const std::string& subject, std::vector<std::string> to) {
    return postfix_->send({.from = "bob@example.net", .to = std::move(to), .data = message(subject)});
  }
  // Who the delivered copies went to (virtual(8)'s Delivered-To).
  std::multiset<std::string> delivered_to() {
    std::multiset<std::string> out;
    for (const auto& m : postfix_->delivered()) out.insert(m.header("Delivered-To").value_or("?"));
    return out;
  }
  std::string store_path_;
};

TEST_F(GatewayRecipients, ARefusedRecipientIsRemovedAndTheOthersGetTheMessage) {
  start("off");
  EXPECT_EQ(send("wire transfer today", {"ceo@widget.com", "carol@widget.com", "dave@widget.com"}).code(),
            250);
  ASSERT_TRUE(postfix_->wait_for_delivered(2)) << postfix_->log();
  ASSERT_TRUE(postfix_->wait_until_idle());
  EXPECT_EQ(delivered_to(), (std::multiset<std::string>{"carol@widget.com", "dave@widget.com"}));
  ASSERT_TRUE(policyd_->wait_for_events("message", 1));
  const auto line = policyd_->events("message")[0];
  ASSERT_EQ(line["per_recipient"].size(), 2u) << line.dump();
  EXPECT_EQ(line["per_recipient"][0]["recipients"], nlohmann::json::array({"ceo@widget.com"}));
  EXPECT_EQ(line["per_recipient"][0]["action"], "discard");
  EXPECT_EQ(line["per_recipient"][1]["action"], "deliver");
}

TEST_F(GatewayRecipients, AQuarantineForSomeHoldsTheOneCopyForAll) {
  start("off");
  EXPECT_EQ(send("wire transfer today", {"alice@widget.com", "carol@widget.com"}).code(), 250);
  ASSERT_TRUE(postfix_->wait_until_idle());
  const auto held = postfix_->held();
  ASSERT_EQ(held.size(), 1u) << postfix_->log();
  EXPECT_EQ(std::set<std::string>(held[0].recipients.begin(), held[0].recipients.end()),
            (std::set<std::string>{"alice@widget.com", "carol@widget.com"}));
  EXPECT_EQ(held[0].header("X-Policy-Quarantine"), "wire request to finance");
  EXPECT_TRUE(postfix_->delivered().empty());
}

TEST_F(GatewayRecipients, AUsersBlockedListWrittenWhilePolicydRunsDropsOnlyTheirCopy) {
  start("off");
  block("dave@widget.com", "example.net");
  EXPECT_EQ(send("lunch", {"dave@widget.com", "carol@widget.com"}).code(), 250);
  ASSERT_TRUE(postfix_->wait_for_delivered(1)) << postfix_->log();
  ASSERT_TRUE(postfix_->wait_until_idle());
  EXPECT_EQ(delivered_to(), (std::multiset<std::string>{"carol@widget.com"}));
  ASSERT_TRUE(policyd_->wait_for_events("message", 1));
  const auto line = policyd_->events("message")[0];
  EXPECT_EQ(line["per_recipient"][0]["rule"], "blocked_sender") << line.dump();
}

// recipient_split = defer (the default): each policy gets a transaction of its own, so
// no recipient waits for another's quarantine.
TEST_F(GatewayRecipients, ARecipientOfAnotherPolicyIsDeferredToATransactionOfItsOwn) {
  start("defer");
  SendResult first = send("wire transfer today", {"alice@widget.com", "carol@widget.com", "dave@widget.com"});
  EXPECT_EQ(first.code(), 250) << first.transcript();
  const auto replies = first.rcpt_replies();
  ASSERT_EQ(replies.size(), 3u) << first.transcript();
  EXPECT_EQ(replies[0].code, 250);
  EXPECT_EQ(replies[1].code, 452);
  EXPECT_NE(replies[1].text.find("4.5.3"), std::string::npos) << replies[1].text;
  EXPECT_EQ(replies[2].code, 452);
  // What the client does next: the deferred recipients, together, in a new transaction.
  EXPECT_EQ(send("wire transfer today", {"carol@widget.com", "dave@widget.com"}).code(), 250);
  ASSERT_TRUE(postfix_->wait_for_delivered(2)) << postfix_->log();
  ASSERT_TRUE(postfix_->wait_until_idle());
  EXPECT_EQ(delivered_to(), (std::multiset<std::string>{"carol@widget.com", "dave@widget.com"}));
  const auto held = postfix_->held();
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(held[0].recipients, (std::vector<std::string>{"alice@widget.com"}));
  ASSERT_TRUE(policyd_->wait_for_events("recipient_deferred", 2));
  EXPECT_EQ(policyd_->events("recipient_deferred")[0]["recipient"], "<carol@widget.com>");
  // Each transaction had one policy: no per-recipient outcome was needed.
  ASSERT_TRUE(policyd_->wait_for_events("message", 2));
  for (const auto& line : policyd_->events("message"))
    EXPECT_FALSE(line.contains("per_recipient")) << line.dump();
}

TEST_F(GatewayRecipients, ABlockedListSplitsAtRcptTimeToo) {
  start("defer");
  block("dave@widget.com", "example.net");
  SendResult first = send("lunch", {"carol@widget.com", "dave@widget.com", "erin@widget.com"});
  const auto replies = first.rcpt_replies();
  ASSERT_EQ(replies.size(), 3u) << first.transcript();
  EXPECT_EQ(replies[0].code, 250);
  EXPECT_EQ(replies[1].code, 452);  // dave's list blocks the envelope sender's domain
  EXPECT_EQ(replies[2].code, 250);
  EXPECT_EQ(send("lunch", {"dave@widget.com"}).code(), 250);  // discarded by his list
  ASSERT_TRUE(postfix_->wait_for_delivered(2)) << postfix_->log();
  ASSERT_TRUE(postfix_->wait_until_idle());
  EXPECT_EQ(delivered_to(), (std::multiset<std::string>{"carol@widget.com", "erin@widget.com"}));
}

}  // namespace
}  // namespace mp::gateway_test
