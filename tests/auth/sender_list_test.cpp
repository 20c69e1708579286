// The sender_list fact through the evaluator, on LMDB and a real Redis: each recipient
// reads its own lists, its groups' and the organisation's; recipients whose lists
// differ get different verdicts; a split message does not count against its client;
// a store that is down gives no value.
#include <gtest/gtest.h>

#include "auth/facts.h"
#include "state/lists.h"
#include "state/memory.h"
#include "tests/state/store_fixture.h"
#include "tests/vm/interpreter_test_util.h"

namespace mp::auth {
namespace {

using state::ListKind;

const char* kPolicy = R"(settings { org.groups = ["finance: alice@widget.com, bob@widget.com"] }
stage custom_filters {
  rule blocked (inbound): if sender_list is blocked then quarantine "blocked by your list"
  rule safe (inbound): if sender_list is safe then allow
}
stage spam_engine {
  rule spammy: if subject contains "invoice" then score +6 "invoice"
}
)";

const std::string kMessage =
    "From: Vendor News <news@mail.vendor.example>\nTo: x@widget.com\nSubject: invoice\n\nhi\n";

class SenderList : public state::StoreFixture {
 protected:
  vm::Verdict judge(vm::interpreter_test::Policy& policy, std::vector<std::string> recipients,
                    std::string* learnt = nullptr) {
    FactOptions options;
    options.store = std::shared_ptr<state::Store>(store_.get(), [](state::Store*) {});
    options.clock = clock_.clock();
    options.groups = policy.program()->image().settings.groups;
    runtime::Envelope e;
    e.sender = "bounce-123@esp.example";
    e.recipients = std::move(recipients);
    e.client_ip = runtime::IpAddress::parse("198.51.100.4");
    const runtime::Message message = runtime::Message::parse(kMessage);
    MessageFacts facts(resolver_, message, e, options);
    vm::Evaluator evaluator(policy.program());
    vm::Verdict v = evaluator.evaluate(message, e, &facts);
    const std::string problem = facts.learn(v);
    if (learnt) *learnt = problem;
    return v;
  }
  dns::Resolver resolver_{{.servers = {"127.0.0.1:1"}, .timeout_ms = 50, .tries = 1, .cache = nullptr}};
};

TEST_P(SenderList, EachRecipientReadsItsOwnGroupsAndTheOrganisationsLists) {
  vm::interpreter_test::Policy policy(kPolicy);
  // The From: domain, the envelope sender's and the client address all identify it.
  state::list_add(*store_, ListKind::Blocked, state::user_scope("alice@widget.com"), "vendor.example");
  state::list_add(*store_, ListKind::Safe, state::group_scope("finance"), "news@mail.vendor.example");
  state::list_add(*store_, ListKind::Safe, state::kOrgScope, "198.51.100.4");
  const vm::Verdict v =
      judge(policy, {"alice@widget.com", "bob@widget.com", "carol@widget.com", "dave@other.example"});
  ASSERT_EQ(v.per_recipient.size(), 2u);
  EXPECT_EQ(v.per_recipient[0].recipients, (std::vector<std::string>{"alice@widget.com"}));
  EXPECT_EQ(v.per_recipient[0].verdict.action, vm::Action::Quarantine);
  EXPECT_EQ(v.per_recipient[1].recipients,
            (std::vector<std::string>{"bob@widget.com", "carol@widget.com", "dave@other.example"}));
  EXPECT_EQ(v.per_recipient[1].verdict.action, vm::Action::Allow);
  ASSERT_EQ(v.facts.size(), 1u);
  EXPECT_EQ(v.facts[0].value, "blocked, safe, safe, safe");
  EXPECT_NE(v.facts[0].detail.find("alice@widget.com: blocked by user:alice@widget.com (vendor.example)"),
            std::string::npos)
      << v.facts[0].detail;
}

TEST_P(SenderList, NothingListedLeavesTheRestOfThePipelineToDecide) {
  vm::interpreter_test::Policy policy(kPolicy);
  const vm::Verdict v = judge(policy, {"alice@widget.com", "carol@widget.com"});
  EXPECT_TRUE(v.per_recipient.empty());
  EXPECT_EQ(v.action, vm::Action::Quarantine);  // by score
  EXPECT_FALSE(v.rule);
  // No envelope recipient: no one's lists, and the trace says why.
  const vm::Verdict none = judge(policy, {});
  ASSERT_FALSE(none.facts.empty());
  EXPECT_EQ(none.facts[0].detail, "no envelope recipient: no one's lists to read");
}

TEST_P(SenderList, ASplitMessageDoesNotCountAgainstItsClient) {
  vm::interpreter_test::Policy policy(kPolicy);
  state::list_add(*store_, ListKind::Blocked, state::user_scope("alice@widget.com"), "vendor.example");
  std::string learnt;
  const vm::Verdict v = judge(policy, {"alice@widget.com", "carol@widget.com"}, &learnt);
  ASSERT_EQ(v.per_recipient.size(), 2u);
  EXPECT_EQ(learnt, "");
  const auto ip = *runtime::IpAddress::parse("198.51.100.4");
  EXPECT_EQ(state::reputation(*store_, state::address_subject(ip), clock_.now->load()), 0);
  // Blocked by everyone's list: refused as a whole, and that counts.
  state::list_add(*store_, ListKind::Blocked, state::kOrgScope, "vendor.example");
  EXPECT_EQ(judge(policy, {"carol@widget.com", "dave@widget.com"}).action, vm::Action::Quarantine);
  EXPECT_EQ(state::reputation(*store_, state::address_subject(ip), clock_.now->load()), 1);
}

INSTANTIATE_TEST_SUITE_P(Stores, SenderList, state::kAllKinds, state::kind_name);

TEST(SenderListDown, AStoreThatIsDownGivesNoValue) {
  vm::interpreter_test::Policy policy(kPolicy);
  state::StoreOptions so;
  so.address = "redis://127.0.0.1:1";
  so.timeout = std::chrono::milliseconds(100);
  auto store = std::shared_ptr<state::Store>(state::open_store(so));
  FactOptions options;
  options.store = store;
  options.groups = policy.program()->image().settings.groups;
  runtime::Envelope e;
  e.sender = "a@vendor.example";
  e.recipients = {"alice@widget.com", "carol@widget.com"};
  const runtime::Message message = runtime::Message::parse(kMessage);
  dns::Resolver resolver{{.servers = {"127.0.0.1:1"}, .timeout_ms = 50, .tries = 1, .cache = nullptr}};
  MessageFacts facts(resolver, message, e, options);
  vm::Evaluator evaluator(policy.program());
  const vm::Verdict v = evaluator.evaluate(message, e, &facts);
  EXPECT_TRUE(v.per_recipient.empty());
  EXPECT_EQ(v.action, vm::Action::Quarantine);  // by score: the lists said nothing
  ASSERT_EQ(v.facts.size(), 1u);
  EXPECT_EQ(v.facts[0].value, "");
  EXPECT_NE(v.facts[0].detail.find("state store"), std::string::npos);
}

}  // namespace
}  // namespace mp::auth
