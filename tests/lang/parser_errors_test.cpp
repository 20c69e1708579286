// Tests for lang/: syntax errors and hostile input (see also parser_test.cpp and
// parser_conditions_test.cpp). Syntax errors are reported as E001 with their
// line:column (several per file, capped, byte spans after multibyte text and a BOM);
// hostile input (deep nesting, binary junk, invalid UTF-8) is refused with E002/E003
// instead of crashing; long and/or chains stay flat.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "compiler/compiler.h"
#include "lang/lang.h"
#include "tests/lang/parser_test_util.h"

namespace mp::lang {
namespace {

using namespace parser_test;

// ---- Syntax errors -------------------------------------------------------------

TEST(ParserErrors, MissingThenIsE001AtTheAction) {
  auto p = parse_text("if sender is info@widget.com allow\n");
  ASSERT_EQ(p->diagnostics.items().size(), 1u) << p->dump();
  const Diagnostic& d = p->diagnostics.items()[0];
  EXPECT_EQ(d.code, "E001");
  EXPECT_EQ(p->at(d.primary.span).line, 1u);
  EXPECT_EQ(p->at(d.primary.span).column, 30u);
  EXPECT_EQ(p->slice(d.primary.span), "allow");
  EXPECT_NE(d.primary.message.find("`then`"), std::string::npos) << d.primary.message;
  EXPECT_FALSE(d.hint.empty());
  // A file with syntax errors yields no declarations for sema to trip over.
  EXPECT_TRUE(p->policy.stages.empty());
}

TEST(ParserErrors, SeveralErrorsInOneFileAreAllReported) {
  auto p = parse_text(
      "const ok = 1\n"                                  // 1
      "if subject contains \"x\" allow\n"               // 2: missing then, `allow` at 2:25
      "stage s {\n"                                     // 3
      "  rule r: if size > 1 then allow\n"              // 4
      "}\n"                                             // 5
      "list = [a, b]\n"                                 // 6: missing name, `=` at 6:6
      "settings { org.domains [widget.com] }\n"         // 7: missing `=`, `[` at 7:24
      "if size > 1 then frobnicate\n");                 // 8: `frobnicate` at 8:18
  std::vector<std::pair<uint32_t, uint32_t>> where;
  for (const auto& d : p->diagnostics.items()) {
    EXPECT_EQ(d.code, "E001") << p->dump();
    where.push_back({p->at(d.primary.span).line, p->at(d.primary.span).column});
  }
  std::vector<std::pair<uint32_t, uint32_t>> expected = {{2, 25}, {6, 6}, {7, 24}, {8, 18}};
  EXPECT_EQ(where, expected) << p->dump();
}

TEST(ParserErrors, ErrorAtEndOfFile) {
  auto p = parse_text("if size > 1 then\n");
  ASSERT_EQ(p->diagnostics.items().size(), 1u) << p->dump();
  const Diagnostic& d = p->diagnostics.items()[0];
  EXPECT_EQ(d.code, "E001");
  EXPECT_NE(d.message.find("end of file"), std::string::npos) << d.message;
  EXPECT_EQ(p->at(d.primary.span).line, 2u);
}

TEST(ParserErrors, StrayCharacterIsE001) {
  auto p = parse_text("if size > 1 then allow\nif subject contains \"x\" $ then allow\n");
  ASSERT_FALSE(p->diagnostics.items().empty());
  const Diagnostic& d = p->diagnostics.items()[0];
  EXPECT_EQ(d.code, "E001");
  EXPECT_EQ(p->at(d.primary.span).line, 2u);
  EXPECT_EQ(p->at(d.primary.span).column, 25u);
  EXPECT_EQ(p->slice(d.primary.span), "$");
}

TEST(ParserErrors, UnterminatedStringIsE001) {
  auto p = parse_text("if subject contains \"unterminated then allow\n");
  ASSERT_FALSE(p->diagnostics.items().empty());
  EXPECT_EQ(p->diagnostics.items()[0].code, "E001");
  EXPECT_EQ(p->at(p->diagnostics.items()[0].primary.span).column, 21u);
}

TEST(ParserErrors, BadStringEscapeIsE022) {
  auto p = parse_text("if subject contains \"a\\qb\" then allow\n");
  ASSERT_EQ(p->diagnostics.items().size(), 1u) << p->dump();
  EXPECT_EQ(p->diagnostics.items()[0].code, "E022");
  EXPECT_EQ(p->slice(p->diagnostics.items()[0].primary.span), "\"a\\qb\"");
}

TEST(ParserErrors, SyntaxErrorsAreCapped) {
  std::string text;
  for (int i = 0; i < 100; ++i) text += "if size > 1 allow\n";
  auto p = parse_text(text);
  EXPECT_GE(p->diagnostics.items().size(), 2u);
  EXPECT_LE(p->diagnostics.items().size(), 20u);
}

TEST(ParserErrors, SpansAreBytesAfterMultibyteText) {
  // "é" and "€" are 2 and 3 bytes: a span in code points would be off by 3.
  auto p = parse_text("if subject contains \"é€\" allow\n");
  ASSERT_EQ(p->diagnostics.items().size(), 1u) << p->dump();
  const Span& s = p->diagnostics.items()[0].primary.span;
  EXPECT_EQ(p->slice(s), "allow");
  EXPECT_EQ(p->at(s).column, 29u);  // byte column
}

TEST(ParserErrors, SpansAreRightAfterAUtf8ByteOrderMark) {
  auto p = parse_text("\xEF\xBB\xBFif subject contains \"x\" allow\n");
  ASSERT_EQ(p->diagnostics.items().size(), 1u) << p->dump();
  EXPECT_EQ(p->slice(p->diagnostics.items()[0].primary.span), "allow");
  auto ok = parse_ok("\xEF\xBB\xBFstage s { rule r: if size > 1 then allow }\n");
  ASSERT_EQ(ok->policy.stages.size(), 1u);
  EXPECT_EQ(ok->slice(ok->policy.stages[0].rules[0].name_span), "r");
}

// ---- Hostile input ---------------------------------------------------------------

TEST(ParserLimits, FiftyThousandNestedParenthesesIsE002) {
  std::string text = "if " + std::string(50000, '(') + "subject contains \"x\"" + std::string(50000, ')') +
                     " then allow\n";
  auto p = parse_text(text);
  ASSERT_EQ(p->diagnostics.items().size(), 1u);
  const Diagnostic& d = p->diagnostics.items()[0];
  EXPECT_EQ(d.code, "E002");
  // The first parenthesis past the limit: "if " is 3 bytes, then kMaxNesting of them.
  EXPECT_EQ(p->at(d.primary.span).column, 4u + kMaxNesting);
  EXPECT_EQ(p->slice(d.primary.span), "(");
  EXPECT_TRUE(p->policy.stages.empty());
}

TEST(ParserLimits, FiftyThousandNotsIsE002) {
  std::string text = "if ";
  for (int i = 0; i < 50000; ++i) text += "not ";
  text += "subject contains \"x\" then allow\n";
  auto p = parse_text(text);
  ASSERT_EQ(p->diagnostics.items().size(), 1u);
  const Diagnostic& d = p->diagnostics.items()[0];
  EXPECT_EQ(d.code, "E002");
  EXPECT_EQ(p->at(d.primary.span).column, 4u + 4u * kMaxNesting);
  EXPECT_EQ(p->slice(d.primary.span), "not");
}

TEST(ParserLimits, DeepBracketsAndQuantifiersAreE002) {
  auto p = parse_text("const x = " + std::string(50000, '[') + std::string(50000, ']') + "\n");
  ASSERT_EQ(p->diagnostics.items().size(), 1u);
  EXPECT_EQ(p->diagnostics.items()[0].code, "E002");

  std::string text = "if ";
  for (int i = 0; i < 5000; ++i) text += "any urls (";
  text += "domain is x" + std::string(5000, ')') + " then allow\n";
  p = parse_text(text);
  ASSERT_EQ(p->diagnostics.items().size(), 1u);
  EXPECT_EQ(p->diagnostics.items()[0].code, "E002");
}

TEST(ParserLimits, NestingAtTheLimitIsAccepted) {
  std::string cond = std::string(kMaxNesting, '(') + "subject contains \"x\"" + std::string(kMaxNesting, ')');
  auto h = parse_condition(cond);
  EXPECT_EQ(h.cond->kind, CondKind::Compare);  // parentheses leave no nodes

  std::string nots;
  for (int i = 0; i < kMaxNesting; ++i) nots += "not ";
  auto n = parse_condition(nots + "subject contains \"x\"");
  int depth = 0;
  for (const Condition* c = n.cond.get(); c->kind == CondKind::Not; c = c->children[0].get()) ++depth;
  EXPECT_EQ(depth, kMaxNesting);

  compiler::Compilation c = compiler::compile_source("deep.mp", "if " + nots + cond + " then allow\n");
  EXPECT_TRUE(c.ok());
}

TEST(ParserLimits, TwentyThousandAndsCompileFlat) {
  std::string text = "if size > 0";
  for (int i = 0; i < 20000; ++i) text += " and subject contains \"x\"";
  text += " then allow\n";
  auto p = parse_ok(text);
  ASSERT_EQ(p->policy.stages.size(), 1u);
  const Condition& c = *p->policy.stages[0].rules[0].condition;
  ASSERT_EQ(c.kind, CondKind::And);
  EXPECT_EQ(c.children.size(), 20001u);

  compiler::Compilation compiled = compiler::compile_source("chain.mp", text);
  ASSERT_TRUE(compiled.ok());
  EXPECT_EQ(compiled.image->patterns.size(), 1u);  // one shared pattern
  EXPECT_GT(compiled.image->code.size(), 20000u);
}

TEST(ParserLimits, TwentyThousandOrsCompileFlat) {
  std::string text = "if subject contains \"x0\"";
  for (int i = 1; i <= 20000; ++i) text += " or not size > " + std::to_string(i);
  text += " then allow\n";
  compiler::Compilation compiled = compiler::compile_source("chain.mp", text);
  ASSERT_TRUE(compiled.ok());
  EXPECT_EQ(compiled.image->rules.size(), 1u);
}

TEST(ParserLimits, BinaryJunkIsE003) {
  std::mt19937 rng(12345);
  for (int round = 0; round < 20; ++round) {
    std::string junk(4096, '\0');
    for (char& c : junk) c = static_cast<char>(rng() & 0xFF);
    junk[100] = '\0';
    auto p = parse_text(junk);
    ASSERT_EQ(p->diagnostics.items().size(), 1u) << "round " << round;
    EXPECT_EQ(p->diagnostics.items()[0].code, "E003");
    EXPECT_TRUE(p->policy.stages.empty());
    // The whole pipeline refuses it too, without an image.
    compiler::Compilation c = compiler::compile_source("junk.mp", junk);
    EXPECT_FALSE(c.ok());
    EXPECT_FALSE(c.image.has_value());
  }
}

TEST(ParserLimits, ControlCharactersAndNulAreE003AtTheirOffset) {
  for (char bad : {'\0', '\x01', '\x1b', '\x7f', '\f', '\v'}) {
    std::string text = "if size > 1 then allow\nif size ";
    text += bad;
    text += "> 2 then allow\n";
    auto p = parse_text(text);
    ASSERT_EQ(p->diagnostics.items().size(), 1u) << int(bad);
    const Diagnostic& d = p->diagnostics.items()[0];
    EXPECT_EQ(d.code, "E003");
    EXPECT_EQ(p->at(d.primary.span).line, 2u);
    EXPECT_EQ(p->at(d.primary.span).column, 9u);
  }
}

TEST(ParserLimits, TruncatedAndStrayUtf8IsE003) {
  for (std::string bad : {std::string("\xff"), std::string("\xfe"), std::string("\x80"),
                          std::string("\xe2\x82"), std::string("\xc3"), std::string("\xf0\x9f\x98")}) {
    auto p = parse_text("if subject contains \"" + bad + "\" then allow\n");
    ASSERT_EQ(p->diagnostics.items().size(), 1u);
    EXPECT_EQ(p->diagnostics.items()[0].code, "E003");
    EXPECT_EQ(p->at(p->diagnostics.items()[0].primary.span).column, 22u);
  }
  // Truncated sequence at the very end of the file.
  auto p = parse_text("if size > 1 then allow # \xe2\x82");
  ASSERT_EQ(p->diagnostics.items().size(), 1u);
  EXPECT_EQ(p->diagnostics.items()[0].code, "E003");
}

TEST(ParserLimits, ValidUtf8IsAccepted) {
  auto h = parse_condition("subject contains \"héllo wörld € 😀\"");
  EXPECT_EQ(h.cond->rhs.literal.text, "héllo wörld € 😀");
}

TEST(ParserLimits, OverlongSurrogateAndOutOfRangeUtf8IsE003) {
  for (std::string bad : {std::string("\xc0\xaf"), std::string("\xc1\xbf"), std::string("\xe0\x80\xaf"),
                          std::string("\xed\xa0\x80"), std::string("\xf4\x90\x80\x80"),
                          std::string("\xf5\x80\x80\x80"), std::string("\xf7\xbf\xbf\xbf")}) {
    std::string text = "if subject contains \"" + bad + "\" then allow\n";
    SCOPED_TRACE(testing::PrintToString(bad));
    std::unique_ptr<Parsed> p;
    try {
      p = parse_text(text);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "lang::parse threw " << e.what();
      continue;
    }
    ASSERT_EQ(p->diagnostics.items().size(), 1u);
    EXPECT_EQ(p->diagnostics.items()[0].code, "E003");
    EXPECT_EQ(p->at(p->diagnostics.items()[0].primary.span).column, 22u);
  }
}

}  // namespace
}  // namespace mp::lang
