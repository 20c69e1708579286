// explore-internal: what one literal test of a value says about another test of the
// same value. The search adds it as a lemma: Z3's string solver can spend its whole time
// limit finding that a subject without "ab" in any case cannot match /ab/, which a
// comparison of the two literals settles at once.
#pragma once

#include <optional>
#include <string>

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

}  // namespace mp::explore
