// Required literals of a regex ("atoms"): strings at least one of which occurs in the
// text of every match. For the patterns Hyperscan can neither run nor prefilter (or
// only after seconds of compiling: tables.cpp, costly_for_hyperscan), Hyperscan finds
// the atoms, which is cheap to build and to scan, and PCRE2 confirms only the values
// they occur in, instead of running on every value. This is the prefilter of Suricata
// (fast_pattern) and YARA (atoms); RE2's FilteredRE2 computes the same from its own
// syntax tree but cannot parse look-around or back-references, which is why these
// patterns are here at all.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mp::compiler {

struct RequiredAtoms {
  std::vector<std::string> literals;  // bytes, lowercase when caseless; sorted
  bool caseless = false;              // to be found in any case
};

// The best set of atoms of `expression` (PCRE2 syntax; `caseless` and `extended` are
// the pattern's /i and /x flags): every match contains one of them. Returns nullopt
// when the expression uses a construct this analysis does not model (\p, \g, \k,
// conditionals, recursion, (*VERB)s, inline flags other than i, m, s), or when the best
// set is too weak to be worth it: an atom shorter than 3 bytes, or more than 256 atoms.
// Sound, not complete: a construct is widened to "any text" rather than guessed.
std::optional<RequiredAtoms> required_atoms(std::string_view expression, bool caseless, bool extended);

// A Hyperscan expression that matches any of the atoms: bytes outside [A-Za-z0-9]
// escaped as \xHH, `(?i)` first when caseless.
std::string atoms_expression(const RequiredAtoms& atoms);

}  // namespace mp::compiler
