// explore-internal: what a pattern of the image matches, as a Z3 regular expression
// over the whole value (SMT-LIB's theory of strings), for the subset of PCRE whose
// language Z3 can state exactly: literals, classes, `.`, groups, alternation, the
// repeats, ^/$ at the ends, and \b where the bytes beside it settle it (regex_pieces.h:
// beside items that each end or start in one kind of byte, alternatives one by one,
// or at the edge of the match). Look-around,
// back-references, other \b, inline options past the start and possessive repeats are not
// translated: the caller then treats the test as a free boolean, which keeps every
// proof sound (it only loses precision).
#pragma once

#include <z3++.h>

#include <bitset>
#include <optional>
#include <string>
#include <string_view>

#include "explore/literals.h"
#include "vm/image.h"

namespace mp::explore {

// A Z3 string constant holding exactly `bytes` (each byte one character, 0–255).
z3::expr string_constant(z3::context& ctx, std::string_view bytes);

// The set of values in which `pattern` finds a match (Hyperscan/PCRE2 search
// semantics: unanchored unless the pattern says ^ or $), or nullopt when the pattern
// is outside the translated subset. `alphabet`: the bytes of the values it is asked
// of (a witness's field: fuzz writes no tab in a Subject); the pattern's other bytes
// match nothing, so that `(a\tb|hello) world` is `hello world` to the solver, which
// otherwise spent a whole budget on the tab. Exact for values of those bytes only.
std::optional<z3::expr> pattern_language(z3::context& ctx, const vm::PatternInfo& pattern,
                                         const std::bitset<256>& alphabet = std::bitset<256>().set());

// Whether a value holding a match of `pattern` (which pattern_language states) matches
// wherever the match is: the pattern has no ^, $, \A or \z.
bool context_free(z3::context& ctx, const vm::PatternInfo& pattern);

// A pattern that is a literal: one the compiler wrote for `contains`/`starts with`/
// `ends with`/`is` (PatternInfo::literal_length), or a regex of letters, digits and \xHH
// escapes between optional \A and \z. The solver reasons about str.contains,
// str.prefixof and str.suffixof far better than about the equivalent regex.
std::optional<LiteralTest> literal_pattern(const vm::PatternInfo& pattern);

// The values `pcre` (no anchors, no flags) matches as a whole; throws std::logic_error
// when it is outside the translated subset (a programming error).
z3::expr exact_language(z3::context& ctx, std::string_view pcre);

// A short value in the language of `re` (a regex this file or Z3 built): the fewest
// repeats, the first alternative that has one, a letter, digit or space where a range
// allows; nullopt for the empty language or an operator it does not read.
std::optional<std::string> regex_member(const z3::expr& re);

// Every value equal to one of `words`, ignoring ASCII case when `caseless`.
z3::expr words_language(z3::context& ctx, const std::vector<std::string>& words, bool caseless);

}  // namespace mp::explore
