// required_atoms: which literals every match of a regex contains (compiler/regex_atoms.h).
#include "compiler/regex_atoms.h"

#include <gtest/gtest.h>
#include <hs/hs.h>

#include <algorithm>
#include <random>

#include "vm/pcre.h"

namespace mp::compiler {
namespace {

using Atoms = std::vector<std::string>;

std::optional<Atoms> atoms(const std::string& re, bool caseless = false) {
  auto a = required_atoms(re, caseless, false);
  if (!a) return std::nullopt;
  return a->literals;
}

TEST(RegexAtoms, LiteralRunsAcrossAnchorsAndShortClasses) {
  EXPECT_EQ(atoms("pay\\n^the"), (Atoms{"pay\nthe"}));
  EXPECT_EQ(atoms("\\bcolou?r\\b"), (Atoms{"color", "colour"}));
  EXPECT_EQ(atoms("gr[ae]y"), (Atoms{"gray", "grey"}));
  EXPECT_EQ(atoms("[a-z]+invoice\\d+"), (Atoms{"invoice"}));
  EXPECT_EQ(atoms("\\x41\\102C\\Q.*\\E"), (Atoms{"ABC.*"}));
}

TEST(RegexAtoms, TheMostSelectiveCandidateWins) {
  // Two required pieces: the one whose shortest atom is longer.
  EXPECT_EQ(atoms("abc\\s+(?:invoice|receipt)"), (Atoms{"invoice", "receipt"}));
  EXPECT_EQ(atoms("(?:a|b)\\d+lottery"), (Atoms{"lottery"}));
}

TEST(RegexAtoms, AlternationNeedsEveryBranch) {
  EXPECT_EQ(atoms("(?:invoice|receipt)(?!\\s+paid)"), (Atoms{"invoice", "receipt"}));
  // One branch needs nothing: no atoms.
  EXPECT_EQ(atoms("invoice|\\d+"), std::nullopt);
  EXPECT_EQ(atoms("(?:invoice)?\\d+"), std::nullopt);
}

TEST(RegexAtoms, RepeatsJoinTheTextAroundThem) {
  // d+ starts and ends with d: "ad" before it, "dres" from its end to the s+.
  EXPECT_EQ(atoms("\\bad+res+\\b"), (Atoms{"dres"}));
  EXPECT_EQ(atoms("x(?:ab)+c"), (Atoms{"xab"}));
  EXPECT_EQ(atoms("\\d+(?:ab|cd)+\\.exe"), (Atoms{"ab.exe", "cd.exe"}));
  EXPECT_EQ(atoms("[a-z]+(?:invoice|bill)+s?\\d"), (Atoms{"bill", "invoice"}));
}

TEST(RegexAtoms, RepeatsKeepWhatTheyNeedOnce) {
  EXPECT_EQ(atoms("(?:win){2,5}"), (Atoms{"winwin"}));
  EXPECT_EQ(atoms("(?:win)*\\d"), std::nullopt);
  EXPECT_EQ(atoms("x{3}"), (Atoms{"xxx"}));
}

TEST(RegexAtoms, CaselessAtomsAreLowercase) {
  EXPECT_EQ(atoms("Invoice", true), (Atoms{"invoice"}));
  // An inline (?i) anywhere makes every atom caseless: a superset, still sound.
  auto a = required_atoms("Pay(?i:ment)", false, false);
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->caseless);
  EXPECT_EQ(a->literals, (Atoms{"payment"}));
}

TEST(RegexAtoms, LookAroundAndBackReferencesMatchNothingOfTheirOwn) {
  EXPECT_EQ(atoms("(?<=x)invoice(?=\\d)"), (Atoms{"invoice"}));
  EXPECT_EQ(atoms("(\\w+) \\1 bill"), (Atoms{" bill"}));
  // \223 after no group is octal, as PCRE2 reads it.
  EXPECT_EQ(atoms("a\\223bc"), (Atoms{"a\x93"
                                      "bc"}));
}

TEST(RegexAtoms, WeakOrUnknownGivesNone) {
  EXPECT_EQ(atoms("ab\\d"), std::nullopt);           // shorter than 3 bytes
  EXPECT_EQ(atoms("\\p{Lu}invoice"), std::nullopt);  // a construct not modelled
  EXPECT_EQ(atoms("(*UTF)invoice"), std::nullopt);
  EXPECT_EQ(atoms("(?(1)a|b)invoice"), std::nullopt);
  EXPECT_EQ(atoms("inv[oice"), std::nullopt);  // unbalanced
}

TEST(RegexAtoms, AQuantifierAfterWhatMatchesNothingIsNotGuessed) {
  // PCRE2 applies it to the byte before (?#...), \E or \Q\E, or to the last byte of
  // \Q...\E: "abc" + "d"? — found by a user in session 11, each a false negative.
  EXPECT_EQ(atoms("abcd(?#c)?wxyz"), std::nullopt);
  EXPECT_EQ(atoms("abcd\\E?wxyz"), std::nullopt);
  EXPECT_EQ(atoms("abcd\\Q\\E{0}wxyz"), std::nullopt);
  EXPECT_EQ(atoms("x\\Qabcd\\E?yz"), std::nullopt);
  EXPECT_EQ(atoms("(?:abcd(?#c))?wxyz"), (Atoms{"abcdwxyz", "wxyz"}));  // the group is quantified: fine
}

TEST(RegexAtoms, ExtendedModeSkipsSpaceAndComments) {
  auto a = required_atoms("(?x) in voice  # the word\n \\d+", false, false);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->literals, (Atoms{"invoice"}));
}

TEST(RegexAtoms, TheExpressionIsOneHyperscanAccepts) {
  RequiredAtoms a{{"pay\nthe", "a|b"}, true};
  const std::string expr = atoms_expression(a);
  EXPECT_EQ(expr, "(?i)(?:pay\\x0athe|a\\x7cb)");
  hs_expr_info_t* info = nullptr;
  hs_compile_error_t* error = nullptr;
  ASSERT_EQ(hs_expression_info(expr.c_str(), 0, &info, &error), HS_SUCCESS);
  free(info);
}

// Soundness: over random texts, every match PCRE2 finds contains one of the atoms.
TEST(RegexAtoms, EveryMatchContainsAnAtom) {
  const std::vector<std::pair<std::string, bool>> regexes = {
      {"abc\\s*(?:cab|bca)", false},
      {"(?:ab|ba)c(?=a)", false},
      {"a(b|c)\\1cab", false},
      {"(?:cab){1,2}b?", false},
      {"B[ac]a", true},
      {"(?>a+)bca", false},
      {"(?:a|b)+(?:cab|bac)(?:c|$)", false},
      {"x?abc|bca\\b", false},
      {"c(?:ab)?ca?b", false},
      {"ab+cab+", false},
      {"c(?:ab)+c", false},
      {"(?:ba|ab){2,4}c", false},
      {"b(?:a\\w|c)+abc", false},
      {"(?:abc(?#x))?cab", false},
      {"a\\Qbc\\Ea", false},
      // `[:` is a POSIX item only when its `:]` comes before any `]`: here the class
      // is `[`, `:`, `a`, and `|` splits the regex (vm/regex_syntax.h).
      {"[[:a]bca|bc:]ab]cab", false},
      {"[[:alpha:]]bca", false},

  };
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> letter(0, 4), length(0, 24);
  const std::string alphabet = "abcAB";
  auto data = vm::make_match_data();
  for (const auto& [re, caseless] : regexes) {
    auto a = required_atoms(re, caseless, false);
    ASSERT_TRUE(a) << re;
    std::string error;
    auto code = vm::compile_pcre2(re, caseless ? HS_FLAG_CASELESS : 0, &error);
    ASSERT_TRUE(code) << error;
    int matches = 0;
    for (int i = 0; i < 20000; ++i) {
      std::string text;
      for (int n = length(rng); n > 0; --n) text += (n % 7 == 0 ? ' ' : alphabet[letter(rng)]);
      auto r = vm::match_pcre2(code.get(), data.get(), text);
      if (!r.match) continue;
      ++matches;
      std::string found = text.substr(r.match->begin, r.match->end - r.match->begin);
      if (a->caseless) std::transform(found.begin(), found.end(), found.begin(), ::tolower);
      const bool contains = std::any_of(a->literals.begin(), a->literals.end(), [&](const std::string& atom) {
        return found.find(atom) != std::string::npos;
      });
      ASSERT_TRUE(contains) << re << " matched '" << found << "' in '" << text << "'";
    }
    EXPECT_GT(matches, 0) << re;  // the check ran on real matches
  }
}

}  // namespace
}  // namespace mp::compiler
