// explore-internal: patterns rewritten into the syntax regex_smt translates, matching
// the same values. Quoting, comments and \x{HH} spelled plainly; and a group of
// alternatives one of which is an anchor, at a pattern's
// start or end — `(^|[^a-z])free`, `(?:^|\s)win(?:\s|$)`, SpamAssassin's idiom for a
// word edge — written as alternatives of the whole pattern, which regex_smt
// translates: `^(?:free)|(?:[^a-z])(?:free)`. PCRE matches both the same.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mp::explore {

// `pattern` (after its leading inline options) rewritten so that no anchor is inside
// a group: in each top-level alternative, the start group's alternatives (`^` and the
// others) times the end group's, each around the text between them. nullopt when no
// alternative is of that form: a quantified group, an anchor among others (`(^a|b)`),
// or a group that does not close.
std::optional<std::string> anchors_distributed(std::string_view pattern);

// `pattern` (after its leading inline options) with \Q…\E quoted text spelled as \xHH
// escapes, (?#…) comments dropped and \x{HH} written \xHH; when `extended` (a leading
// (?x)), its unescaped white space and # comments outside classes dropped too.
// nullopt when there is nothing to rewrite, or when a quantifier follows \E or a
// comment (what it applies to is not modelled), or \x{…} is past 0xff.
std::optional<std::string> spelled_plainly(std::string_view pattern, bool extended);

}  // namespace mp::explore
