// The state facts through the evaluator, on an LMDB store and a real Redis, with the
// clock moved by hand: a spamtrap hit raises the client's reputation so that the
// policy holds its next message, and three days later it is neutral again; rates
// count per key; a store that is down gives no value (or a tempfail, as
// state.on_error says), never a hang.
#include <gtest/gtest.h>

#include "auth/facts.h"
#include "bayes/bayes.h"
#include "tests/state/store_fixture.h"
#include "tests/vm/interpreter_test_util.h"

namespace mp::auth {
namespace {

using state::Kind;

const char* kPolicy = R"(settings { org.spamtraps = [trap@widget.com] }
stage reputation {
  rule poor_reputation: if reputation(client.effective_ip) >= 5 then quarantine "poor reputation"
  rule poor_network: if net_reputation(client.ip) >= 5 then score +2 "poor network"
}
stage custom_filters {
  rule burst: if rate(client.auth_user, 1h) > 3 then tempfail "451 4.7.1 Too many messages, slow down"
}
)";

const std::string kMessage = "From: a@spam.example\nTo: x@widget.com\nSubject: hi\n\nbuy now\n";

runtime::Envelope envelope(const std::string& ip, std::vector<std::string> rcpt = {"staff@widget.com"},
                           std::string auth_user = "") {
  runtime::Envelope e;
  e.sender = "a@spam.example";
  e.recipients = std::move(rcpt);
  e.client_ip = runtime::IpAddress::parse(ip);
  e.auth_user = std::move(auth_user);
  return e;
}

class StateFacts : public state::StoreFixture {
 protected:
  // Evaluates the message as the gateway does: facts, verdict, then learning.
  vm::Verdict judge(vm::interpreter_test::Policy& policy, const runtime::Envelope& e) {
    FactOptions options;
    options.store = std::shared_ptr<state::Store>(store_.get(), [](state::Store*) {});
    options.clock = clock_.clock();
    options.spamtraps = {"trap@widget.com"};
    const runtime::Message message = runtime::Message::parse(kMessage);
    MessageFacts facts(resolver_, message, e, options);
    vm::Evaluator evaluator(policy.program());
    vm::Verdict v = evaluator.evaluate(message, e, &facts);
    EXPECT_EQ(facts.learn(v.action, !v.fact.empty()), "");
    return v;
  }
  void days(double n) { clock_.now->store(clock_.now->load() + n * 86400); }

  dns::Resolver resolver_{{.servers = {"127.0.0.1:1"}, .timeout_ms = 50, .tries = 1, .cache = nullptr}};
};

TEST_P(StateFacts, ASpamtrapHitHoldsTheNextMessageAndIsForgottenInThreeDays) {
  vm::interpreter_test::Policy policy(kPolicy);
  EXPECT_EQ(judge(policy, envelope("203.0.113.9")).action, vm::Action::Deliver);
  // To a spamtrap: delivered (nothing says it is spam yet), but the address is marked.
  EXPECT_EQ(judge(policy, envelope("203.0.113.9", {"trap@widget.com"})).action, vm::Action::Deliver);
  const vm::Verdict held = judge(policy, envelope("203.0.113.9"));
  EXPECT_EQ(held.action, vm::Action::Quarantine);
  EXPECT_EQ(held.rule_name, "poor_reputation");
  // The quarantine itself counted too: 11 now. A neighbour only sees the network's.
  const vm::Verdict neighbour = judge(policy, envelope("203.0.113.10"));
  EXPECT_EQ(neighbour.action, vm::Action::Deliver);
  EXPECT_EQ(neighbour.score, 2);
  days(3);
  const vm::Verdict later = judge(policy, envelope("203.0.113.9"));
  EXPECT_EQ(later.action, vm::Action::Deliver) << later.rule_name;
  EXPECT_EQ(later.score, 0);
}

TEST_P(StateFacts, RatesCountEachAccountApart) {
  vm::interpreter_test::Policy policy(kPolicy);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(judge(policy, envelope("192.0.2.1", {}, "jane")).action, vm::Action::Deliver);
  EXPECT_EQ(judge(policy, envelope("192.0.2.1", {}, "john")).action, vm::Action::Deliver);
  const vm::Verdict fourth = judge(policy, envelope("192.0.2.1", {}, "jane"));
  EXPECT_EQ(fourth.action, vm::Action::Tempfail);
  EXPECT_EQ(fourth.rule_name, "burst");
  // No login: no key, no count, no value.
  EXPECT_EQ(judge(policy, envelope("192.0.2.1")).action, vm::Action::Deliver);
}

TEST_P(StateFacts, ALoginLongerThanAnyStoreKeyIsStillCounted) {
  // 700 bytes is past LMDB's 511-byte keys: the value is counted under its hash, apart
  // from another long login that shares its first 600 bytes.
  vm::interpreter_test::Policy policy(kPolicy);
  const std::string jane(700, 'j'), other = std::string(600, 'j') + std::string(100, 'k');
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(judge(policy, envelope("192.0.2.1", {}, jane)).action, vm::Action::Deliver);
  EXPECT_EQ(judge(policy, envelope("192.0.2.1", {}, other)).action, vm::Action::Deliver);
  const vm::Verdict fourth = judge(policy, envelope("192.0.2.1", {}, jane));
  EXPECT_EQ(fourth.action, vm::Action::Tempfail);
  EXPECT_EQ(fourth.rule_name, "burst");
}

TEST_P(StateFacts, ARuleCountsEveryMessageItReachesWhateverItsAndDecided) {
  // The rate is read only after `client.ip is …` holds, yet every message the rule
  // reaches counts: the fourth from jane is the fourth, not the first.
  vm::interpreter_test::Policy policy(
      "if client.ip is 192.0.2.9 and rate(client.auth_user, 1h) > 3 then tempfail \"451 4.7.1 slow down\"\n");
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(judge(policy, envelope("192.0.2.1", {}, "jane")).action, vm::Action::Deliver);
  EXPECT_EQ(judge(policy, envelope("192.0.2.9", {}, "jane")).action, vm::Action::Tempfail);
}

TEST_P(StateFacts, ASurgeIsJudgedAgainstEachAccountsOwnWeek) {
  vm::interpreter_test::Policy policy(
      "if rate_surge(client.auth_user, 1h) > 10 and rate(client.auth_user, 1h) > 50\n"
      "  then tempfail \"451 4.7.1 far more than usual\"\n");
  const auto send = [&](const std::string& user, int per_hour, int hours) {
    vm::Verdict last;
    for (int i = 0; i < per_hour * hours; ++i) {
      clock_.now->store(clock_.now->load() + 3600.0 / per_hour);
      last = judge(policy, envelope("192.0.2.1", {}, user));
    }
    return last;
  };
  // A newsletter account at eighty an hour for a day stays at its pace; a person at two
  // an hour who suddenly sends sixty in an hour is held back.
  EXPECT_EQ(send("news", 80, 24).action, vm::Action::Deliver);
  EXPECT_EQ(send("jane", 2, 24).action, vm::Action::Deliver);
  const vm::Verdict burst = send("jane", 60, 1);
  EXPECT_EQ(burst.action, vm::Action::Tempfail);
  ASSERT_FALSE(burst.facts.empty());
  EXPECT_TRUE(burst.facts[0].detail.starts_with("jane: 5")) << burst.facts[0].detail;
  EXPECT_NE(burst.facts[0].detail.find(" in the last 1h, usually 1."), std::string::npos);
  EXPECT_EQ(send("news", 80, 1).action, vm::Action::Deliver);
}

TEST_P(StateFacts, BayesHasAValueOnceTrainedAndItsCluesAreTraced) {
  vm::interpreter_test::Policy policy("if bayes >= 0.9 then quarantine \"Bayes\"\n");
  const auto message = [](const std::string& subject, const std::string& body, int n) {
    return runtime::Message::parse("From: a@b.example\nMessage-ID: <" + std::to_string(n) +
                                   "@b.example>\nSubject: " + subject + "\n\n" + body + "\n");
  };
  bayes::Classifier classifier(*store_, bayes::Options{.min_spam = 3, .min_ham = 3});
  for (int i = 0; i < 3; ++i) {
    classifier.train(message("cheap pills", "viagra cialis pharmacy discount", i), bayes::Class::Spam);
    classifier.train(message("minutes", "the meeting agenda and project budget", 10 + i), bayes::Class::Ham);
  }
  FactOptions options;
  options.store = std::shared_ptr<state::Store>(store_.get(), [](state::Store*) {});
  options.bayes_min_spam = options.bayes_min_ham = 3;
  const runtime::Envelope e = envelope("192.0.2.1");
  const runtime::Message spam = message("cheap pills", "viagra pharmacy discount", 99);
  MessageFacts facts(resolver_, spam, e, options);
  vm::Evaluator evaluator(policy.program());
  const vm::Verdict v = evaluator.evaluate(spam, e, &facts);
  EXPECT_EQ(v.action, vm::Action::Quarantine);
  ASSERT_EQ(v.facts.size(), 1u);
  EXPECT_NE(v.facts[0].detail.find("clues: "), std::string::npos) << v.facts[0].detail;
  // Untrained below the minimum: no value, and the trace says why.
  options.bayes_min_spam = 1000;
  MessageFacts untrained(resolver_, spam, e, options);
  const vm::Verdict none = evaluator.evaluate(spam, e, &untrained);
  EXPECT_EQ(none.action, vm::Action::Deliver);
  EXPECT_NE(none.facts[0].detail.find("not trained enough: 3 spam and 3 ham learnt"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Stores, StateFacts, state::kAllKinds, state::kind_name);

// ---- A store that cannot answer ----------------------------------------------------

vm::Verdict judge_with_dead_store(bool tempfail) {
  vm::interpreter_test::Policy policy(kPolicy);
  FactOptions options;
  options.store =
      state::open_store({.address = "redis://127.0.0.1:1", .timeout = std::chrono::milliseconds(100)});
  options.state_tempfail = tempfail;
  options.spamtraps = {"trap@widget.com"};
  dns::Resolver resolver{{.servers = {"127.0.0.1:1"}, .timeout_ms = 50, .tries = 1, .cache = nullptr}};
  const runtime::Message message = runtime::Message::parse(kMessage);
  const runtime::Envelope e = envelope("203.0.113.9", {"trap@widget.com"}, "jane");
  MessageFacts facts(resolver, message, e, options);
  vm::Evaluator evaluator(policy.program());
  evaluator.set_trace(true);
  vm::Verdict v = evaluator.evaluate(message, e, &facts);
  EXPECT_NE(facts.learn(v.action, false).find("reputation not recorded: redis://127.0.0.1:1/0"),
            std::string::npos);
  return v;
}

TEST(StateFactsDown, ADeadStoreGivesNoValueByDefault) {
  const auto started = std::chrono::steady_clock::now();
  const vm::Verdict v = judge_with_dead_store(false);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
  EXPECT_EQ(v.action, vm::Action::Deliver);
  bool noted = false;
  for (const auto& f : v.facts) {
    if (f.name == "reputation(client.effective_ip)") {
      EXPECT_EQ(f.value, "");
      EXPECT_NE(f.detail.find("state store: redis://127.0.0.1:1/0"), std::string::npos) << f.detail;
      noted = true;
    }
  }
  EXPECT_TRUE(noted);
}

TEST(StateFactsDown, WithStateOnErrorTempfailTheMessageIsDeferred) {
  const vm::Verdict v = judge_with_dead_store(true);
  EXPECT_EQ(v.action, vm::Action::Tempfail);
  EXPECT_EQ(v.fact, "reputation(client.effective_ip)");
}

}  // namespace
}  // namespace mp::auth
