// Per-recipient verdicts: rules scoped to users and groups run once per recipient in
// their scope, narrower scopes first within a stage; what ran before the first scoped
// rule is shared; recipients with the same outcome share one RecipientVerdict.
#include <gtest/gtest.h>

#include "tests/vm/interpreter_test_util.h"

namespace mp::vm {
namespace {

using namespace interpreter_test;

const char* kPolicy = R"(settings {
  org.domains = [widget.com]
  org.groups = ["finance: alice@widget.com, bob@widget.com", "legal: law.widget.com"]
}
stage attachment_defense {
  rule exe: if attachments.extension in [exe] then reject "550 5.7.1 no executables"
}
stage custom_filters {
  rule everyone: if subject contains "invoice" then score +1 "invoice"
  rule finance (inbound, group finance): if subject contains "invoice" then quarantine "finance holds invoices"
  rule ceo (user ceo@widget.com): if subject contains "invoice" then reject "550 5.7.1 not for the CEO"
  rule legal (group legal): if subject contains "invoice" then tag "[Legal]"
}
)";

const char* kInvoice = "From: a@example.org\r\nSubject: invoice 42\r\n\r\nplease pay\r\n";

std::vector<std::string> names(const RecipientVerdict& r) {
  return r.recipients;
}

TEST(PerRecipient, EachRecipientGetsTheVerdictOfItsScope) {
  Policy p(kPolicy);
  const Verdict v =
      p.run(kInvoice, envelope("a@example.org", {"alice@widget.com", "carol@widget.com", "CEO@widget.com",
                                                 "bob@widget.com", "dave@law.widget.com"}));
  ASSERT_EQ(v.per_recipient.size(), 4u);
  EXPECT_EQ(names(v.per_recipient[0]), (std::vector<std::string>{"alice@widget.com", "bob@widget.com"}));
  EXPECT_EQ(v.per_recipient[0].verdict.action, Action::Quarantine);
  EXPECT_EQ(v.per_recipient[0].verdict.rule_name, "finance");
  EXPECT_EQ(names(v.per_recipient[1]), (std::vector<std::string>{"carol@widget.com"}));
  EXPECT_EQ(v.per_recipient[1].verdict.action, Action::Deliver);
  EXPECT_EQ(v.per_recipient[1].verdict.score, 1);
  EXPECT_EQ(names(v.per_recipient[2]), (std::vector<std::string>{"ceo@widget.com"}));
  EXPECT_EQ(v.per_recipient[2].verdict.action, Action::Reject);
  EXPECT_EQ(names(v.per_recipient[3]), (std::vector<std::string>{"dave@law.widget.com"}));
  EXPECT_EQ(v.per_recipient[3].verdict.tags, (std::vector<std::string>{"[Legal]"}));
  // The top level is the first recipient's.
  EXPECT_EQ(v.action, Action::Quarantine);
  EXPECT_EQ(v.rule_name, "finance");
}

TEST(PerRecipient, NarrowerScopesRunFirstWithinTheStage) {
  Policy p(kPolicy);
  const auto& rules = p.program()->image().rules;
  std::vector<std::string> order;
  for (const auto& r : rules) order.push_back(r.name);
  EXPECT_EQ(order, (std::vector<std::string>{"exe", "ceo", "finance", "legal", "everyone"}));
  // Scoped rules come first, so the CEO's reject wins before `everyone` scores.
  const Verdict v = p.run(kInvoice, envelope("a@example.org", {"ceo@widget.com"}));
  EXPECT_TRUE(v.per_recipient.empty());
  EXPECT_EQ(v.action, Action::Reject);
  EXPECT_EQ(v.score, 0);
}

TEST(PerRecipient, ADecisionBeforeTheFirstScopedRuleIsEveryones) {
  Policy p(kPolicy);
  const char* exe =
      "From: a@example.org\r\nSubject: invoice\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
      "--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; "
      "filename=x.exe\r\n\r\n"
      "MZ\r\n--b--\r\n";
  const Verdict v = p.run(exe, envelope("a@example.org", {"alice@widget.com", "carol@widget.com"}));
  EXPECT_TRUE(v.per_recipient.empty());
  EXPECT_EQ(v.action, Action::Reject);
  EXPECT_EQ(v.rule_name, "exe");
}

TEST(PerRecipient, SameOutcomesAreOneVerdict) {
  Policy p(kPolicy);
  const Verdict v = p.run(kInvoice, envelope("a@example.org", {"alice@widget.com", "bob@widget.com"}));
  EXPECT_TRUE(v.per_recipient.empty());
  EXPECT_EQ(v.action, Action::Quarantine);
  const Verdict plain =
      p.run("From: a@example.org\r\nSubject: hello\r\n\r\nhi\r\n",
            envelope("a@example.org", {"alice@widget.com", "carol@widget.com", "ceo@widget.com"}));
  EXPECT_TRUE(plain.per_recipient.empty());
  EXPECT_EQ(plain.action, Action::Deliver);
}

TEST(PerRecipient, WithoutRecipientsScopedRulesAreSkipped) {
  Policy p(kPolicy);
  p.evaluator().set_trace(true);
  const Verdict v = p.run(kInvoice, envelope("a@example.org"));
  EXPECT_EQ(v.action, Action::Deliver);
  EXPECT_EQ(v.score, 1);
  size_t skipped = 0;
  for (const auto& t : v.trace) skipped += t.outcome == RuleOutcome::SkippedScope;
  EXPECT_EQ(skipped, 3u);
}

TEST(PerRecipient, TheTraceOfEachOutcomeNamesItsRecipient) {
  Policy p(kPolicy);
  p.evaluator().set_trace(true);
  const Verdict v = p.run(kInvoice, envelope("a@example.org", {"alice@widget.com", "carol@widget.com"}));
  ASSERT_EQ(v.per_recipient.size(), 2u);
  const auto& carol = v.per_recipient[1].verdict.trace;
  const auto finance =
      std::find_if(carol.begin(), carol.end(), [](const auto& t) { return t.name == "finance"; });
  ASSERT_NE(finance, carol.end());
  EXPECT_EQ(finance->outcome, RuleOutcome::SkippedScope);
  EXPECT_EQ(finance->note, "not for carol@widget.com");
}

TEST(PerRecipient, APendingAllowCarriesIntoEachRecipient) {
  Policy p(R"(settings { org.groups = ["vip: boss@widget.com"] }
stage custom_filters {
  rule trusted: if sender is partner@example.org then allow
}
stage spam_engine {
  rule vip_strict (group vip): if subject contains "invoice" then quarantine "vip"
}
stage url_defense {
  rule vip_links (group vip): if body contains "please" then quarantine "links to the VIP held"
}
)");
  const Verdict v = p.run(kInvoice, envelope("partner@example.org", {"boss@widget.com", "carol@widget.com"}));
  // The allow skips spam_engine for every recipient, VIP or not; url_defense, which an
  // allow cannot skip, still runs its VIP rule.
  ASSERT_EQ(v.per_recipient.size(), 2u);
  EXPECT_EQ(v.per_recipient[0].verdict.action, Action::Quarantine);
  EXPECT_EQ(v.per_recipient[0].verdict.rule_name, "vip_links");
  EXPECT_EQ(v.per_recipient[1].verdict.action, Action::Allow);
  EXPECT_EQ(v.per_recipient[1].verdict.rule_name, "trusted");
}

}  // namespace
}  // namespace mp::vm
