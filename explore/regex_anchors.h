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

// `pattern` (after its leading inline options) in the syntax regex_smt translates:
// quoting, comments and \x{HH} spelled plainly (\xHH), then anchors taken out of groups.
// nullopt when neither rewrites it; the spelling is left as it is when a quantifier
// follows \E or a comment (what it applies to is not modelled) or \x{…} is past 0xff.
std::optional<std::string> normalised(std::string_view pattern, bool extended);

}  // namespace mp::explore
