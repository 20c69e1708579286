// Bayes auto-learning (bayes.auto_learn): after the verdict a message scored clearly
// by the rest of the policy is learnt — spam at or above bayes.auto_learn.spam, ham at
// or below bayes.auto_learn.ham when passed on — judged by the score without the rules
// that read `bayes`, so that Bayes never confirms itself; off by default.
#include <gtest/gtest.h>

#include "auth/facts.h"
#include "bayes/bayes.h"
#include "tests/state/store_fixture.h"
#include "tests/vm/interpreter_test_util.h"

namespace mp::auth {
namespace {

const char* kPolicy = R"(settings {
  bayes.auto_learn = on
  bayes.auto_learn.spam = 10
  bayes.auto_learn.ham = 0.5
}
stage spam_engine {
  rule pills: if subject contains "pills" then score +12 "pills"
  rule hint: if subject contains "maybe" then score +3 "maybe"
  rule bayes_says: if bayes >= 0 or subject contains "bayes" then score +20 "bayes"
}
)";

class AutoLearn : public state::StoreFixture {
 protected:
  vm::Verdict judge(vm::interpreter_test::Policy& policy, const std::string& subject, int id) {
    const vm::Settings& s = policy.program()->image().settings;
    FactOptions options;
    options.store = std::shared_ptr<state::Store>(store_.get(), [](state::Store*) {});
    options.clock = clock_.clock();
    options.auto_learn = s.bayes_auto_learn;
    options.auto_learn_spam = s.auto_learn_spam;
    options.auto_learn_ham = s.auto_learn_ham;
    runtime::Envelope e;
    e.sender = "a@example.org";
    const runtime::Message message = runtime::Message::parse(
        "From: a@example.org\nMessage-ID: <" + std::to_string(id) + "@example.org>\nSubject: " + subject +
        "\n\nsome words of the body " + subject + "\n");
    MessageFacts facts(resolver_, message, e, options);
    vm::Evaluator evaluator(policy.program());
    vm::Verdict v = evaluator.evaluate(message, e, &facts);
    EXPECT_EQ(facts.learn(v), "");
    return v;
  }
  bayes::Counts totals() { return bayes::Classifier(*store_).totals(); }
  dns::Resolver resolver_{{.servers = {"127.0.0.1:1"}, .timeout_ms = 50, .tries = 1, .cache = nullptr}};
};

TEST_P(AutoLearn, ClearSpamAndClearHamAreLearntByTheScoreWithoutBayes) {
  vm::interpreter_test::Policy policy(kPolicy);
  const vm::Verdict spam = judge(policy, "cheap pills", 1);
  EXPECT_EQ(spam.score_without_bayes, 12);
  ASSERT_EQ(spam.logs.size(), 1u);
  EXPECT_EQ(spam.logs[0], "bayes: auto-learnt as spam (score 12 without Bayes): trained");
  EXPECT_EQ(totals().spam, 1);
  // 20 from the rule that reads bayes does not count: in between, not learnt.
  EXPECT_TRUE(judge(policy, "bayes maybe", 2).logs.empty());
  // Nothing but the Bayes rule: ham by the score without it (the message is quarantined
  // by its whole score, so not passed on: not learnt).
  EXPECT_TRUE(judge(policy, "hello bayes", 3).logs.empty());
  EXPECT_EQ(totals().spam, 1);
  EXPECT_EQ(totals().ham, 0);
  // Delivered with nothing against it: learnt as ham.
  const vm::Verdict ham = judge(policy, "lunch on friday", 4);
  ASSERT_EQ(ham.logs.size(), 1u);
  EXPECT_EQ(ham.logs[0], "bayes: auto-learnt as ham (score 0 without Bayes): trained");
  EXPECT_EQ(totals().ham, 1);
}

TEST_P(AutoLearn, OffByDefault) {
  std::string text = kPolicy;
  text.replace(text.find("  bayes.auto_learn = on\n"), 24, "");
  vm::interpreter_test::Policy policy(text);
  EXPECT_FALSE(policy.program()->image().settings.bayes_auto_learn);
  EXPECT_TRUE(judge(policy, "cheap pills", 1).logs.empty());
  EXPECT_EQ(totals().spam, 0);
}

INSTANTIATE_TEST_SUITE_P(Stores, AutoLearn, testing::Values(state::Kind::Lmdb), state::kind_name);

}  // namespace
}  // namespace mp::auth
