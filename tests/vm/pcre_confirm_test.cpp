// Regexes Hyperscan refuses, run through the image and the VM: Hyperscan's prefilter
// finds candidates and PCRE2 confirms them (a candidate PCRE2 rejects does not match),
// a regex Hyperscan cannot prefilter runs in PCRE2 alone, header filters and items
// hold for both, PCRE2 reports where the match starts, and a catastrophic pattern
// gives up instead of holding the message.
#include <gtest/gtest.h>

#include <chrono>

#include "tests/vm/interpreter_test_util.h"

namespace mp::vm {
namespace {

using interpreter_test::Policy;

std::string message(const std::string& headers, const std::string& body) {
  return "From: a@b.example\nTo: c@d.example\n" + headers + "\n" + body + "\n";
}

TEST(PcreConfirm, APrefilterCandidateIsConfirmedOrRejectedByPcre2) {
  Policy p(
      "stage s {\n  rule unpaid: if subject matches /invoice(?! paid)/i then quarantine \"unpaid\"\n}\n");
  EXPECT_TRUE(p.fires("unpaid", message("Subject: Invoice 42\n", "x")));
  // Hyperscan's prefilter reports "Invoice paid" (it drops the look-ahead); PCRE2 does not.
  EXPECT_FALSE(p.fires("unpaid", message("Subject: Invoice paid\n", "x")));
}

TEST(PcreConfirm, BackReferencesPerHeaderFieldWithTheFilterHeld) {
  Policy p(
      "stage s {\n  rule doubled: if header \"X-Id\" matches /^(\\w+)-\\1$/ then quarantine "
      "\"doubled\"\n}\n");
  const Verdict v = p.run(message("X-Id: ab-cd\nX-Other: zz-zz\nX-Id: xy-xy\n", "x"));
  ASSERT_EQ(v.action, Action::Quarantine);
  ASSERT_FALSE(v.fired.empty());
  ASSERT_FALSE(v.fired[0].evidence.empty());
  const Evidence& e = v.fired[0].evidence[0];
  EXPECT_EQ(e.offset, 0);
  EXPECT_EQ(e.end, 5);
  EXPECT_NE(e.item_name.find("X-Id"), std::string::npos) << e.item_name;
  EXPECT_FALSE(p.fires("doubled", message("X-Id: ab-cd\nX-Other: zz-zz\n", "x")));
}

TEST(PcreConfirm, ARegexOnlyPcre2CanRunMatchesWithItsOffsets) {
  // An anchor inside the pattern: Hyperscan refuses it, even as a prefilter, and no
  // text is in every match.
  Policy p(
      "stage s {\n  rule split: if rawbody matches /[a-z]+\\n^[a-z]{3}/m then quarantine \"split\"\n}\n");
  ASSERT_EQ(p.program()->image().patterns[0].engine, Engine::Pcre2);
  const Verdict v = p.run(message("Subject: x\n", "please pay\nthe bill"));
  ASSERT_EQ(v.action, Action::Quarantine);
  ASSERT_FALSE(v.fired.empty());
  EXPECT_EQ(v.fired[0].evidence[0].offset, 7);
  EXPECT_EQ(v.fired[0].evidence[0].end, 14);
  EXPECT_FALSE(p.fires("split", message("Subject: x\n", "please pay the bill")));
}

TEST(PcreConfirm, RequiredTextPrefiltersWhatHyperscanCannot) {
  // Hyperscan refuses the embedded anchor even as a prefilter; every match contains
  // "pay\nthe", which Hyperscan finds, and PCRE2 confirms those values only.
  Policy p("stage s {\n  rule split: if rawbody matches /pay\\n^the/m then quarantine \"split\"\n}\n");
  const PatternInfo& info = p.program()->image().patterns[0];
  ASSERT_EQ(info.engine, Engine::Prefilter);
  EXPECT_EQ(info.prefilter, "(?:pay\\x0athe)");
  const Verdict v = p.run(message("Subject: x\n", "please pay\nthe bill"));
  ASSERT_EQ(v.action, Action::Quarantine);
  EXPECT_EQ(v.fired[0].evidence[0].offset, 7);
  EXPECT_EQ(v.fired[0].evidence[0].end, 14);
  EXPECT_FALSE(p.fires("split", message("Subject: x\n", "please pay the bill")));
}

TEST(PcreConfirm, CostlyRepeatsArePrefilteredByTheirRequiredText) {
  // Nine bounded repeats adding up to 200+: Hyperscan would take seconds, so PCRE2
  // decides, behind its required literal ("invoice", caseless); PCRE2 still says no
  // where the literal occurs without a match.
  std::string gaps;
  for (int i = 0; i < 5; ++i) gaps += "\\s{0,30}\\d{0,30}";
  Policy p("stage s {\n  rule r: if body matches /Invoice" + gaps +
           "(?!paid)[a-z]{3}/i then quarantine \"r\"\n}\n");
  const PatternInfo& info = p.program()->image().patterns[0];
  ASSERT_EQ(info.engine, Engine::Prefilter);
  EXPECT_EQ(info.prefilter, "(?i)(?:invoice)");
  EXPECT_TRUE(p.fires("r", message("Subject: x\n", "INVOICE 12 34 due")));
  EXPECT_FALSE(p.fires("r", message("Subject: x\n", "invoice 12 paid")));
  EXPECT_FALSE(p.fires("r", message("Subject: x\n", "receipt 12 due")));
}

TEST(PcreConfirm, ARegexOnlyHyperscanReadsStaysWithHyperscan) {
  // PCRE2 refuses the range `\w-.` that Hyperscan (and Perl) read as three members, so
  // its required text cannot send it to PCRE2: found by a user, as a crash at run.
  Policy p("stage s {\n  rule r: if body matches /ab[\\w-.]defg/ then quarantine \"r\"\n}\n");
  ASSERT_EQ(p.program()->image().patterns[0].engine, Engine::Hyperscan);
  EXPECT_TRUE(p.fires("r", message("Subject: x\n", "see ab.defg now")));
  EXPECT_FALSE(p.fires("r", message("Subject: x\n", "see ab defg now")));
}

TEST(PcreConfirm, PerlFormsSpamAssassinRulesUse) {
  Policy p(
      "stage s {\n"
      "  rule inline_i: if subject matches /(?i)invoice/ then score +1 \"a\"\n"
      "  rule quoted: if subject matches /\\Q$5.00\\E/ then score +1 \"b\"\n"
      "  rule spaced: if subject matches / in voice \\s for # free spacing/xi then score +1 \"c\"\n"
      "  rule atomic: if subject matches /(?>in|inv)oice/i then score +1 \"d\"\n"
      "  rule possessive: if subject matches /\\d++\\.\\d{2}/ then score +1 \"e\"\n"
      "}\n");
  const Verdict v = p.run(message("Subject: INVOICE for $5.00\n", "x"));
  std::vector<std::string> fired;
  for (const auto& f : v.fired) fired.push_back(f.name);
  // The atomic group keeps "in" and then fails on "voice", as in Perl.
  EXPECT_EQ(fired, (std::vector<std::string>{"inline_i", "quoted", "spaced", "possessive"}));
}

TEST(PcreConfirm, TheTraceNamesTheEngine) {
  Policy p(
      "stage s {\n  rule unpaid: if subject matches /invoice(?! paid)/i then quarantine \"unpaid\"\n}\n");
  p.evaluator().set_trace(true);
  const Verdict v = p.run(message("Subject: Invoice 42\n", "x"));
  std::string trace;
  for (const auto& rule : v.trace)
    for (const auto& test : rule.tests) trace += test.detail + "\n";
  EXPECT_NE(trace.find("(Hyperscan prefilter, confirmed by PCRE2)"), std::string::npos) << trace;
}

TEST(PcreConfirm, ACatastrophicPatternGivesUpInsteadOfHanging) {
  // Nested repeats that must fail at the `!`: exponential backtracking, cut off by
  // PCRE2's match limit. The embedded anchor keeps Hyperscan out: PCRE2 alone runs it.
  Policy p("stage s {\n  rule slow: if rawbody matches /^(a|aa)+$\\n^/m then quarantine \"slow\"\n}\n");
  ASSERT_EQ(p.program()->image().patterns[0].engine, Engine::Pcre2);
  const auto start = std::chrono::steady_clock::now();
  p.evaluator().set_trace(true);
  const Verdict v = p.run(message("Subject: x\n", std::string(60, 'a') + "!\nmore"));
  EXPECT_EQ(v.action, Action::Deliver);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  ASSERT_FALSE(v.trace.empty());
  // The pattern is the rule's guard: the rule is skipped, and its note says why.
  EXPECT_NE(v.trace[0].note.find("PCRE2 gave up"), std::string::npos) << v.trace[0].note;
}

TEST(PcreConfirm, AMessageOfManyHostileValuesSpendsOnlyItsPcre2Budget) {
  // Each header makes PCRE2 backtrack to its limit (about 1.6 ms); two thousand of
  // them would cost seconds. The message's PCRE2 time (regex.budget_ms, 250 by default)
  // stops the confirmations instead, and the trace says so.
  Policy p("stage s {\n  rule slow: if header matches /(\\w+\\s?)+\\1z/ then tag \"slow\"\n}\n");
  std::string headers;
  for (int i = 0; i < 2000; ++i)
    headers += "X-H" + std::to_string(i) + ": ab ab ab ab ab ab ab ab ab ab ab ab ab ab ab c z\n";
  p.evaluator().set_trace(true);
  const auto start = std::chrono::steady_clock::now();
  const Verdict v = p.run(message(headers, "x"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  ASSERT_FALSE(v.trace.empty());
  EXPECT_NE(v.trace[0].note.find("PCRE2 gave up"), std::string::npos) << v.trace[0].note;
}

}  // namespace
}  // namespace mp::vm
