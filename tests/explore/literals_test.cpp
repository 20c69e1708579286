// What one literal test says about another of the same value: every lemma checked
// against values that pass the first test.
#include <gtest/gtest.h>

#include "explore/literals.h"
#include "explore/regex_smt.h"

#include <hs/hs.h>

namespace mp::explore {
namespace {

using Kind = LiteralTest::Kind;

LiteralTest lit(Kind kind, std::string bytes, bool caseless = false) {
  return {kind, std::move(bytes), caseless};
}

TEST(LiteralImplies, ALongerLiteralImpliesTheShorterItHolds) {
  EXPECT_EQ(literal_implies(lit(Kind::Contains, "abc"), lit(Kind::Contains, "ab")), true);
  EXPECT_EQ(literal_implies(lit(Kind::Contains, "ab"), lit(Kind::Contains, "abc")), std::nullopt);
  EXPECT_EQ(literal_implies(lit(Kind::StartsWith, "abcd"), lit(Kind::StartsWith, "ab")), true);
  EXPECT_EQ(literal_implies(lit(Kind::StartsWith, "abcd"), lit(Kind::Contains, "bc")), true);
  EXPECT_EQ(literal_implies(lit(Kind::EndsWith, "abcd"), lit(Kind::EndsWith, "cd")), true);
  EXPECT_EQ(literal_implies(lit(Kind::EndsWith, "abcd"), lit(Kind::StartsWith, "ab")), std::nullopt);
  EXPECT_EQ(literal_implies(lit(Kind::Contains, "abcd"), lit(Kind::StartsWith, "ab")), std::nullopt);
}

TEST(LiteralImplies, AnExactValueSettlesEveryOtherTest) {
  EXPECT_EQ(literal_implies(lit(Kind::Is, "xabx"), lit(Kind::Contains, "ab")), true);
  EXPECT_EQ(literal_implies(lit(Kind::Is, "xabx"), lit(Kind::StartsWith, "ab")), false);
  EXPECT_EQ(literal_implies(lit(Kind::Is, "xabx"), lit(Kind::Is, "xab")), false);
  EXPECT_EQ(literal_implies(lit(Kind::Is, "xabx"), lit(Kind::EndsWith, "bx")), true);
}

TEST(LiteralImplies, PrefixesThatDifferExcludeEachOther) {
  EXPECT_EQ(literal_implies(lit(Kind::StartsWith, "ab"), lit(Kind::StartsWith, "ac")), false);
  EXPECT_EQ(literal_implies(lit(Kind::EndsWith, "ab", true), lit(Kind::EndsWith, "cb")), false);
  EXPECT_EQ(literal_implies(lit(Kind::StartsWith, "ab"), lit(Kind::StartsWith, "AB")), false);
  // Case aside they agree: "AB..." passes both of these.
  EXPECT_EQ(literal_implies(lit(Kind::StartsWith, "ab", true), lit(Kind::StartsWith, "AB")), std::nullopt);
  // Two contains never exclude each other.
  EXPECT_EQ(literal_implies(lit(Kind::Contains, "ab"), lit(Kind::Contains, "cd")), std::nullopt);
}

TEST(LiteralImplies, CaseIsReadAsTheSecondTestReadsIt) {
  // `matches /ab/` implies `contains "ab"` (caseless), not the other way round.
  EXPECT_EQ(literal_implies(lit(Kind::Contains, "ab"), lit(Kind::Contains, "ab", true)), true);
  EXPECT_EQ(literal_implies(lit(Kind::Contains, "ab", true), lit(Kind::Contains, "ab")), std::nullopt);
  EXPECT_EQ(literal_implies(lit(Kind::Contains, "xAbx", true), lit(Kind::Contains, "aB", true)), true);
  // Without letters case does not matter.
  EXPECT_EQ(literal_implies(lit(Kind::Contains, "1.2.3", true), lit(Kind::Contains, "2.3")), true);
  // A caseless exact value still excludes what no casing of it passes.
  EXPECT_EQ(literal_implies(lit(Kind::Is, "abc", true), lit(Kind::Contains, "bd")), false);
  EXPECT_EQ(literal_implies(lit(Kind::Is, "abc", true), lit(Kind::Contains, "bc")), std::nullopt);
}

TEST(LiteralImplies, TheEmptyLiteralHoldsOfEveryValue) {
  EXPECT_EQ(literal_implies(lit(Kind::Contains, "abc"), lit(Kind::Contains, "")), true);
  EXPECT_EQ(literal_implies(lit(Kind::Is, ""), lit(Kind::Contains, "a")), false);
}

// Each lemma checked on every value built from a few letters: a wrong one is refuted.
TEST(LiteralImplies, EveryLemmaHoldsOfEveryShortValue) {
  auto passes = [](const LiteralTest& t, std::string v) {
    std::string l = t.bytes;
    if (t.caseless) {
      for (char& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      for (char& c : l) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    switch (t.kind) {
      case Kind::Is: return v == l;
      case Kind::StartsWith: return v.starts_with(l);
      case Kind::EndsWith: return v.ends_with(l);
      case Kind::Contains: return v.find(l) != std::string::npos;
    }
    return false;
  };
  std::vector<std::string> values{""};
  for (size_t n = 0; n < values.size() && values.size() < 400; ++n) {
    if (values[n].size() < 3)
      for (char c : {'a', 'A', 'b'}) values.push_back(values[n] + c);
  }
  std::vector<LiteralTest> tests;
  for (const auto& v : {"", "a", "A", "ab", "aB", "ba", "aba"}) {
    for (Kind k : {Kind::Is, Kind::StartsWith, Kind::EndsWith, Kind::Contains}) {
      tests.push_back(lit(k, v));
      tests.push_back(lit(k, v, true));
    }
  }
  size_t lemmas = 0;
  for (const auto& a : tests) {
    for (const auto& b : tests) {
      auto implied = literal_implies(a, b);
      if (!implied) continue;
      ++lemmas;
      for (const auto& v : values) {
        if (!passes(a, v)) continue;
        EXPECT_EQ(passes(b, v), *implied) << a.bytes << " / " << b.bytes << " on " << v;
      }
    }
  }
  EXPECT_GT(lemmas, 500u);
}

// A regex as the model states it, with its atoms as encode.cpp gives them.
RegexTest regex(z3::context& ctx, const std::string& expression, std::vector<std::string> atoms = {},
                uint32_t flags = 0) {
  vm::PatternInfo p;
  p.expression = expression;
  p.hs_flags = flags;
  RegexTest out{*pattern_language(ctx, p), context_free(ctx, p), {}};
  for (auto& a : atoms) out.atoms.push_back(lit(Kind::Contains, std::move(a), flags & HS_FLAG_CASELESS));
  return out;
}

TEST(RegexImplies, AValueHoldingAMatchMatchesWhereverItIs) {
  z3::context ctx;
  RegexTest digit = regex(ctx, "x[0-9]y");
  EXPECT_TRUE(digit.context_free);
  EXPECT_EQ(literal_implies(lit(Kind::Contains, "ax5yb"), digit), true);
  EXPECT_EQ(literal_implies(lit(Kind::StartsWith, "x5y"), digit), true);
  EXPECT_EQ(literal_implies(lit(Kind::Contains, "x5"), digit), std::nullopt);
  EXPECT_EQ(literal_implies(lit(Kind::Is, "xay"), digit), false);
  // Anchored: only an exact value settles it.
  RegexTest anchored = regex(ctx, "^x[0-9]y");
  EXPECT_FALSE(anchored.context_free);
  EXPECT_EQ(literal_implies(lit(Kind::Contains, "x5y"), anchored), std::nullopt);
  EXPECT_EQ(literal_implies(lit(Kind::Is, "x5yz"), anchored), true);
  EXPECT_EQ(literal_implies(lit(Kind::Is, "zx5y"), anchored), false);
  // A literal whose case the value may not have tells nothing of a case-sensitive regex.
  EXPECT_EQ(literal_implies(lit(Kind::Contains, "x5y", true), digit), std::nullopt);
  EXPECT_EQ(literal_implies(lit(Kind::Contains, "X5Y", true), regex(ctx, "x[0-9]y", {}, HS_FLAG_CASELESS)),
            std::nullopt);
}

TEST(RegexImplies, EveryMatchHoldsAnAtom) {
  z3::context ctx;
  RegexTest invoice = regex(ctx, "invoice #[0-9]+", {"invoice #"});
  EXPECT_EQ(regex_implies(invoice, lit(Kind::Contains, "invoice")), true);
  EXPECT_EQ(regex_implies(invoice, lit(Kind::Contains, "voice #")), true);
  EXPECT_EQ(regex_implies(invoice, lit(Kind::Contains, "payment")), std::nullopt);
  // Either atom: only what both imply.
  RegexTest either = regex(ctx, "invoice|payment", {"invoice", "payment"});
  EXPECT_EQ(regex_implies(either, lit(Kind::Contains, "voice")), std::nullopt);
  EXPECT_EQ(regex_implies(either, lit(Kind::Contains, "")), true);
  // An exact value without any atom cannot match.
  EXPECT_EQ(literal_implies(lit(Kind::Is, "receipt"), either), false);
  EXPECT_EQ(literal_implies(lit(Kind::Contains, "receipt"), either), std::nullopt);
  // Caseless atoms imply only caseless literals.
  RegexTest caseless = regex(ctx, "invoice", {"invoice"}, HS_FLAG_CASELESS);
  EXPECT_EQ(regex_implies(caseless, lit(Kind::Contains, "voice")), std::nullopt);
  EXPECT_EQ(regex_implies(caseless, lit(Kind::Contains, "VOICE", true)), true);
}

}  // namespace
}  // namespace mp::explore
