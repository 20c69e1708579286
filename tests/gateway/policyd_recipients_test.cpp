// Per-recipient verdicts through a real Postfix and policyd: a recipient whose rules or
// lists refuse the message is removed from it (smfi_delrcpt) and the others get it; a
// quarantine for some holds the one copy for all (nothing is lost); the log line lists
// each outcome. The user's blocked list lives in the store, written while policyd runs.
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
  void SetUp() override {
    store_path_ = "lmdb:" + (scratch_.path() / "state.mdb").string();
    start_with(kPolicy, {}, {"state = " + store_path_});
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
  {
    state::StoreOptions options;
    options.address = store_path_;
    auto store = state::open_store(options);
    state::list_add(*store, state::ListKind::Blocked, state::user_scope("dave@widget.com"), "example.net");
  }
  EXPECT_EQ(send("lunch", {"dave@widget.com", "carol@widget.com"}).code(), 250);
  ASSERT_TRUE(postfix_->wait_for_delivered(1)) << postfix_->log();
  ASSERT_TRUE(postfix_->wait_until_idle());
  EXPECT_EQ(delivered_to(), (std::multiset<std::string>{"carol@widget.com"}));
  ASSERT_TRUE(policyd_->wait_for_events("message", 1));
  const auto line = policyd_->events("message")[0];
  EXPECT_EQ(line["per_recipient"][0]["rule"], "blocked_sender") << line.dump();
}

}  // namespace
}  // namespace mp::gateway_test
