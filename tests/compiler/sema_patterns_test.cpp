// Tests for compiler/ table building (see also sema_fields_test.cpp and
// sema_types_test.cpp): what the tables hold after semantic analysis — Hyperscan
// patterns and per-field databases (escaping, anchoring, flags, sharing, E030 for
// uncompilable regexes), hash sets with their case folding, IP nets, and constant
// folding of conditions.
#include <gtest/gtest.h>
#include <hs/hs.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "compiler/compiler.h"
#include "lang/diagnostics.h"
#include "tests/compiler/sema_test_util.h"
#include "vm/vm.h"

namespace mp::compiler {
namespace {

using namespace sema_test;
using vm::FieldId;
using vm::Op;

// ---- Patterns and databases -------------------------------------------------------------

const vm::PatternInfo* only_pattern(const Compilation& c) {
  EXPECT_TRUE(c.image);
  if (!c.image) return nullptr;
  EXPECT_EQ(c.image->patterns.size(), 1u);
  return c.image->patterns.empty() ? nullptr : &c.image->patterns[0];
}

TEST(SemaPatterns, DatabasesPerFieldWithContentTests) {
  Compilation c = compile_ok(
      "stage s {\n"
      "  rule a: if subject contains \"a\" then allow\n"
      "  rule b: if subject matches /b+/ then allow\n"
      "  rule c: if body contains \"c\" or body starts with \"d\" then allow\n"
      "  rule d: if sender is x@y.example then allow\n"   // a set, no database
      "  rule e: if client.ip in [10.0.0.0/8] then allow\n"  // a net, no database
      "  rule f: if size > 5 then allow\n"
      "  rule g: if header \"X-A\" contains \"g\" and header \"X-B\" contains \"g\" then allow\n"
      "}\n");
  ASSERT_TRUE(c.image);
  const auto& im = *c.image;
  ASSERT_EQ(im.patterns.size(), 6u);
  std::map<FieldId, std::set<uint32_t>> by_field;
  std::vector<int> reported(im.patterns.size(), 0);
  for (const auto& db : im.databases) {
    EXPECT_FALSE(db.serialized.empty());
    EXPECT_FALSE(db.pattern_ids.empty());
    for (uint32_t id : db.pattern_ids) {
      ASSERT_LT(id, im.patterns.size());
      EXPECT_EQ(im.patterns[id].field, db.field);
      ++reported[id];
      by_field[db.field].insert(id);
    }
  }
  // Every pattern is in exactly one database, of its own field, except the anchored
  // literal (`starts with`), which the VM looks up by hash; only fields with content
  // tests have databases.
  std::vector<int> expected(im.patterns.size(), 1);
  for (uint32_t id = 0; id < im.patterns.size(); ++id) {
    const bool anchored = im.patterns[id].source == "starts with \"d\"";
    EXPECT_EQ(im.patterns[id].engine == vm::Engine::Affix, anchored) << im.patterns[id].source;
    if (anchored) expected[id] = 0;
  }
  EXPECT_EQ(reported, expected);
  EXPECT_EQ(by_field.size(), 3u);
  EXPECT_EQ(by_field[FieldId::Subject].size(), 2u);
  EXPECT_EQ(by_field[FieldId::Body].size(), 1u);
  EXPECT_EQ(by_field[FieldId::HeaderValue].size(), 2u);  // one pattern per header filter
  // Plain literals share one database (Hyperscan's literal API); regexes go to another.
  size_t body_databases = 0, header_databases = 0;
  for (const auto& db : im.databases) {
    body_databases += db.field == FieldId::Body;
    header_databases += db.field == FieldId::HeaderValue;
  }
  EXPECT_EQ(body_databases, 1u);
  EXPECT_EQ(header_databases, 2u);  // one per header: the VM scans each over its header's values only
}

TEST(SemaPatterns, IdenticalTestsShareOnePattern) {
  Compilation c = compile_ok(
      "stage s {\n"
      "  rule a: if subject contains \"invoice\" then score +1\n"
      "  rule b: if subject contains \"invoice\" and size > 1 then score +2\n"
      "}\n"
      "stage t { rule c: if not subject contains \"invoice\" then allow }\n");
  ASSERT_TRUE(c.image);
  ASSERT_EQ(c.image->patterns.size(), 1u);
  auto matches = ops(*c.image, Op::Match);
  ASSERT_EQ(matches.size(), 3u);
  for (const auto& m : matches) EXPECT_EQ(m.c, 0u);
  // Same text, different test or field: different patterns.
  c = compile_ok(
      "if subject contains \"x\" or subject starts with \"x\" or body contains \"x\" or subject contains "
      "\"x\" nocase then allow\n");
  ASSERT_TRUE(c.image);
  EXPECT_EQ(c.image->patterns.size(), 4u);
}

TEST(SemaPatterns, LiteralsAreEscapedAndAnchored) {
  struct Case {
    std::string condition;
    std::string expression;
  };
  const std::vector<Case> cases = {
      {"subject contains \"invoice\"", "invoice"},
      {"subject contains \"a.b*c (d)\"", "a\\x2eb\\x2ac\\x20\\x28d\\x29"},
      {"subject contains \"\\\\x\"", "\\x5cx"},
      {"subject contains \"/^$|?+[]{}\"", "\\x2f\\x5e\\x24\\x7c\\x3f\\x2b\\x5b\\x5d\\x7b\\x7d"},
      {"subject contains \"é\"", "\\xc3\\xa9"},
      {"subject starts with \"Re:\"", "\\ARe\\x3a"},
      {"subject ends with \"!!!\"", "\\x21\\x21\\x21\\z"},
      {"subject contains 42", "42"},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.condition);
    Compilation c = compile_ok("if " + tc.condition + " then allow\n");
    const vm::PatternInfo* p = only_pattern(c);
    if (!p) continue;
    EXPECT_EQ(p->expression, tc.expression);
    EXPECT_EQ(p->field, FieldId::Subject);
    EXPECT_EQ(p->hs_flags, 0u);
    EXPECT_GT(p->literal_length, 0u);
    EXPECT_EQ(p->header_filter, "");
  }
  Compilation c = compile_ok("if subject contains \"a.b\" then allow\n");
  EXPECT_EQ(only_pattern(c)->literal_length, 3u);
  EXPECT_EQ(only_pattern(c)->source, "contains \"a.b\"");
}

TEST(SemaPatterns, Regexes) {
  Compilation c = compile_ok("if subject matches /urgent|wire transfer/ then allow\n");
  const vm::PatternInfo* p = only_pattern(c);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->expression, "urgent|wire transfer");
  EXPECT_EQ(p->hs_flags & (HS_FLAG_CASELESS | HS_FLAG_DOTALL | HS_FLAG_MULTILINE), 0u);
  EXPECT_EQ(p->literal_length, 0u);
  EXPECT_EQ(p->source, "matches /urgent|wire transfer/");
  struct Flag {
    std::string flags;
    unsigned expected;
  };
  for (const auto& f : std::vector<Flag>{{"i", HS_FLAG_CASELESS},
                                         {"s", HS_FLAG_DOTALL},
                                         {"m", HS_FLAG_MULTILINE},
                                         {"ism", HS_FLAG_CASELESS | HS_FLAG_DOTALL | HS_FLAG_MULTILINE}}) {
    c = compile_ok("if body matches /a.b/" + f.flags + " then allow\n");
    p = only_pattern(c);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->hs_flags & (HS_FLAG_CASELESS | HS_FLAG_DOTALL | HS_FLAG_MULTILINE), f.expected) << f.flags;
  }
  // `x` is Perl's free spacing, written into the expression as (?x).
  c = compile_ok("if body matches /a b/x then allow\n");
  p = only_pattern(c);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->expression, "(?x)a b");
  c = compile("if body matches /a/g then allow\n");
  EXPECT_EQ(codes(c), std::vector<std::string>{"E030"}) << rendered(c);
}

// Patterns whose bounded repeats make Hyperscan's compile take seconds (measured in
// docs/performance.md) go to PCRE2 without a database; a few small repeats stay.
TEST(SemaPatterns, RegexesCostlyForHyperscanGoToPcre2) {
  const std::string many =
      std::string("(?:a{1,25}b){0,3}") + "c{1,25}d{1,25}e{1,25}f{1,25}g{1,25}h{1,25}i{1,25}j{1,25}";
  Compilation c = compile_ok(
      "stage s {\n  rule a: if body matches /<a\\s[^>]{0,2048}>/ then allow\n"
      "  rule b: if body matches /[^<\\s]{1400}/ then allow\n"
      "  rule c: if body matches /" +
      many +
      "/ then allow\n"
      "  rule d: if body matches /x{1,80}y{2,5}/ then allow\n}\n");
  ASSERT_TRUE(c.image) << rendered(c);
  std::vector<vm::Engine> engines;
  for (const auto& p : c.image->patterns) engines.push_back(p.engine);
  EXPECT_EQ(engines, (std::vector<vm::Engine>{vm::Engine::Pcre2, vm::Engine::Pcre2, vm::Engine::Pcre2,
                                              vm::Engine::Hyperscan}));
}

TEST(SemaPatterns, RegexesHyperscanRefusesRunInPcre2BehindAPrefilter) {
  Compilation c = compile_ok(
      "stage s {\n"
      "  rule a: if subject matches /(a)\\1/ then allow\n"
      "  rule b: if subject matches /ok/ then allow\n"
      "  rule c: if subject matches /(?<=x)y/ then allow\n"
      "  rule d: if body matches /[a-z]+\\n^[a-z]/m then allow\n"
      "}\n");
  ASSERT_TRUE(c.image) << rendered(c);
  std::vector<vm::Engine> engines;
  for (const auto& p : c.image->patterns) engines.push_back(p.engine);
  EXPECT_EQ(engines, (std::vector<vm::Engine>{vm::Engine::Prefilter, vm::Engine::Hyperscan,
                                              vm::Engine::Prefilter, vm::Engine::Pcre2}));
  // A prefiltered pattern is in its field's database with HS_FLAG_PREFILTER; the one
  // PCRE2 runs alone is in none.
  EXPECT_TRUE(c.image->patterns[0].hs_flags & HS_FLAG_PREFILTER);
  for (const auto& db : c.image->databases)
    EXPECT_EQ(std::count(db.pattern_ids.begin(), db.pattern_ids.end(), 3u), 0);
}

TEST(SemaPatterns, ARegexNeitherEngineCompilesIsE030AtItsUse) {
  Compilation c = compile(
      "stage s {\n"
      "  rule a: if subject matches /(?<=a+)b/ then allow\n"
      "  rule b: if subject matches /ok/ then allow\n"
      "  rule d: if body matches /(unclosed/ then allow\n"
      "}\n");
  ASSERT_EQ(codes(c), (std::vector<std::string>{"E030", "E030"})) << rendered(c);
  std::set<uint32_t> lines;
  for (const auto& d : c.diagnostics.items()) {
    lines.insert(c.sources.line_col(d.primary.span.file, d.primary.span.begin).line);
  }
  EXPECT_EQ(lines, (std::set<uint32_t>{2, 4}));
  EXPECT_EQ(c.sources.slice(c.diagnostics.items()[0].primary.span).substr(0, 1), "/");
  EXPECT_FALSE(c.image.has_value());
}

TEST(SemaPatterns, CaselessWhenAskedAndForAddressesAndDomains) {
  struct Case {
    std::string condition;
    bool caseless;
  };
  const std::vector<Case> cases = {
      {"subject contains \"x\"", false},
      {"subject contains \"x\" nocase", true},
      {"subject starts with \"x\" nocase", true},
      {"subject matches /x/i", true},
      {"body contains \"x\"", false},
      {"from.display_name contains \"x\"", false},
      {"sender contains \"x\"", true},
      {"sender.domain ends with \".ru\"", true},
      {"from.address starts with \"ceo\"", true},
      {"from.domain ends with \".top\"", true},
      {"urls.domain ends with \".top\"", true},
      {"helo contains \"x\"", true},
      {"from.domain matches /x/", true},
      {"attachments.extension contains \"x\"", true},
      {"sender.local contains \"x\"", true},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.condition);
    Compilation c = compile_ok("if " + tc.condition + " then allow\n");
    const vm::PatternInfo* p = only_pattern(c);
    if (p) {
      EXPECT_EQ((p->hs_flags & HS_FLAG_CASELESS) != 0, tc.caseless);
    }
  }
}

// ---- Sets and nets ------------------------------------------------------------------

TEST(SemaSets, IsAndInBuildFoldedSets) {
  Compilation c = compile_ok(
      "stage s {\n"
      "  rule a: if sender is Info@Widget.COM then allow\n"
      "  rule b: if from.domain in [widget.com, Widget.CA, \"bücher.example\", widget.com] then allow\n"
      "  rule c: if subject is \"Hello\" then allow\n"
      "  rule d: if subject is \"Hello\" nocase then allow\n"
      "  rule e: if header \"X-Flag\" in [\"YES\", \"yes\"] then allow\n"
      "  rule f: if from.domain in [\"widget.ca\", widget.com, \"xn--bcher-kva.example\"] then allow\n"
      "}\n");
  ASSERT_TRUE(c.image);
  const auto& im = *c.image;
  auto sets = ops(im, Op::InSet);
  ASSERT_EQ(sets.size(), 6u);
  auto set_of = [&](size_t rule) -> const vm::SetInfo& { return im.sets.at(sets[rule].c); };
  EXPECT_EQ(set_of(0).entries, std::vector<std::string>{"info@widget.com"});
  EXPECT_EQ(set_of(0).fold, vm::Fold::Exact);
  EXPECT_EQ(set_of(1).entries, (std::vector<std::string>{"widget.ca", "widget.com", "xn--bcher-kva.example"}));
  EXPECT_EQ(set_of(2).entries, std::vector<std::string>{"Hello"});
  EXPECT_EQ(set_of(2).fold, vm::Fold::Exact);
  EXPECT_EQ(set_of(3).entries, std::vector<std::string>{"hello"});
  EXPECT_EQ(set_of(3).fold, vm::Fold::Lower);
  EXPECT_EQ(set_of(4).entries, (std::vector<std::string>{"YES", "yes"}));
  EXPECT_EQ(set_of(4).header_filter, "x-flag");
  // The same folded entries written differently are two sets, so that the evidence
  // and trace of each rule quote its own test (issue 9); written alike, one.
  EXPECT_NE(sets[5].c, sets[1].c);
  EXPECT_EQ(set_of(5).entries, set_of(1).entries);
  EXPECT_EQ(im.sets.size(), 6u);
}

TEST(SemaSets, MembershipOnCaselessTextFieldsIsCaseless) {
  // `is`/`in` on caseless text fields are caseless like `contains` on them.
  Compilation c = compile_ok("if attachments.extension in [EXE, Scr] then reject\n");
  ASSERT_TRUE(c.image);
  ASSERT_EQ(c.image->sets.size(), 1u);
  const vm::SetInfo& s = c.image->sets[0];
  bool caseless = s.fold == vm::Fold::Lower ||
                  s.entries == std::vector<std::string>{"exe", "scr"};
  EXPECT_TRUE(caseless) << "entries: " << testing::PrintToString(s.entries);
  // Precedence is lowercased when read (`Precedence: List`): "List" must match it.
  Compilation p = compile_ok("if precedence in [List, BULK] then score +1 \"list\"\n");
  ASSERT_TRUE(p.image);
  ASSERT_EQ(p.image->sets.size(), 1u);
  EXPECT_EQ(p.image->sets[0].entries, (std::vector<std::string>{"bulk", "list"}));
}

TEST(SemaNets, IpTestsBuildNets) {
  Compilation c = compile_ok(
      "stage s {\n"
      "  rule a: if client.ip in [10.1.2.3/8, 2001:db8::1/32, 192.0.2.1] then allow\n"
      "  rule b: if client.ip is 192.0.2.1 then allow\n"
      "  rule c: if client.ip not in [10.0.0.0/8, 2001:db8::/32, 192.0.2.1/32] then allow\n"
      "}\n");
  ASSERT_TRUE(c.image);
  const auto& im = *c.image;
  auto nets = ops(im, Op::InNet);
  ASSERT_EQ(nets.size(), 3u);
  std::vector<std::string> a;
  for (const auto& p : im.nets[nets[0].c].prefixes) a.push_back(p.str());
  // Host bits are cleared; a bare address is a full-length prefix.
  EXPECT_EQ(a, (std::vector<std::string>{"10.0.0.0/8", "2001:db8::/32", "192.0.2.1/32"}));
  ASSERT_EQ(im.nets[nets[1].c].prefixes.size(), 1u);
  EXPECT_EQ(im.nets[nets[1].c].prefixes[0].str(), "192.0.2.1/32");
  // Identical prefixes under another test text (`not in`) are another net, so the
  // trace quotes each rule's own test.
  EXPECT_NE(nets[2].c, nets[0].c);
  EXPECT_EQ(im.nets[nets[2].c].prefixes.size(), im.nets[nets[0].c].prefixes.size());
  EXPECT_EQ(im.nets.size(), 3u);
  EXPECT_TRUE(im.sets.empty());
  EXPECT_TRUE(im.patterns.empty());
}

// ---- Constant folding ---------------------------------------------------------------

// The opcodes of the single rule's condition (between EnterRule and its JumpIfFalse).
std::vector<Op> condition_ops(const vm::ImageData& im) {
  std::vector<Op> out;
  EXPECT_EQ(im.rules.size(), 1u);
  if (im.rules.empty()) return out;
  for (uint32_t pc = im.rules[0].code_begin + 1; pc < im.rules[0].code_end; ++pc) {
    if (im.code[pc].op == Op::JumpIfFalse) break;
    out.push_back(im.code[pc].op);
  }
  return out;
}

TEST(SemaFolding, ConstantConditionsFold) {
  struct Case {
    std::string condition;
    std::vector<Op> code;
    int patterns;  // -1: not checked (a folded-away test may leave its pattern behind)
  };
  const std::vector<Case> cases = {
      {"true", {Op::PushTrue}, 0},
      {"not false", {Op::PushTrue}, 0},
      {"false or true", {Op::PushTrue}, 0},
      {"true and false", {Op::PushFalse}, 0},
      {"not true and subject contains \"x\"", {Op::PushFalse}, -1},
      {"false and body contains \"x\"", {Op::PushFalse}, -1},
      {"true or body contains \"x\"", {Op::PushTrue}, -1},
      {"subject in []", {Op::PushFalse}, 0},
      {"not subject in []", {Op::PushTrue}, 0},
      {"body contains \"x\" and true and true", {Op::Match}, 1},
      {"body contains \"x\" or false", {Op::Match}, 1},
      {"(true and (false or true)) and body contains \"x\"", {Op::Match}, 1},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.condition);
    Compilation c = compile_ok("if " + tc.condition + " then allow\n");
    if (!c.image) continue;
    EXPECT_EQ(condition_ops(*c.image), tc.code);
    if (tc.patterns >= 0) {
      EXPECT_EQ(c.image->patterns.size(), static_cast<size_t>(tc.patterns));
    }
  }
}

TEST(SemaFolding, EmptyTextIsATestNotAConstant) {
  // `contains ""` is true of every value, but a field may have no value at all (an
  // absent header, no attachments): it stays a test.
  for (std::string condition : {"header \"X-None\" contains \"\"", "attachments.name contains \"\"",
                                "subject starts with \"\""}) {
    SCOPED_TRACE(condition);
    Compilation c = compile_ok("if " + condition + " then allow\n");
    if (!c.image) continue;
    EXPECT_EQ(condition_ops(*c.image), std::vector<Op>{Op::Match});
    ASSERT_EQ(c.image->patterns.size(), 1u);
    EXPECT_NE(c.image->patterns[0].hs_flags & HS_FLAG_ALLOWEMPTY, 0u);
  }
}

TEST(SemaFolding, QuantifiersOverConstantsStillDependOnEmptiness) {
  // `any` over no items is false and `all` over no items is true, whatever the body.
  for (std::string condition : {"any attachment (true)", "all urls (false)", "any urls (true)",
                                "all attachments (false)", "any urls (true and not false)"}) {
    SCOPED_TRACE(condition);
    Compilation c = compile_ok("if " + condition + " then allow\n");
    if (!c.image) continue;
    auto code = condition_ops(*c.image);
    EXPECT_TRUE(std::find(code.begin(), code.end(), Op::LoopBegin) != code.end() ||
                std::find(code.begin(), code.end(), Op::LoadCount) != code.end())
        << "the condition no longer looks at the collection";
  }
}

}  // namespace
}  // namespace mp::compiler
