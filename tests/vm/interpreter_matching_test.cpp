// VM semantics, end to end (policy text → image → Evaluator on literal messages; see
// also interpreter_test.cpp and interpreter_evidence_test.cpp): how field values
// match — named and bare header tests, identity folding of addresses and domains
// (case, IDN), case sensitivity and anchoring of content tests, membership on
// caseless text fields, CIDR membership, sizes and counts, negations, disjunctions,
// defs and consts.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/vm/interpreter_test_util.h"
#include "vm/vm.h"

namespace mp::vm {
namespace {

using namespace interpreter_test;

// ---- Headers ----------------------------------------------------------------------

TEST(VmHeaders, NamedHeaderOnlyMatchesThatHeader) {
  Policy p(
      "stage s {\n"
      "  rule a: if header \"X-A\" contains \"foo\" then tag \"a\"\n"
      "  rule b: if header \"X-B\" contains \"foo\" then tag \"b\"\n"
      "  rule lower: if header \"x-a\" contains \"foo\" then tag \"lower\"\n"
      "  rule r_is: if header \"X-B\" is \"bar\" then tag \"is\"\n"
      "  rule received: if received contains \"prod.outlook.com\" then tag \"received\"\n"
      "  rule second: if header \"Received\" contains \"mx2\" then tag \"second\"\n"
      "  rule absent: if header \"X-None\" contains \"\" then tag \"absent\"\n"
      "}\n");
  std::string m = simple("x", "body with foo\r\n",
                         "X-A: some foo here\r\n"
                         "X-B: bar\r\n"
                         "Received: from a.prod.outlook.com by mx1\r\n"
                         "Received: from mx1 by mx2\r\n");
  Verdict v = p.run(m);
  EXPECT_EQ(v.tags, (std::vector<std::string>{"a", "lower", "is", "received", "second"}));
}

TEST(VmHeaders, BareHeaderMatchesNameOrValue) {
  Policy p(
      "stage s {\n"
      "  rule name: if header contains \"X-Mailer\" then tag \"name\"\n"
      "  rule value: if header contains \"ccsend.constantcontact.com\" then tag \"value\"\n"
      "  rule line: if header contains \"X-Mailer: ccsend\" then tag \"line\"\n"
      "  rule none: if header contains \"not anywhere\" then tag \"none\"\n"
      "  rule body: if header contains \"only in the body\" then tag \"body\"\n"
      "}\n");
  Verdict v = p.run(simple("x", "only in the body\r\n", "X-Mailer: ccsend.constantcontact.com v2\r\n"));
  EXPECT_EQ(v.tags, (std::vector<std::string>{"name", "value", "line"}));
}

TEST(VmHeaders, SeedSentence) {
  Policy p("if header contains \"ccsend.constantcontact.com\" and sender is info@widget.com then allow\n");
  std::string m = simple("Newsletter", "hi\r\n", "X-Mailer: ccsend.constantcontact.com\r\n");
  EXPECT_EQ(p.run(m, envelope("info@widget.com")).action, Action::Allow);
  EXPECT_EQ(p.run(m, envelope("INFO@Widget.Com")).action, Action::Allow);
  EXPECT_EQ(p.run(m, envelope("other@widget.com")).action, Action::Deliver);
  EXPECT_EQ(p.run(simple("Newsletter"), envelope("info@widget.com")).action, Action::Deliver);
}

// ---- Identity folding and case ----------------------------------------------------------

TEST(VmIdentity, AddressesAndDomainsAreCaseInsensitive) {
  Policy p(
      "stage s {\n"
      "  rule sender: if sender is Info@Widget.COM then tag \"sender\"\n"
      "  rule from: if from.domain is widget.com then tag \"from\"\n"
      "  rule r_contains: if sender contains \"WIDGET\" then tag \"contains\"\n"
      "  rule r_ends: if from.address ends with \"@WIDGET.COM\" then tag \"ends\"\n"
      "  rule helo: if helo is mail.widget.com then tag \"helo\"\n"
      "  rule r_list: if from in [ceo@widget.com, INFO@widget.com] then tag \"list\"\n"
      "}\n");
  std::string m = "From: Info <INFO@WIDGET.COM>\r\nTo: x@example.org\r\nSubject: s\r\n\r\nb\r\n";
  Verdict v = p.run(m, envelope("info@widget.com", {}, "", "MAIL.Widget.com"));
  EXPECT_EQ(v.tags, (std::vector<std::string>{"sender", "from", "contains", "ends", "helo", "list"}));
}

TEST(VmIdentity, InternationalisedDomains) {
  Policy p(
      "stage s {\n"
      "  rule unicode: if from.domain is \"bücher.example\" then tag \"unicode\"\n"
      "  rule puny: if from.domain is \"xn--bcher-kva.example\" then tag \"puny\"\n"
      "  rule sender: if sender.domain in [\"bücher.example\"] then tag \"sender\"\n"
      "  rule address: if from.address is \"info@bücher.example\" then tag \"address\"\n"
      "}\n");
  // The message writes the domain in punycode, the policy in Unicode, and vice versa.
  Verdict a = p.run("From: info@xn--bcher-kva.example\r\nSubject: s\r\n\r\nb\r\n",
                    envelope("info@xn--bcher-kva.example"));
  EXPECT_EQ(a.tags, (std::vector<std::string>{"unicode", "puny", "sender", "address"}));
  Verdict b = p.run("From: info@b\xc3\xbc" "cher.example\r\nSubject: s\r\n\r\nb\r\n",
                    envelope("info@b\xc3\xbc" "cher.example"));
  EXPECT_EQ(b.tags, (std::vector<std::string>{"unicode", "puny", "sender", "address"}));
  Verdict c = p.run("From: info@bucher.example\r\nSubject: s\r\n\r\nb\r\n", envelope("info@bucher.example"));
  EXPECT_TRUE(c.tags.empty());
}

TEST(VmCase, ContentTestsAreCaseSensitiveUnlessAsked) {
  Policy p(
      "stage s {\n"
      "  rule r_contains: if subject contains \"invoice\" then tag \"contains\"\n"
      "  rule contains_nocase: if subject contains \"invoice\" nocase then tag \"contains_nocase\"\n"
      "  rule regex: if subject matches /invoice/ then tag \"regex\"\n"
      "  rule regex_i: if subject matches /invoice/i then tag \"regex_i\"\n"
      "  rule r_is: if subject is \"invoice due\" then tag \"is\"\n"
      "  rule is_nocase: if subject is \"invoice due\" nocase then tag \"is_nocase\"\n"
      "  rule r_starts: if subject starts with \"Invoice\" then tag \"starts\"\n"
      "  rule starts_lower: if subject starts with \"invoice\" then tag \"starts_lower\"\n"
      "  rule r_ends: if subject ends with \"DUE\" nocase then tag \"ends\"\n"
      "  rule body: if body contains \"PAYMENT\" then tag \"body\"\n"
      "  rule body_i: if body contains \"PAYMENT\" nocase then tag \"body_i\"\n"
      "}\n");
  Verdict v = p.run(simple("Invoice Due", "please send payment\r\n"));
  EXPECT_EQ(v.tags, (std::vector<std::string>{"contains_nocase", "regex_i", "is_nocase", "starts", "ends",
                                              "body_i"}));
  Verdict lower = p.run(simple("invoice due", "PAYMENT\r\n"));
  EXPECT_EQ(lower.tags, (std::vector<std::string>{"contains", "contains_nocase", "regex", "regex_i", "is",
                                                  "is_nocase", "starts_lower", "ends", "body", "body_i"}));
}

TEST(VmCase, AnchorsAreOnTheWholeValue) {
  Policy p(
      "stage s {\n"
      "  rule r_starts: if subject starts with \"Re:\" then tag \"starts\"\n"
      "  rule r_ends: if subject ends with \"!!\" then tag \"ends\"\n"
      "  rule special: if subject contains \"a.b*c\" then tag \"special\"\n"
      "}\n");
  EXPECT_EQ(p.run(simple("Re: hello!!")).tags, (std::vector<std::string>{"starts", "ends"}));
  EXPECT_EQ(p.run(simple("Fwd: Re: hello!! x")).tags, std::vector<std::string>{});
  EXPECT_EQ(p.run(simple("xx a.b*c yy")).tags, std::vector<std::string>{"special"});
  EXPECT_EQ(p.run(simple("xx aXbbbc yy")).tags, std::vector<std::string>{});  // not a regex
}

TEST(VmCase, MembershipOnCaselessTextFields) {
  // `is`/`in` on caseless text fields are caseless like `contains` on them.
  Policy p(
      "stage s {\n"
      "  rule in_upper: if attachments.extension in [EXE] then tag \"in_upper\"\n"
      "  rule contains_upper: if attachments.extension contains \"EXE\" then tag \"contains_upper\"\n"
      "  rule local: if sender.local is \"info\" then tag \"local\"\n"
      "}\n");
  Verdict v = p.run(with_attachments({{"setup.EXE", "MZ"}}), envelope("Info@widget.com"));
  EXPECT_EQ(v.tags, (std::vector<std::string>{"in_upper", "contains_upper", "local"}));
}

// ---- IP addresses -------------------------------------------------------------------

TEST(VmIp, CidrMembership) {
  Policy p(
      "stage s {\n"
      "  rule v4: if client.ip in [192.0.2.0/24, 198.51.100.7] then tag \"v4\"\n"
      "  rule v6: if client.ip in [2001:db8::/32] then tag \"v6\"\n"
      "  rule exact: if client.ip is 2001:db8::1 then tag \"exact\"\n"
      "  rule all4: if client.ip in [0.0.0.0/0] then tag \"all4\"\n"
      "  rule not_listed: if client.ip not in [10.0.0.0/8] then tag \"not10\"\n"
      "}\n");
  auto tags = [&](const std::string& ip) { return p.run(simple("x"), envelope("a@b.example", {}, ip)).tags; };
  EXPECT_EQ(tags("192.0.2.200"), (std::vector<std::string>{"v4", "all4", "not10"}));
  EXPECT_EQ(tags("192.0.2.0"), (std::vector<std::string>{"v4", "all4", "not10"}));
  EXPECT_EQ(tags("192.0.3.1"), (std::vector<std::string>{"all4", "not10"}));
  EXPECT_EQ(tags("198.51.100.7"), (std::vector<std::string>{"v4", "all4", "not10"}));
  EXPECT_EQ(tags("198.51.100.8"), (std::vector<std::string>{"all4", "not10"}));
  EXPECT_EQ(tags("10.1.2.3"), (std::vector<std::string>{"all4"}));
  EXPECT_EQ(tags("2001:db8:ffff::1"), (std::vector<std::string>{"v6", "not10"}));
  EXPECT_EQ(tags("2001:db8::1"), (std::vector<std::string>{"v6", "exact", "not10"}));
  EXPECT_EQ(tags("2001:db9::1"), (std::vector<std::string>{"not10"}));
  // A v4-mapped client (as dual-stack MTAs report IPv4) is the IPv4 address.
  EXPECT_EQ(tags("::ffff:192.0.2.1"), (std::vector<std::string>{"v4", "all4", "not10"}));
  EXPECT_EQ(tags("::ffff:10.1.2.3"), (std::vector<std::string>{"all4"}));
  // No client address: in nothing.
  EXPECT_EQ(p.run(simple("x"), envelope("a@b.example")).tags, (std::vector<std::string>{"not10"}));
}

// ---- Numbers ------------------------------------------------------------------------

TEST(VmNumbers, SizesAndCounts) {
  Policy p(
      "stage s {\n"
      "  rule big: if size > 2KB then tag \"big\"\n"
      "  rule small: if size <= 2KB then tag \"small\"\n"
      "  rule big_att: if attachments.size > 1KB then tag \"big_att\"\n"
      "  rule all_small: if all attachments (size < 1KB) then tag \"all_small\"\n"
      "  rule exact: if count(attachments) == 2 and count(attachments) != 3 then tag \"exact\"\n"
      "}\n");
  EXPECT_EQ(p.run(simple("x")).tags, (std::vector<std::string>{"small", "all_small"}));
  EXPECT_EQ(p.run(simple("x", std::string(3000, 'a') + "\r\n")).tags, (std::vector<std::string>{"big", "all_small"}));
  EXPECT_EQ(p.run(with_attachments({{"a.bin", std::string(2000, 'b')}, {"c.bin", "small"}})).tags,
            (std::vector<std::string>{"big", "big_att", "exact"}));
  EXPECT_EQ(p.run(with_attachments({{"a.bin", "tiny"}, {"c.bin", "small"}})).tags,
            (std::vector<std::string>{"small", "all_small", "exact"}));
}

// ---- Negation and guards ----------------------------------------------------------------

TEST(VmLogic, NegationsAndDisjunctionsFire) {
  // Rules whose condition can be true without any content match must still run.
  Policy p(
      "stage s {\n"
      "  rule not_x: if not subject contains \"x\" then tag \"not_x\"\n"
      "  rule either: if subject contains \"nope\" or body contains \"yes\" then tag \"either\"\n"
      "  rule and_not: if body contains \"yes\" and not subject contains \"nope\" then tag \"and_not\"\n"
      "  rule not_in: if from.address not in [ceo@widget.com] then tag \"not_in\"\n"
      "  rule is_not: if subject is not \"hello\" then tag \"is_not\"\n"
      "  rule not_contains: if subject not contains \"z\" then tag \"not_contains\"\n"
      "  rule nested: if not (subject contains \"a\" and not body contains \"b\") then tag \"nested\"\n"
      "}\n");
  EXPECT_EQ(p.run(simple("hello", "yes b\r\n")).tags,
            (std::vector<std::string>{"not_x", "either", "and_not", "not_in", "not_contains", "nested"}));
  EXPECT_EQ(p.run(simple("xa z", "no\r\n")).tags, (std::vector<std::string>{"not_in", "is_not"}));
}

TEST(VmLogic, DefsAndConsts) {
  Policy p(
      "const ours = [widget.com, widget.ca]\n"
      "list execs = [ceo@widget.com, cfo@widget.com]\n"
      "def from_o365 = header \"Received\" contains \"outbound.protection.outlook.com\"\n"
      "      and header \"Received\" contains \"prod.outlook.com\"\n"
      "stage s {\n"
      "  rule exclaimer: if from.domain in ours and from_o365 then allow\n"
      "  rule spoof: if from.display_name in [\"Jane Widget\"] and from.address not in execs then quarantine\n"
      "}\n");
  std::string o365 =
      "Received: from a.prod.outlook.com by b.outbound.protection.outlook.com\r\n"
      "From: Jane <jane@widget.ca>\r\nSubject: s\r\n\r\nb\r\n";
  EXPECT_EQ(p.run(o365).action, Action::Allow);
  EXPECT_EQ(p.run("From: Jane Widget <jane@gmail.example>\r\nSubject: s\r\n\r\nb\r\n").action,
            Action::Quarantine);
  EXPECT_EQ(p.run("From: Jane Widget <ceo@widget.com>\r\nSubject: s\r\n\r\nb\r\n").action, Action::Deliver);
}

}  // namespace
}  // namespace mp::vm
