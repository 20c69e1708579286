// The trace and the evidence tell the truth (issue 9, section 6): a negated test
// prints its own result and keeps its `not`; evidence for an item of a multi-valued
// field names the item.
#include "tests/vm/interpreter_test_util.h"

namespace mp::vm::interpreter_test {
namespace {

const TestTrace* traced(const Verdict& v, const std::string& rule, size_t test) {
  for (const auto& r : v.trace) {
    if (r.name == rule && test < r.tests.size()) return &r.tests[test];
  }
  return nullptr;
}

TEST(TraceTruth, NegatedTestsPrintTheirOwnResultAndKeepTheirNot) {
  Policy p(
      "if from.domain is not example.com and from.domain not in [a.example, b.example] "
      "and subject not contains \"hello\" then tag \"ext\"\n");
  p.evaluator().set_trace(true);
  const Verdict v = p.run("From: x@evil.example\r\nSubject: invoice\r\n\r\nb\r\n");
  ASSERT_EQ(v.tags, std::vector<std::string>{"ext"});
  ASSERT_EQ(v.trace.size(), 1u);
  const auto& tests = v.trace[0].tests;
  ASSERT_EQ(tests.size(), 3u);
  EXPECT_EQ(tests[0].test, "is not example.com");
  EXPECT_EQ(tests[1].test, "not in [a.example, b.example]");
  EXPECT_EQ(tests[2].test, "not contains \"hello\"");
  for (const auto& t : tests) EXPECT_TRUE(t.result) << t.test;
}

TEST(TraceTruth, NotOverAGroupLeavesItsTestsAsTheyWere) {
  Policy p("if not (subject contains \"a\" or subject contains \"b\") then tag \"neither\"\n");
  p.evaluator().set_trace(true);
  const Verdict v = p.run("From: x@evil.example\r\nSubject: zzz\r\n\r\nb\r\n");
  ASSERT_EQ(v.tags, std::vector<std::string>{"neither"});
  for (const auto& t : v.trace.at(0).tests) EXPECT_FALSE(t.result) << t.test;
}

TEST(TraceTruth, EvidenceNamesTheItem) {
  Policy p(
      "stage s {\n"
      "  rule html: if attachments.extension in [htm, html] then tag \"html\"\n"
      "  rule bulk: if header \"X-Mailer\" contains \"Bulk\" then tag \"bulk\"\n"
      "  rule top: if urls.domain ends with \".top\" then tag \"top\"\n"
      "}\n");
  p.evaluator().set_trace(true);
  std::string m = with_attachments({{"a.pdf", "x"}, {"delivery_form.htm", "<form>"}},
                                   "see http://ok.example/ and http://x.bad.top/a\r\n");
  m.insert(0, "X-Mailer: Normal\r\nX-Mailer: BulkSender 2\r\n");
  const Verdict v = p.run(m);
  ASSERT_EQ(v.fired.size(), 3u);
  EXPECT_EQ(v.fired[0].evidence.at(0).item_name, "delivery_form.htm");
  EXPECT_EQ(v.fired[1].evidence.at(0).item_name, "X-Mailer (header field 2)");
  EXPECT_EQ(v.fired[2].evidence.at(0).item_name, "http://x.bad.top/a");
  EXPECT_NE(traced(v, "html", 0)->detail.find("in delivery_form.htm"), std::string::npos);
}

// Two rules testing the same entries with different words each quote their own test.
TEST(TraceTruth, EachRuleQuotesItsOwnTest) {
  Policy p("stage s {\n"
           "  rule a: if attachments.extension is \".exe\" then tag \"a\"\n"
           "  rule b: if attachments.extension in [exe] then tag \"b\"\n"
           "  rule c: if subject not contains \"x\" then tag \"c\"\n"
           "  rule d: if subject contains \"x\" then tag \"d\"\n"
           "}\n");
  p.evaluator().set_trace(true);
  const Verdict v = p.run(with_attachments({{"run.exe", "MZ"}}));
  ASSERT_EQ(v.tags, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(v.fired[1].evidence.at(0).test, "in [exe]");
  EXPECT_EQ(traced(v, "b", 0)->test, "in [exe]");
  EXPECT_EQ(traced(v, "d", 0), nullptr);  // prefiltered: no test ran
  Policy q("if subject not contains \"x\" then tag \"c\"\nif subject contains \"x\" then tag \"d\"\n");
  q.evaluator().set_trace(true);
  const Verdict w = q.run(simple("has x"));
  ASSERT_EQ(w.tags, std::vector<std::string>{"d"});
  EXPECT_EQ(w.fired[0].evidence.at(0).test, "contains \"x\"");
}

}  // namespace
}  // namespace mp::vm::interpreter_test
