// VM semantics, end to end through the public API: policy text → compile_source →
// write_image → Program::load → Evaluator::evaluate on messages written out in the
// test (Message::parse on literal RFC 5322 text) and hand-made envelopes (see also
// interpreter_matching_test.cpp and interpreter_evidence_test.cpp). Covers
// stage/rule order and terminal actions, score thresholds, direction and rule
// scopes, and quantifiers over attachments/urls/recipients/address headers.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "runtime/message.h"
#include "tests/vm/interpreter_test_util.h"
#include "vm/vm.h"

namespace mp::vm {
namespace {

using namespace interpreter_test;
using runtime::Envelope;

// ---- Order and actions -------------------------------------------------------------

TEST(VmOrder, StagesRunInOrderAndRulesInOrder) {
  Policy p(
      "stage spam_engine { rule e1: if size > 0 then tag \"e1\" }\n"
      "stage second { rule s1: if size > 0 then tag \"s1\"\n rule s2: if size > 0 then tag \"s2\" }\n"
      "stage first { rule f1: if size > 0 then tag \"f1\" }\n"
      "stage second { rule s3: if size > 0 then tag \"s3\" }\n"
      "if size > 0 then tag \"bare\"\n"
      "stage attachment_defense { rule a1: if size > 0 then tag \"a1\" }\n");
  Verdict v = p.run(simple("hi"));
  // Pipeline stages at their place (attachment_defense, custom_filters, spam_engine);
  // other stages after custom_filters in order of first appearance, a later block
  // appending to its stage; rules in the order written.
  EXPECT_EQ(fired_names(v), (std::vector<std::string>{"a1", "line_6", "s1", "s2", "s3", "f1", "e1"}));
  EXPECT_EQ(v.tags, (std::vector<std::string>{"a1", "bare", "s1", "s2", "s3", "f1", "e1"}));
  ASSERT_EQ(v.fired.size(), 7u);
  EXPECT_EQ(v.fired[0].stage, "attachment_defense");
  EXPECT_EQ(v.fired[1].stage, "custom_filters");
  EXPECT_EQ(v.fired[4].stage, "second");
  EXPECT_EQ(v.fired[5].stage, "first");
  EXPECT_EQ(v.fired[6].stage, "spam_engine");
  EXPECT_EQ(v.action, Action::Deliver);
  EXPECT_FALSE(v.rule.has_value());
}

TEST(VmOrder, FirstTerminalWinsAfterEarlierActionsAccumulate) {
  Policy p(
      "stage s {\n"
      "  rule score1: if size > 0 then score +1.5 \"one\"\n"
      "  rule miss: if subject contains \"absent\" then reject\n"
      "  rule marks: if size > 0 then tag \"[T]\", add header X-Checked \"yes\", remove header X-Spam, "
      "log \"seen\"\n"
      "  rule decide: if subject contains \"hi\" then tag \"own\", quarantine \"held\"\n"
      "  rule later: if size > 0 then reject \"550 too late\"\n"
      "}\n"
      "stage t { rule never: if size > 0 then score +100 }\n");
  Verdict v = p.run(simple("hi there"));
  EXPECT_EQ(v.action, Action::Quarantine);
  EXPECT_EQ(v.text, "held");
  ASSERT_TRUE(v.rule.has_value());
  EXPECT_EQ(*v.rule, 3u);
  EXPECT_EQ(v.rule_name, "decide");
  EXPECT_EQ(v.stage_name, "s");
  EXPECT_EQ(v.location, "test.mp:5:3");
  EXPECT_EQ(fired_names(v), (std::vector<std::string>{"score1", "marks", "decide"}));
  EXPECT_EQ(v.score, 1.5);
  ASSERT_EQ(v.contributions.size(), 1u);
  EXPECT_EQ(v.contributions[0].rule, "score1");
  EXPECT_EQ(v.contributions[0].stage, "s");
  EXPECT_EQ(v.contributions[0].delta, 1.5);
  EXPECT_EQ(v.contributions[0].reason, "one");
  // The deciding rule's own non-terminal actions apply too.
  EXPECT_EQ(v.tags, (std::vector<std::string>{"[T]", "own"}));
  ASSERT_EQ(v.added_headers.size(), 1u);
  EXPECT_EQ(v.added_headers[0], (std::pair<std::string, std::string>{"X-Checked", "yes"}));
  EXPECT_EQ(v.removed_headers, std::vector<std::string>{"X-Spam"});
  EXPECT_EQ(v.logs, std::vector<std::string>{"seen"});
}

TEST(VmOrder, NonTerminalActionsWrittenAfterTheTerminalStillApply) {
  Policy p("if size > 0 then allow, tag \"after\", score +2\n");
  Verdict v = p.run(simple("x"));
  EXPECT_EQ(v.action, Action::Allow);
  EXPECT_EQ(v.tags, std::vector<std::string>{"after"});
  EXPECT_EQ(v.score, 2);
}

// An allow before antivirus and attachment defense are through does not skip them.
const char* kAllowPolicy =
    "stage reputation {\n"
    "  rule trusted_partner: if sender.domain is partner.example then allow\n"
    "  rule after_allow: if size > 0 then tag \"reputation-after\"\n"
    "}\n"
    "stage antivirus {\n"
    "  rule own_allow: if subject contains \"own\" then allow\n"
    "  rule eicar_like: if body contains \"VIRUS-SIGNATURE\" then reject \"554 5.7.1 infected\"\n"
    "}\n"
    "stage attachment_defense {\n"
    "  rule exe: if attachments.extension is \"exe\" then quarantine \"executable\", tag \"exe\"\n"
    "  rule note: if size > 0 then tag \"attachments checked\"\n"
    "}\n"
    "stage custom_filters { rule later: if size > 0 then reject }\n";

TEST(VmAllow, AnEarlyAllowStillRunsAntivirusAndAttachmentDefense) {
  Policy p(kAllowPolicy);
  Envelope partner = envelope("a@partner.example");
  Verdict infected = p.run(simple("hello", "VIRUS-SIGNATURE inside\r\n"), partner);
  EXPECT_EQ(infected.action, Action::Reject);
  EXPECT_EQ(infected.rule_name, "eicar_like");
  EXPECT_EQ(infected.text, "554 5.7.1 infected");
  Verdict exe = p.run(with_attachments({{"setup.exe", "MZ"}}), partner);
  EXPECT_EQ(exe.action, Action::Quarantine);
  EXPECT_EQ(exe.rule_name, "exe");
  // Clean: the allow stands, named by its rule; the mandatory rules ran (their tags),
  // the other rules after it did not (reputation's own later rule, custom_filters).
  Verdict clean = p.run(simple("hello"), partner);
  EXPECT_EQ(clean.action, Action::Allow);
  EXPECT_EQ(clean.stage_name, "reputation");
  EXPECT_EQ(clean.rule_name, "trusted_partner");
  EXPECT_EQ(clean.tags, std::vector<std::string>{"attachments checked"});
  EXPECT_EQ(clean.rules_not_reached, 1u);
}

TEST(VmAllow, AnAllowInsideTheMandatoryStagesWaitsForTheirLaterRules) {
  Policy p(kAllowPolicy);
  Verdict v = p.run(simple("own goal", "VIRUS-SIGNATURE\r\n"));
  EXPECT_EQ(v.action, Action::Reject);
  EXPECT_EQ(v.rule_name, "eicar_like");
  Verdict clean = p.run(simple("own goal"));
  EXPECT_EQ(clean.action, Action::Allow);
  EXPECT_EQ(clean.rule_name, "own_allow");
}

TEST(VmAllow, TheTraceSaysWhichRulesTheAllowSkipped) {
  Policy p(kAllowPolicy);
  p.evaluator().set_trace(true);
  Verdict v = p.run(simple("hello"), envelope("a@partner.example"));
  ASSERT_EQ(v.action, Action::Allow);
  std::vector<std::pair<std::string, std::string>> outcomes;
  for (const auto& r : v.trace) outcomes.emplace_back(r.name, std::string(outcome_name(r.outcome)));
  EXPECT_EQ(outcomes, (std::vector<std::pair<std::string, std::string>>{{"trusted_partner", "fired"},
                                                                        {"after_allow", "skipped (allowed)"},
                                                                        {"own_allow", "false (prefilter)"},
                                                                        {"eicar_like", "false (prefilter)"},
                                                                        {"exe", "false (prefilter)"},
                                                                        {"note", "fired"}}));
  EXPECT_EQ(v.trace[1].note, "allowed by reputation.trusted_partner");
}

TEST(VmAllow, AnAllowAfterTheMandatoryStagesEndsEvaluationAtOnce) {
  Policy p(
      "stage attachment_defense { rule a: if size > 0 then tag \"a\" }\n"
      "if size > 0 then allow\nif size > 0 then reject\n");
  Verdict v = p.run(simple("x"));
  EXPECT_EQ(v.action, Action::Allow);
  EXPECT_EQ(v.rules_not_reached, 1u);
}

TEST(VmOrder, EveryTerminalAction) {
  struct Case {
    std::string action;
    Action expected;
    std::string text;
  };
  for (const auto& tc : std::vector<Case>{{"allow", Action::Allow, ""},
                                          {"reject", Action::Reject, ""},
                                          {"reject \"554 5.7.1 No\"", Action::Reject, "554 5.7.1 No"},
                                          {"quarantine \"why\"", Action::Quarantine, "why"},
                                          {"discard", Action::Discard, ""},
                                          {"tempfail \"451 later\"", Action::Tempfail, "451 later"}}) {
    Policy p("if subject contains \"x\" then " + tc.action + "\n");
    Verdict v = p.run(simple("x"));
    EXPECT_EQ(v.action, tc.expected) << tc.action;
    if (!tc.text.empty()) {
      EXPECT_EQ(v.text, tc.text) << tc.action;
    } else if (tc.expected == Action::Reject) {
      EXPECT_TRUE(v.text.empty() || v.text.starts_with("5")) << v.text;  // a default 5xx reply
    }
    EXPECT_EQ(v.rule_name, "line_1");
    Verdict none = p.run(simple("y"));
    EXPECT_EQ(none.action, Action::Deliver) << tc.action;
    EXPECT_TRUE(none.fired.empty());
  }
}

TEST(VmScore, ThresholdsDecideWithoutATerminal) {
  Policy p(
      "stage s {\n"
      "  rule a: if subject contains \"a\" then score +2.5\n"
      "  rule b: if subject contains \"b\" then score +2.5\n"
      "  rule c: if subject contains \"c\" then score +10\n"
      "  rule d: if subject contains \"d\" then score -3\n"
      "}\n");
  struct Case {
    std::string subject;
    double score;
    Action action;
  };
  for (const auto& tc : std::vector<Case>{{"a", 2.5, Action::Deliver},
                                          {"ab", 5, Action::Quarantine},  // the threshold itself
                                          {"abd", 2, Action::Deliver},
                                          {"ac", 12.5, Action::Quarantine},
                                          {"abc", 15, Action::Reject},
                                          {"abcd", 12, Action::Quarantine},
                                          {"zzz", 0, Action::Deliver},
                                          {"d", -3, Action::Deliver}}) {
    Verdict v = p.run(simple(tc.subject));
    EXPECT_EQ(v.score, tc.score) << tc.subject;
    EXPECT_EQ(v.action, tc.action) << tc.subject;
    EXPECT_FALSE(v.rule.has_value()) << tc.subject;
    EXPECT_TRUE(v.rule_name.empty()) << tc.subject;
    if (tc.action != Action::Deliver) {
      EXPECT_FALSE(v.text.empty());
    }
  }
}

TEST(VmScore, ThresholdsFromSettings) {
  Policy p(
      "settings { spam.threshold.quarantine = 1 spam.threshold.reject = 3 }\n"
      "if subject contains \"a\" then score +1\n"
      "if subject contains \"b\" then score +2\n");
  EXPECT_EQ(p.run(simple("zz")).action, Action::Deliver);
  EXPECT_EQ(p.run(simple("a")).action, Action::Quarantine);
  EXPECT_EQ(p.run(simple("b")).action, Action::Quarantine);
  EXPECT_EQ(p.run(simple("ab")).action, Action::Reject);
}

TEST(VmScore, ATerminalRuleOverridesTheScore) {
  Policy p("if size > 0 then score +50\nif size > 0 then allow\n");
  Verdict v = p.run(simple("x"));
  EXPECT_EQ(v.action, Action::Allow);
  EXPECT_EQ(v.score, 50);
}

// ---- Direction ------------------------------------------------------------------

constexpr const char* kScopedPolicy =
    "settings {\n"
    "  org.domains = [widget.com, widget.ca]\n"
    "  org.sending_servers = [203.0.113.0/24, 2001:db8:1::/48]\n"
    "}\n"
    "stage s {\n"
    "  rule r_in (inbound): if size > 0 then tag \"in\"\n"
    "  rule r_out (outbound): if size > 0 then tag \"out\"\n"
    "  rule r_int (internal): if size > 0 then tag \"int\"\n"
    "  rule not_in (outbound, internal): if size > 0 then tag \"oi\"\n"
    "  rule every: if size > 0 then tag \"all\"\n"
    "}\n";

TEST(VmDirection, FromOrgDomainsServersAndRecipients) {
  Policy p(kScopedPolicy);
  struct Case {
    Envelope env;
    Direction direction;
    std::vector<std::string> tags;
  };
  const std::vector<Case> cases = {
      {envelope("x@example.org", {"bob@widget.com"}, "192.0.2.1"), Direction::Inbound, {"in", "all"}},
      {envelope("ceo@widget.com", {"partner@example.org"}, "203.0.113.5"), Direction::Outbound,
       {"out", "oi", "all"}},
      {envelope("ceo@widget.com", {"a@widget.com", "b@WIDGET.CA"}, "203.0.113.5"), Direction::Internal,
       {"int", "oi", "all"}},
      {envelope("ceo@widget.com", {"a@widget.com", "partner@example.org"}, "203.0.113.5"), Direction::Outbound,
       {"out", "oi", "all"}},
      // Our domain from a server that is not ours: a spoof, so inbound.
      {envelope("ceo@widget.com", {"partner@example.org"}, "192.0.2.1"), Direction::Inbound, {"in", "all"}},
      {envelope("ceo@widget.com", {"partner@example.org"}), Direction::Inbound, {"in", "all"}},
      // Folded: the sender's domain is compared case-insensitively.
      {envelope("CEO@Widget.COM", {"partner@example.org"}, "203.0.113.5"), Direction::Outbound,
       {"out", "oi", "all"}},
      {envelope("ceo@widget.com", {"partner@example.org"}, "2001:db8:1::25"), Direction::Outbound,
       {"out", "oi", "all"}},
      {envelope("", {"bob@widget.com"}, "203.0.113.5"), Direction::Inbound, {"in", "all"}},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    Verdict v = p.run(simple("hi"), cases[i].env);
    EXPECT_EQ(v.direction, cases[i].direction) << "case " << i;
    EXPECT_EQ(v.tags, cases[i].tags) << "case " << i;
  }
}

TEST(VmDirection, ScopedRulesDecide) {
  Policy p(
      "settings { org.domains = [widget.com] org.sending_servers = [203.0.113.0/24] }\n"
      "stage s {\n"
      "  rule outbound_only (outbound): if body contains \"Cogito Ergo Sum\" then allow\n"
      "  rule everyone: if body contains \"Cogito\" then quarantine\n"
      "}\n");
  std::string mail = simple("x", "Cogito Ergo Sum (I think, therefore I am)\r\n");
  Verdict out = p.run(mail, envelope("me@widget.com", {"you@example.org"}, "203.0.113.9"));
  EXPECT_EQ(out.action, Action::Allow);
  EXPECT_EQ(out.rule_name, "outbound_only");
  Verdict in = p.run(mail, envelope("me@example.org", {"you@widget.com"}, "192.0.2.9"));
  EXPECT_EQ(in.action, Action::Quarantine);
  EXPECT_EQ(in.rule_name, "everyone");
}

// ---- Quantifiers -------------------------------------------------------------------

TEST(VmQuantifiers, AttachmentsAnyAllCount) {
  Policy p(
      "stage s {\n"
      "  rule any_pdf: if any attachment (extension is \"pdf\") then tag \"any_pdf\"\n"
      "  rule all_pdf: if all attachments (extension is \"pdf\") then tag \"all_pdf\"\n"
      "  rule two_pdf: if count(attachments (extension is \"pdf\")) == 2 then tag \"two_pdf\"\n"
      "  rule none: if count(attachments) == 0 then tag \"none\"\n"
      "  rule many: if count(attachments) >= 3 then tag \"many\"\n"
      "  rule same_item: if any attachment (name starts with \"a\" and extension is \"exe\") then tag \"same\"\n"
      "  rule any_items: if attachments.name starts with \"a\" and attachments.extension is \"exe\" then tag "
      "\"split\"\n"
      "  rule not_all: if not all attachments (extension is \"pdf\") then tag \"not_all\"\n"
      "}\n");
  Verdict mixed = p.run(with_attachments({{"a.pdf", "PDF"}, {"b.exe", "MZ"}}));
  EXPECT_EQ(mixed.tags, (std::vector<std::string>{"any_pdf", "split", "not_all"}));
  Verdict pdfs = p.run(with_attachments({{"a.pdf", "1"}, {"c.PDF", "2"}}));
  EXPECT_EQ(pdfs.tags, (std::vector<std::string>{"any_pdf", "all_pdf", "two_pdf"}));
  Verdict three = p.run(with_attachments({{"a.exe", "1"}, {"b.pdf", "2"}, {"c.txt", "3"}}));
  EXPECT_EQ(three.tags, (std::vector<std::string>{"any_pdf", "many", "same", "split", "not_all"}));
  // `all` over no items is true, `any` over no items false.
  Verdict bare = p.run(simple("no files"));
  EXPECT_EQ(bare.tags, (std::vector<std::string>{"all_pdf", "none"}));
}

// Windows runs INVOICE.EXE as it runs invoice.exe: a file name compares without case
// for every operator, as its extension does, or one capital letter gets past a rule.
TEST(VmQuantifiers, FileNamesCompareWithoutCase) {
  Policy p(
      "stage s {\n"
      "  rule suffix: if attachments.name ends with \".exe\" then tag \"ends\"\n"
      "  rule whole: if attachments.name is \"Invoice.exe\" then tag \"is\"\n"
      "  rule listed: if attachments.name in [\"INVOICE.Exe\", \"other.pdf\"] then tag \"in\"\n"
      "  rule re: if attachments.name matches /^invoice\\.exe$/ then tag \"re\"\n"
      "  rule prefix: if attachments.name starts with \"INV\" then tag \"starts\"\n"
      "}\n");
  const std::vector<std::string> all{"ends", "is", "in", "re", "starts"};
  EXPECT_EQ(p.run(with_attachments({{"INVOICE.EXE", "MZ"}})).tags, all);
  EXPECT_EQ(p.run(with_attachments({{"invoice.exe", "MZ"}})).tags, all);
  EXPECT_EQ(p.run(with_attachments({{"InVoIcE.eXe", "MZ"}})).tags, all);
  EXPECT_TRUE(p.run(with_attachments({{"report.pdf", "%PDF"}})).tags.empty());
}

TEST(VmQuantifiers, ConstantBodiesStillLookAtTheCollection) {
  Policy p(
      "stage s {\n"
      "  rule a: if any attachment (true) then tag \"any_true\"\n"
      "  rule b: if all urls (false) then tag \"all_false\"\n"
      "  rule c: if any urls (true) then tag \"any_urls\"\n"
      "  rule d: if all attachments (true) then tag \"all_true\"\n"
      "  rule e: if any attachment (false) then tag \"any_false\"\n"
      "}\n");
  EXPECT_EQ(p.run(simple("none", "no links here\r\n")).tags,
            (std::vector<std::string>{"all_false", "all_true"}));
  EXPECT_EQ(p.run(with_attachments({{"a.txt", "x"}}, "see http://example.com/x\r\n")).tags,
            (std::vector<std::string>{"any_true", "any_urls", "all_true"}));
}

TEST(VmQuantifiers, EmptyTextIsInEveryValueOfAFieldThatHasOne) {
  Policy p(
      "stage s {\n"
      "  rule subj: if subject contains \"\" then tag \"subject\"\n"
      "  rule none: if header \"X-None\" contains \"\" then tag \"x-none\"\n"
      "  rule empty: if header \"X-Empty\" starts with \"\" then tag \"x-empty\"\n"
      "  rule names: if attachments.name contains \"\" then tag \"names\"\n"
      "  rule any_name: if any attachment (name ends with \"\") then tag \"any_name\"\n"
      "  rule not_body: if not body contains \"\" then tag \"not_body\"\n"
      "}\n");
  EXPECT_EQ(p.run(simple("s", "b\r\n", "X-Empty:\r\n")).tags, (std::vector<std::string>{"subject", "x-empty"}));
  EXPECT_EQ(p.run("X-Other: 1\r\n\r\n").tags, (std::vector<std::string>{"subject"}));  // no Subject: ""
  EXPECT_EQ(p.run(with_attachments({{"a.txt", "x"}})).tags, (std::vector<std::string>{"subject", "names", "any_name"}));
}

TEST(VmQuantifiers, Urls) {
  Policy p(
      "stage s {\n"
      "  rule any_top: if any url (domain ends with \".top\") then tag \"any_top\"\n"
      "  rule all_top: if all urls (domain ends with \".top\") then tag \"all_top\"\n"
      "  rule two: if count(urls) == 2 then tag \"two\"\n"
      "  rule cheap: if count(urls (domain ends with \".top\" or domain ends with \".xyz\")) >= 2 then tag "
      "\"cheap\"\n"
      "  rule in_list: if urls.domain in [good.example] then tag \"listed\"\n"
      "}\n");
  EXPECT_EQ(p.run(simple("x", "Pay at http://evil.top/pay or https://good.example/ok\r\n")).tags,
            (std::vector<std::string>{"any_top", "two", "listed"}));
  EXPECT_EQ(p.run(simple("x", "http://a.top/1 and http://B.XYZ/2\r\n")).tags,
            (std::vector<std::string>{"any_top", "two", "cheap"}));
  EXPECT_EQ(p.run(simple("x", "only http://a.top/1\r\n")).tags,
            (std::vector<std::string>{"any_top", "all_top"}));
  EXPECT_EQ(p.run(simple("x", "no links\r\n")).tags, (std::vector<std::string>{"all_top"}));
}

TEST(VmQuantifiers, Recipients) {
  Policy p(
      "stage s {\n"
      "  rule any_ours: if any recipient (domain is widget.com) then tag \"any\"\n"
      "  rule all_ours: if all recipients (domain is widget.com) then tag \"all\"\n"
      "  rule many: if count(recipients) >= 3 then tag \"many\"\n"
      "  rule bob: if recipients is bob@widget.com then tag \"bob\"\n"
      "}\n");
  EXPECT_EQ(p.run(simple("x"), envelope("s@example.org", {"bob@widget.com", "x@example.org", "y@Widget.com"})).tags,
            (std::vector<std::string>{"any", "many", "bob"}));
  EXPECT_EQ(p.run(simple("x"), envelope("s@example.org", {"BOB@WIDGET.COM", "y@widget.com"})).tags,
            (std::vector<std::string>{"any", "all", "bob"}));
  EXPECT_EQ(p.run(simple("x"), envelope("s@example.org", {})).tags, (std::vector<std::string>{"all"}));
}

TEST(VmQuantifiers, AddressHeaders) {
  Policy p(
      "stage s {\n"
      "  rule ceo: if any from (display_name contains \"CEO\" and domain is not widget.com) then tag \"spoof\"\n"
      "  rule cc: if any cc (domain is partner.example) then tag \"cc\"\n"
      "  rule to: if count(to) == 2 then tag \"two_to\"\n"
      "}\n");
  std::string m =
      "From: \"The CEO\" <ceo@evil.example>\r\n"
      "To: a@widget.com, b@widget.com\r\n"
      "Cc: Someone <s@Partner.Example>\r\n"
      "Reply-To: x@elsewhere.example\r\n"
      "Subject: urgent\r\n\r\nbody\r\n";
  Verdict v = p.run(m);
  EXPECT_EQ(v.tags, (std::vector<std::string>{"spoof", "cc", "two_to"}));
}

}  // namespace
}  // namespace mp::vm
