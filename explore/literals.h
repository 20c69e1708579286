// explore-internal: what one test of a value says about another test of the same value
// (a literal, a regex). The search adds it as a lemma: Z3's string solver can spend its
// whole time limit finding that a subject without "ab" in any case cannot match /ab/,
// or that one containing "x5y" matches /x[0-9]y/, which a look at the literals settles.
#pragma once

#include <z3++.h>

#include <optional>
#include <string>
#include <vector>

namespace mp::explore {

// A test of a value against a literal: `is`, `starts with`, `ends with`, `contains`,
// or `matches` of a pattern that is a plain literal; `caseless` ignores ASCII case (the
// bytes are read as bytes: Hyperscan's caseless flag folds A-Z only outside UTF-8 mode).
struct LiteralTest {
  enum class Kind { Is, StartsWith, EndsWith, Contains };
  Kind kind = Kind::Contains;
  std::string bytes;
  bool caseless = false;
};

// What `a` holding says of `b` on the same value: true (b holds too), false (b fails)
// or nullopt (either may hold). Sound for every value, never complete.
std::optional<bool> literal_implies(const LiteralTest& a, const LiteralTest& b);

// A test by a regex the model states (regex_smt.h), as literal tests see it.
struct RegexTest {
  z3::expr search;                 // the values it finds a match in
  bool context_free = false;       // no anchors: a value holding a match matches
  std::vector<LiteralTest> atoms;  // a value it matches passes one of these (contains)
};

// The same for a literal test and a regex test, either way round: a literal value in
// the regex's language (Z3 evaluates the constant) or holding a match of a context-free
// regex; a literal that excludes every atom, or an atom each of which implies it.
std::optional<bool> literal_implies(const LiteralTest& a, const RegexTest& b);
std::optional<bool> regex_implies(const RegexTest& a, const LiteralTest& b);

}  // namespace mp::explore
