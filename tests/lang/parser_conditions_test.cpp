// Tests for lang/: policy text → AST (lang::parse), conditions (see also
// parser_test.cpp and parser_errors_test.cpp). Every comparison operator and its
// span, regexes and their flags, not/and/or precedence, quantifiers, count with and
// without a filter, header, call and bool operands, unquoted literals of every kind
// and field paths on the left.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "lang/lang.h"
#include "tests/lang/parser_test_util.h"

namespace mp::lang {
namespace {

using namespace parser_test;

// A compact rendering of a condition tree, for precedence tests: names of bool
// operands, Not(..), And(..), Or(..).
std::string shape(const Condition& c) {
  auto join = [&](const char* name) {
    std::string out = std::string(name) + "(";
    for (size_t i = 0; i < c.children.size(); ++i) out += (i ? "," : "") + shape(*c.children[i]);
    return out + ")";
  };
  switch (c.kind) {
    case CondKind::Not: return join("Not");
    case CondKind::And: return join("And");
    case CondKind::Or: return join("Or");
    case CondKind::Quantified: return join(c.quantifier == Quantifier::Any ? "Any" : "All");
    case CondKind::Compare: return "Cmp";
    case CondKind::Bool: return path_text(c.lhs);
    case CondKind::Sum: return join("Sum");
  }
  return "?";
}

// ---- Operators ---------------------------------------------------------------

struct OpCase {
  std::string text;
  CompareOp op;
  bool negated;
  bool nocase;
};

TEST(ParserOperators, EveryComparisonOperator) {
  const std::vector<OpCase> cases = {
      {"subject is \"x\"", CompareOp::Is, false, false},
      {"subject is not \"x\"", CompareOp::Is, true, false},
      {"subject is \"x\" nocase", CompareOp::Is, false, true},
      {"subject is not \"x\" nocase", CompareOp::Is, true, true},
      {"subject contains \"x\"", CompareOp::Contains, false, false},
      {"subject not contains \"x\"", CompareOp::Contains, true, false},
      {"subject contains \"x\" nocase", CompareOp::Contains, false, true},
      {"subject starts with \"x\"", CompareOp::StartsWith, false, false},
      {"subject not starts with \"x\" nocase", CompareOp::StartsWith, true, true},
      {"subject ends with \"x\"", CompareOp::EndsWith, false, false},
      {"subject ends with \"x\" nocase", CompareOp::EndsWith, false, true},
      {"subject in [\"x\"]", CompareOp::In, false, false},
      {"subject not in [\"x\"]", CompareOp::In, true, false},
      {"size < 1", CompareOp::Lt, false, false},
      {"size <= 1", CompareOp::Le, false, false},
      {"size > 1", CompareOp::Gt, false, false},
      {"size >= 1", CompareOp::Ge, false, false},
      {"size == 1", CompareOp::Eq, false, false},
      {"size != 1", CompareOp::Ne, false, false},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.text);
    auto h = parse_condition(tc.text);
    const Condition& c = *h.cond;
    ASSERT_EQ(c.kind, CondKind::Compare);
    EXPECT_EQ(c.op, tc.op);
    EXPECT_EQ(c.negated, tc.negated);
    EXPECT_EQ(c.nocase, tc.nocase);
    EXPECT_EQ(c.lhs.kind, OperandKind::Literal);
    EXPECT_EQ(path_text(c.lhs), tc.op >= CompareOp::Lt ? "size" : "subject");
    EXPECT_EQ(h.parsed->slice(c.span), tc.text);
  }
}

TEST(ParserOperators, OperatorSpans) {
  auto h = parse_condition("subject not starts with \"x\"");
  // The operator as written includes its `not`, so traces quote the negated test.
  EXPECT_EQ(h.parsed->slice(h.cond->op_span), "not starts with");
  h = parse_condition("size >= 10MB");
  EXPECT_EQ(h.parsed->slice(h.cond->op_span), ">=");
  EXPECT_EQ(h.parsed->slice(h.cond->rhs.span), "10MB");
  h = parse_condition("sender is not a@b.c");
  EXPECT_EQ(h.parsed->slice(h.cond->op_span), "is");
}

TEST(ParserOperators, MatchesWithRegexAndFlags) {
  auto h = parse_condition("subject matches /urgent|wire transfer/i");
  const Condition& c = *h.cond;
  ASSERT_EQ(c.kind, CondKind::Compare);
  EXPECT_EQ(c.op, CompareOp::Matches);
  EXPECT_FALSE(c.negated);
  EXPECT_EQ(c.regex, "urgent|wire transfer");
  EXPECT_EQ(c.regex_flags, "i");
  EXPECT_EQ(c.rhs.literal.kind, LiteralKind::Regex);
  EXPECT_EQ(h.parsed->slice(c.rhs.span), "/urgent|wire transfer/i");
  EXPECT_EQ(h.parsed->slice(c.op_span), "matches");

  h = parse_condition("body not matches /a\\/b\\d+/ism");
  EXPECT_TRUE(h.cond->negated);
  EXPECT_EQ(h.cond->regex, "a\\/b\\d+");
  EXPECT_EQ(h.cond->regex_flags, "ism");

  h = parse_condition("body matches /x/");
  EXPECT_EQ(h.cond->regex, "x");
  EXPECT_EQ(h.cond->regex_flags, "");
}

TEST(ParserOperators, NotBindsTighterThanAndTighterThanOr) {
  EXPECT_EQ(shape(*parse_condition("a or b and c").cond), "Or(a,And(b,c))");
  EXPECT_EQ(shape(*parse_condition("a and b or c").cond), "Or(And(a,b),c)");
  EXPECT_EQ(shape(*parse_condition("a and b or c and d").cond), "Or(And(a,b),And(c,d))");
  EXPECT_EQ(shape(*parse_condition("not a and b").cond), "And(Not(a),b)");
  EXPECT_EQ(shape(*parse_condition("not a or b").cond), "Or(Not(a),b)");
  EXPECT_EQ(shape(*parse_condition("a and not b").cond), "And(a,Not(b))");
  EXPECT_EQ(shape(*parse_condition("not not a").cond), "Not(Not(a))");
  EXPECT_EQ(shape(*parse_condition("not (a and b)").cond), "Not(And(a,b))");
  EXPECT_EQ(shape(*parse_condition("(a or b) and c").cond), "And(Or(a,b),c)");
  EXPECT_EQ(shape(*parse_condition("a or b or c or d").cond), "Or(a,b,c,d)");
  EXPECT_EQ(shape(*parse_condition("a and b and c").cond), "And(a,b,c)");
  EXPECT_EQ(shape(*parse_condition("a and (b and c)").cond), "And(a,And(b,c))");
  EXPECT_EQ(shape(*parse_condition("((a))").cond), "a");
  // A sum of conditions: each term a whole condition, the sum compared with a number.
  EXPECT_EQ(shape(*parse_condition("(a + b and c + not d) >= 2").cond), "Sum(a,And(b,c),Not(d))");
  EXPECT_EQ(shape(*parse_condition("(a + b) > 1 or c").cond), "Or(Sum(a,b),c)");
  EXPECT_EQ(parse_condition("(a + b) >= 2").cond->op, CompareOp::Ge);
  // `not` applies to a whole comparison, not just its left operand.
  auto h = parse_condition("not from.domain in our_domains and b");
  ASSERT_EQ(h.cond->kind, CondKind::And);
  const Condition& n = *h.cond->children[0];
  ASSERT_EQ(n.kind, CondKind::Not);
  EXPECT_EQ(n.children[0]->kind, CondKind::Compare);
  EXPECT_EQ(n.children[0]->op, CompareOp::In);
  EXPECT_FALSE(n.children[0]->negated);
}

TEST(ParserOperators, Quantifiers) {
  auto h = parse_condition("any attachment (extension in [htm, html])");
  const Condition& a = *h.cond;
  ASSERT_EQ(a.kind, CondKind::Quantified);
  EXPECT_EQ(a.quantifier, Quantifier::Any);
  EXPECT_EQ(a.collection, "attachment");
  EXPECT_EQ(h.parsed->slice(a.collection_span), "attachment");
  ASSERT_EQ(a.children.size(), 1u);
  EXPECT_EQ(a.children[0]->op, CompareOp::In);
  EXPECT_EQ(path_text(a.children[0]->lhs), "extension");

  h = parse_condition("all urls (domain ends with \".top\" or domain ends with \".xyz\")");
  EXPECT_EQ(h.cond->quantifier, Quantifier::All);
  EXPECT_EQ(h.cond->collection, "urls");
  EXPECT_EQ(h.cond->children[0]->kind, CondKind::Or);

  h = parse_condition("any recipients (all attachments (size < 1MB))");
  ASSERT_EQ(h.cond->kind, CondKind::Quantified);
  ASSERT_EQ(h.cond->children[0]->kind, CondKind::Quantified);
  EXPECT_EQ(h.cond->children[0]->quantifier, Quantifier::All);
}

TEST(ParserOperators, CountWithAndWithoutFilter) {
  auto h = parse_condition("count(attachments) > 2");
  ASSERT_EQ(h.cond->kind, CondKind::Compare);
  EXPECT_EQ(h.cond->op, CompareOp::Gt);
  EXPECT_EQ(h.cond->lhs.kind, OperandKind::Count);
  EXPECT_EQ(h.cond->lhs.name, "attachments");
  EXPECT_EQ(h.parsed->slice(h.cond->lhs.name_span), "attachments");
  EXPECT_EQ(h.cond->lhs.count_filter, nullptr);
  EXPECT_EQ(h.cond->rhs.literal.number, 2);

  h = parse_condition("count(urls (domain ends with \".top\")) >= 3");
  EXPECT_EQ(h.cond->op, CompareOp::Ge);
  ASSERT_EQ(h.cond->lhs.kind, OperandKind::Count);
  EXPECT_EQ(h.cond->lhs.name, "urls");
  ASSERT_NE(h.cond->lhs.count_filter, nullptr);
  EXPECT_EQ(h.cond->lhs.count_filter->op, CompareOp::EndsWith);
  EXPECT_EQ(h.parsed->slice(h.cond->lhs.span), "count(urls (domain ends with \".top\"))");
}

TEST(ParserOperators, HeaderOperands) {
  auto h = parse_condition("header \"X-Spam-Flag\" is \"YES\"");
  EXPECT_EQ(h.cond->lhs.kind, OperandKind::Header);
  EXPECT_EQ(h.cond->lhs.header_name, "X-Spam-Flag");
  EXPECT_EQ(h.parsed->slice(h.cond->lhs.span), "header \"X-Spam-Flag\"");

  h = parse_condition("header contains \"ccsend\"");
  EXPECT_EQ(h.cond->lhs.kind, OperandKind::AnyHeader);
  EXPECT_EQ(h.parsed->slice(h.cond->lhs.span), "header");

  h = parse_condition("header matches /x-mailer: evil/i");
  EXPECT_EQ(h.cond->lhs.kind, OperandKind::AnyHeader);
  EXPECT_EQ(h.cond->op, CompareOp::Matches);
}

TEST(ParserOperators, CallAndBoolOperands) {
  auto h = parse_condition("spf_pass(sender, \"x\")");
  ASSERT_EQ(h.cond->kind, CondKind::Bool);
  EXPECT_EQ(h.cond->lhs.kind, OperandKind::Call);
  EXPECT_EQ(h.cond->lhs.name, "spf_pass");
  ASSERT_EQ(h.cond->lhs.args.size(), 2u);
  EXPECT_EQ(path_text(h.cond->lhs.args[0]), "sender");

  h = parse_condition("true");
  ASSERT_EQ(h.cond->kind, CondKind::Bool);
  EXPECT_EQ(h.cond->lhs.literal.kind, LiteralKind::Bool);
  EXPECT_EQ(h.cond->lhs.literal.number, 1);
  h = parse_condition("false");
  EXPECT_EQ(h.cond->lhs.literal.number, 0);
}

// ---- Unquoted literals ---------------------------------------------------------

struct LiteralCase {
  std::string rhs;
  LiteralKind kind;
  std::string text;
  double number;
};

TEST(ParserLiterals, UnquotedLiterals) {
  const std::vector<LiteralCase> cases = {
      {"info@widget.com", LiteralKind::Address, "info@widget.com", 0},
      {"first.last+tag@mail.widget.co.uk", LiteralKind::Address, "first.last+tag@mail.widget.co.uk", 0},
      {"widget.com", LiteralKind::Path, "widget.com", 0},
      {"sub-domain.example-1.org", LiteralKind::Path, "sub-domain.example-1.org", 0},
      {"203.0.113.10", LiteralKind::Ip, "203.0.113.10", 0},
      {"198.51.100.0/24", LiteralKind::Ip, "198.51.100.0/24", 0},
      {"2001:db8::1", LiteralKind::Ip, "2001:db8::1", 0},
      {"::1", LiteralKind::Ip, "::1", 0},
      {"2001:db8::/32", LiteralKind::Ip, "2001:db8::/32", 0},
      {"::ffff:192.0.2.1", LiteralKind::Ip, "::ffff:192.0.2.1", 0},
      {"10MB", LiteralKind::Size, "10MB", 10.0 * 1024 * 1024},
      {"512KB", LiteralKind::Size, "512KB", 512.0 * 1024},
      {"512kB", LiteralKind::Size, "512kB", 512.0 * 1024},
      {"2G", LiteralKind::Size, "2G", 2.0 * 1024 * 1024 * 1024},
      {"1GB", LiteralKind::Size, "1GB", 1024.0 * 1024 * 1024},
      {"1.5MB", LiteralKind::Size, "1.5MB", 1.5 * 1024 * 1024},
      {"100B", LiteralKind::Size, "100B", 100},
      {"64K", LiteralKind::Size, "64K", 65536},
      {"3M", LiteralKind::Size, "3M", 3.0 * 1024 * 1024},
      {"42", LiteralKind::Number, "42", 42},
      {"4.25", LiteralKind::Number, "4.25", 4.25},
      {"+7", LiteralKind::Number, "+7", 7},
      {"-7", LiteralKind::Number, "-7", -7},
      {"\"quoted\"", LiteralKind::String, "quoted", 0},
      {"\"tab\\there\\\\\"", LiteralKind::String, "tab\there\\", 0},
      {"our_domains", LiteralKind::Path, "our_domains", 0},
      {"true", LiteralKind::Bool, "true", 1},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.rhs);
    auto h = parse_condition("x is " + tc.rhs);
    ASSERT_EQ(h.cond->kind, CondKind::Compare);
    const Literal& l = h.cond->rhs.literal;
    EXPECT_EQ(h.cond->rhs.kind, OperandKind::Literal);
    EXPECT_EQ(l.kind, tc.kind);
    EXPECT_EQ(l.text, tc.text);
    if (tc.kind == LiteralKind::Number || tc.kind == LiteralKind::Size || tc.kind == LiteralKind::Bool) {
      EXPECT_DOUBLE_EQ(l.number, tc.number);
    }
    EXPECT_EQ(h.parsed->slice(l.span), tc.rhs);
  }
}

TEST(ParserLiterals, DomainsWhoseFirstLabelIsAKeywordOrANumber) {
  // Unquoted domains whose first label is a keyword or all digits.
  for (std::string domain : {"file.io", "log.example.com", "tag.example", "any.example", "163.com"}) {
    auto p = parse_text("if from.domain is " + domain + " then allow\n");
    ASSERT_FALSE(p->diagnostics.has_errors()) << p->dump();
    const Literal& l = p->policy.stages[0].rules[0].condition->rhs.literal;
    EXPECT_EQ(l.text, domain);
  }
}

TEST(ParserLiterals, FieldPathsOnTheLeft) {
  for (std::string field : {"from.domain", "from.display_name", "attachments.extension", "client.ip",
                            "sender", "reply_to.address", "url.domain"}) {
    auto h = parse_condition(field + " is x");
    EXPECT_EQ(path_text(h.cond->lhs), field);
  }
}

}  // namespace
}  // namespace mp::lang
