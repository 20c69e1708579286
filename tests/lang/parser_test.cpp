// Tests for lang/: policy text → AST (lang::parse), declarations and rules (see also
// parser_conditions_test.cpp and parser_errors_test.cpp). Consts, lists and file
// lists, defs, settings and imports; stages with scoped rules, stage merging, bare
// rules named by line, the seed sentence and the widget example; every action kind.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "compiler/compiler.h"
#include "lang/lang.h"
#include "tests/lang/parser_test_util.h"

namespace mp::lang {
namespace {

using namespace parser_test;

// ---- Declarations -------------------------------------------------------------

TEST(ParserDecl, EmptyFileIsAValidEmptyPolicy) {
  for (std::string text : {"", "\n\n", "   # only a comment\n", "\t \r\n"}) {
    auto p = parse_ok(text);
    EXPECT_TRUE(p->policy.stages.empty());
    EXPECT_TRUE(p->policy.consts.empty());
    EXPECT_TRUE(p->policy.lists.empty());
    EXPECT_TRUE(p->policy.defs.empty());
    EXPECT_TRUE(p->policy.settings.empty());
  }
  compiler::Compilation c = compiler::compile_source("empty.mp", "");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c.image->rules.empty());
  ASSERT_FALSE(c.image->code.empty());
  EXPECT_EQ(c.image->code.back().op, vm::Op::Halt);
}

TEST(ParserDecl, Const) {
  auto p = parse_ok(
      "const limit = 10\n"
      "const greeting = \"hello \\\"world\\\"\\n\"\n"
      "const negative = -2.5\n"
      "const domains = [widget.com, widget.ca]\n"
      "const big = 20MB\n"
      "const yes = true\n");
  const auto& c = p->policy.consts;
  ASSERT_EQ(c.size(), 6u);
  EXPECT_EQ(c[0].name, "limit");
  EXPECT_EQ(p->slice(c[0].span), "limit");
  EXPECT_EQ(c[0].value.kind, LiteralKind::Number);
  EXPECT_EQ(c[0].value.number, 10);
  EXPECT_EQ(c[1].value.kind, LiteralKind::String);
  EXPECT_EQ(c[1].value.text, "hello \"world\"\n");
  EXPECT_EQ(c[2].value.kind, LiteralKind::Number);
  EXPECT_EQ(c[2].value.number, -2.5);
  ASSERT_EQ(c[3].value.kind, LiteralKind::List);
  ASSERT_EQ(c[3].value.items.size(), 2u);
  EXPECT_EQ(c[3].value.items[0].kind, LiteralKind::Path);
  EXPECT_EQ(c[3].value.items[0].text, "widget.com");
  EXPECT_EQ(c[3].value.items[1].text, "widget.ca");
  EXPECT_EQ(c[4].value.kind, LiteralKind::Size);
  EXPECT_EQ(c[4].value.number, 20.0 * 1024 * 1024);
  EXPECT_EQ(c[5].value.kind, LiteralKind::Bool);
  EXPECT_EQ(c[5].value.number, 1);
}

TEST(ParserDecl, ListLiteralAndFileList) {
  auto p = parse_ok(
      "list bad_ext = [exe, \"scr\", 10.0.0.1, info@widget.com, 5, 1KB, [nested], ]\n"
      "list empty = []\n"
      "list execs = file(\"lists/execs.txt\")\n");
  const auto& l = p->policy.lists;
  ASSERT_EQ(l.size(), 3u);
  EXPECT_EQ(l[0].name, "bad_ext");
  EXPECT_FALSE(l[0].from_file);
  ASSERT_EQ(l[0].literal.kind, LiteralKind::List);
  const auto& items = l[0].literal.items;
  ASSERT_EQ(items.size(), 7u);  // the trailing comma is allowed
  EXPECT_EQ(items[0].kind, LiteralKind::Path);
  EXPECT_EQ(items[0].text, "exe");
  EXPECT_EQ(items[1].kind, LiteralKind::String);
  EXPECT_EQ(items[1].text, "scr");
  EXPECT_EQ(items[2].kind, LiteralKind::Ip);
  EXPECT_EQ(items[2].text, "10.0.0.1");
  EXPECT_EQ(items[3].kind, LiteralKind::Address);
  EXPECT_EQ(items[3].text, "info@widget.com");
  EXPECT_EQ(items[4].kind, LiteralKind::Number);
  EXPECT_EQ(items[5].kind, LiteralKind::Size);
  EXPECT_EQ(items[5].number, 1024);
  ASSERT_EQ(items[6].kind, LiteralKind::List);
  ASSERT_EQ(items[6].items.size(), 1u);
  EXPECT_EQ(items[6].items[0].text, "nested");
  EXPECT_EQ(p->slice(items[3].span), "info@widget.com");

  EXPECT_FALSE(l[1].from_file);
  EXPECT_TRUE(l[1].literal.items.empty());

  EXPECT_TRUE(l[2].from_file);
  EXPECT_EQ(l[2].file, "lists/execs.txt");
  EXPECT_EQ(p->slice(l[2].file_span), "\"lists/execs.txt\"");
  EXPECT_EQ(p->slice(l[2].span), "execs");
}

TEST(ParserDecl, Def) {
  auto p = parse_ok(
      "def from_o365 =\n"
      "      header \"Received\" contains \"outbound.protection.outlook.com\"\n"
      "  and header \"Received\" contains \"prod.outlook.com\"\n");
  ASSERT_EQ(p->policy.defs.size(), 1u);
  const DefDecl& d = p->policy.defs[0];
  EXPECT_EQ(d.name, "from_o365");
  EXPECT_EQ(p->slice(d.span), "from_o365");
  ASSERT_TRUE(d.condition);
  ASSERT_EQ(d.condition->kind, CondKind::And);
  ASSERT_EQ(d.condition->children.size(), 2u);
  EXPECT_EQ(d.condition->children[0]->lhs.kind, OperandKind::Header);
  EXPECT_EQ(d.condition->children[0]->lhs.header_name, "Received");
  EXPECT_EQ(d.condition->children[1]->rhs.literal.text, "prod.outlook.com");
}

TEST(ParserDecl, SettingsBlock) {
  auto p = parse_ok(
      "settings {\n"
      "  org.domains = [widget.com, widget.ca]\n"
      "  org.sending_servers = [203.0.113.10, 198.51.100.0/24, 2001:db8::/32]\n"
      "  spam.threshold.quarantine = 5.0\n"
      "  spam.threshold.reject = 15\n"
      "}\n"
      "settings { }\n");
  const auto& s = p->policy.settings;
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s[0].key, "org.domains");
  EXPECT_EQ(p->slice(s[0].span), "org.domains");
  EXPECT_EQ(s[0].value.kind, LiteralKind::List);
  EXPECT_EQ(s[1].key, "org.sending_servers");
  ASSERT_EQ(s[1].value.items.size(), 3u);
  EXPECT_EQ(s[1].value.items[1].kind, LiteralKind::Ip);
  EXPECT_EQ(s[1].value.items[1].text, "198.51.100.0/24");
  EXPECT_EQ(s[1].value.items[2].kind, LiteralKind::Ip);
  EXPECT_EQ(s[1].value.items[2].text, "2001:db8::/32");
  EXPECT_EQ(s[2].key, "spam.threshold.quarantine");
  EXPECT_EQ(s[2].value.number, 5.0);
  EXPECT_EQ(s[3].key, "spam.threshold.reject");
  EXPECT_EQ(s[3].value.number, 15);
}

TEST(ParserDecl, SettingKeysMayContainKeywords) {
  // After a dot any word is allowed (e.g. `spam.threshold.reject`: reject is a keyword).
  auto p = parse_ok("settings { a.if.then.score.header = 1 }\n");
  ASSERT_EQ(p->policy.settings.size(), 1u);
  EXPECT_EQ(p->policy.settings[0].key, "a.if.then.score.header");
}

TEST(ParserDecl, Import) {
  auto p = parse_ok("import pipeline\n");
  ASSERT_EQ(p->policy.imports.size(), 1u);
  EXPECT_EQ(p->policy.imports[0].module, "pipeline");
  EXPECT_EQ(p->slice(p->policy.imports[0].span), "pipeline");
}

// ---- Stages and rules ---------------------------------------------------------

TEST(ParserRules, StageWithScopedRules) {
  auto p = parse_ok(
      "stage spam_engine {\n"
      "  rule a (inbound): if size > 1 then allow\n"
      "  rule b (outbound): if size > 2 then allow\n"
      "  rule c (internal): if size > 3 then allow\n"
      "  rule d (inbound, outbound): if size > 4 then allow\n"
      "  rule e (outbound, internal, inbound): if size > 5 then allow\n"
      "  rule f: if size > 6 then allow\n"
      "}\n");
  ASSERT_EQ(p->policy.stages.size(), 1u);
  const Stage& s = p->policy.stages[0];
  EXPECT_EQ(s.name, "spam_engine");
  ASSERT_EQ(s.rules.size(), 6u);
  using D = Direction;
  EXPECT_EQ(s.rules[0].directions, std::vector<D>{D::Inbound});
  EXPECT_EQ(s.rules[1].directions, std::vector<D>{D::Outbound});
  EXPECT_EQ(s.rules[2].directions, std::vector<D>{D::Internal});
  EXPECT_EQ(s.rules[3].directions, (std::vector<D>{D::Inbound, D::Outbound}));
  EXPECT_EQ(s.rules[4].directions, (std::vector<D>{D::Outbound, D::Internal, D::Inbound}));
  EXPECT_TRUE(s.rules[5].directions.empty());
  const char* names[] = {"a", "b", "c", "d", "e", "f"};
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(s.rules[i].name, names[i]);
    EXPECT_EQ(p->slice(s.rules[i].name_span), names[i]);
    EXPECT_EQ(p->at(s.rules[i].span).line, i + 2);
    EXPECT_EQ(p->at(s.rules[i].span).column, 3u);
    ASSERT_EQ(s.rules[i].actions.size(), 1u);
    EXPECT_EQ(s.rules[i].actions[0].kind, ActionKind::Allow);
  }
  EXPECT_EQ(p->slice(s.rules[0].span), "rule a (inbound): if size > 1 then allow");
}

TEST(ParserRules, StagesKeepFirstAppearanceOrderAndMerge) {
  auto p = parse_ok(
      "stage one { rule a: if size > 1 then allow }\n"
      "stage two { rule b: if size > 1 then allow }\n"
      "stage one { rule c: if size > 1 then allow }\n"
      "stage empty { }\n");
  ASSERT_EQ(p->policy.stages.size(), 3u);
  EXPECT_EQ(p->policy.stages[0].name, "one");
  ASSERT_EQ(p->policy.stages[0].rules.size(), 2u);
  EXPECT_EQ(p->policy.stages[0].rules[0].name, "a");
  EXPECT_EQ(p->policy.stages[0].rules[1].name, "c");
  EXPECT_EQ(p->policy.stages[1].name, "two");
  EXPECT_EQ(p->policy.stages[2].name, "empty");
  EXPECT_TRUE(p->policy.stages[2].rules.empty());
}

TEST(ParserRules, BareRuleGoesToCustomFiltersNamedByLine) {
  auto p = parse_ok(
      "stage first { rule a: if size > 1 then allow }\n"
      "\n"
      "if size > 2 then allow\n"
      "stage custom_filters { rule named: if size > 3 then allow }\n"
      "   if size > 4 then discard\n");
  ASSERT_EQ(p->policy.stages.size(), 2u);
  EXPECT_EQ(p->policy.stages[0].name, "first");
  const Stage& cf = p->policy.stages[1];
  EXPECT_EQ(cf.name, kBareRuleStage);
  EXPECT_EQ(cf.name, "custom_filters");
  ASSERT_EQ(cf.rules.size(), 3u);
  EXPECT_EQ(cf.rules[0].name, "line_3");
  EXPECT_EQ(cf.rules[1].name, "named");
  EXPECT_EQ(cf.rules[2].name, "line_5");
  EXPECT_EQ(p->slice(cf.rules[2].name_span), "if");
  EXPECT_EQ(p->at(cf.rules[2].span).column, 4u);
  EXPECT_EQ(cf.rules[2].actions[0].kind, ActionKind::Discard);
}

TEST(ParserRules, SeedSentenceParsesAsOneRule) {
  auto p = parse_ok(
      "if header contains \"ccsend.constantcontact.com\" and sender is info@widget.com then allow");
  ASSERT_EQ(p->policy.stages.size(), 1u);
  ASSERT_EQ(p->policy.stages[0].rules.size(), 1u);
  const Rule& r = p->policy.stages[0].rules[0];
  EXPECT_EQ(r.name, "line_1");
  ASSERT_EQ(r.condition->kind, CondKind::And);
  ASSERT_EQ(r.condition->children.size(), 2u);
  const Condition& a = *r.condition->children[0];
  EXPECT_EQ(a.kind, CondKind::Compare);
  EXPECT_EQ(a.op, CompareOp::Contains);
  EXPECT_EQ(a.lhs.kind, OperandKind::AnyHeader);
  EXPECT_EQ(a.rhs.literal.kind, LiteralKind::String);
  EXPECT_EQ(a.rhs.literal.text, "ccsend.constantcontact.com");
  const Condition& b = *r.condition->children[1];
  EXPECT_EQ(b.op, CompareOp::Is);
  EXPECT_FALSE(b.negated);
  EXPECT_EQ(path_text(b.lhs), "sender");
  EXPECT_EQ(b.rhs.literal.kind, LiteralKind::Address);
  EXPECT_EQ(b.rhs.literal.text, "info@widget.com");
  ASSERT_EQ(r.actions.size(), 1u);
  EXPECT_EQ(r.actions[0].kind, ActionKind::Allow);
  EXPECT_EQ(p->slice(r.condition->span),
            "header contains \"ccsend.constantcontact.com\" and sender is info@widget.com");
}

TEST(ParserRules, WidgetExampleParses) {
  auto c = compiler::compile_file(std::string(MP_SOURCE_DIR) + "/examples/widget/policy.mp");
  std::string rendered;
  for (const auto& d : c.diagnostics.items()) rendered += render_text(d, c.sources);
  ASSERT_TRUE(c.ok()) << rendered;
  // Every rule of the AST makes it into the image, the seed's bare rule included.
  const SourceFile& file = c.sources.file(FileId{0});
  auto p = parse_ok(file.text);
  size_t rules = 0;
  bool seed = false;
  for (const auto& stage : p->policy.stages) {
    rules += stage.rules.size();
    for (const auto& r : stage.rules) {
      if (stage.name == kBareRuleStage && r.name.starts_with("line_") &&
          p->slice(r.condition->span).find("ccsend.constantcontact.com") != std::string_view::npos) {
        seed = true;
      }
    }
  }
  EXPECT_GE(rules, 10u);
  EXPECT_EQ(c.image->rules.size(), rules);
  EXPECT_TRUE(seed) << "the seed sentence is not a bare rule of custom_filters";
}

// ---- Actions -------------------------------------------------------------------

TEST(ParserActions, EveryActionKind) {
  auto p = parse_ok(
      "stage s {\n"
      "  rule a: if size > 1 then allow\n"
      "  rule b: if size > 1 then reject\n"
      "  rule c: if size > 1 then reject \"550 5.7.1 No\"\n"
      "  rule d: if size > 1 then quarantine\n"
      "  rule e: if size > 1 then quarantine \"reason\"\n"
      "  rule f: if size > 1 then discard\n"
      "  rule g: if size > 1 then tempfail\n"
      "  rule h: if size > 1 then tempfail \"451 later\"\n"
      "  rule i: if size > 1 then score +3.5 \"why\"\n"
      "  rule j: if size > 1 then score -2\n"
      "  rule k: if size > 1 then score 1\n"
      "  rule l: if size > 1 then tag \"[External]\"\n"
      "  rule m: if size > 1 then add header X-Widget-External \"yes\"\n"
      "  rule n: if size > 1 then add header \"X-Quoted\" \"v\"\n"
      "  rule o: if size > 1 then remove header X-Spam\n"
      "  rule p: if size > 1 then log \"seen\"\n"
      "  rule q: if size > 1 then tag \"a\", log \"b\" and score +1 quarantine\n"
      "}\n");
  ASSERT_EQ(p->policy.stages.size(), 1u);
  const auto& r = p->policy.stages[0].rules;
  ASSERT_EQ(r.size(), 17u);
  auto only = [&](size_t i) -> const Action& {
    EXPECT_EQ(r[i].actions.size(), 1u) << r[i].name;
    return r[i].actions[0];
  };
  using K = ActionKind;
  EXPECT_EQ(only(0).kind, K::Allow);
  EXPECT_EQ(only(1).kind, K::Reject);
  EXPECT_FALSE(only(1).has_text);
  EXPECT_EQ(only(2).kind, K::Reject);
  EXPECT_TRUE(only(2).has_text);
  EXPECT_EQ(only(2).text, "550 5.7.1 No");
  EXPECT_EQ(p->slice(only(2).span), "reject \"550 5.7.1 No\"");
  EXPECT_EQ(only(3).kind, K::Quarantine);
  EXPECT_FALSE(only(3).has_text);
  EXPECT_EQ(only(4).kind, K::Quarantine);
  EXPECT_EQ(only(4).text, "reason");
  EXPECT_EQ(only(5).kind, K::Discard);
  EXPECT_EQ(only(6).kind, K::Tempfail);
  EXPECT_FALSE(only(6).has_text);
  EXPECT_EQ(only(7).kind, K::Tempfail);
  EXPECT_EQ(only(7).text, "451 later");
  EXPECT_EQ(only(8).kind, K::Score);
  EXPECT_EQ(only(8).score, 3.5);
  EXPECT_EQ(only(8).text, "why");
  EXPECT_TRUE(only(8).has_text);
  EXPECT_EQ(only(9).score, -2);
  EXPECT_FALSE(only(9).has_text);
  EXPECT_EQ(only(10).score, 1);
  EXPECT_EQ(only(11).kind, K::Tag);
  EXPECT_EQ(only(11).text, "[External]");
  EXPECT_EQ(only(12).kind, K::AddHeader);
  EXPECT_EQ(only(12).header, "X-Widget-External");
  EXPECT_EQ(only(12).text, "yes");
  EXPECT_EQ(only(13).kind, K::AddHeader);
  EXPECT_EQ(only(13).header, "X-Quoted");
  EXPECT_EQ(only(14).kind, K::RemoveHeader);
  EXPECT_EQ(only(14).header, "X-Spam");
  EXPECT_EQ(only(15).kind, K::Log);
  EXPECT_EQ(only(15).text, "seen");
  // Actions separated by `,`, `and` or nothing, kept in written order.
  ASSERT_EQ(r[16].actions.size(), 4u);
  EXPECT_EQ(r[16].actions[0].kind, K::Tag);
  EXPECT_EQ(r[16].actions[1].kind, K::Log);
  EXPECT_EQ(r[16].actions[2].kind, K::Score);
  EXPECT_EQ(r[16].actions[3].kind, K::Quarantine);
}

}  // namespace
}  // namespace mp::lang
