// PCRE2 for the patterns Hyperscan refuses (PatternInfo::engine): compiled with the
// options the pattern's Hyperscan flags stand for, JIT-compiled where the platform
// allows, and matched one field value at a time. PCRE2 is the reference Perl-style
// engine (pcre2pattern(3)): look-around, back-references, atomic groups and
// possessive quantifiers are all its own.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/api_export.h"
#include "vm/image.h"

struct pcre2_real_code_8;
struct pcre2_real_match_data_8;
struct pcre2_real_match_context_8;

namespace mp::vm {

struct Pcre2Deleter {
  void operator()(pcre2_real_code_8* code) const;
  void operator()(pcre2_real_match_data_8* data) const;
  void operator()(pcre2_real_match_context_8* context) const;
};
using Pcre2Code = std::unique_ptr<pcre2_real_code_8, Pcre2Deleter>;
using Pcre2MatchData = std::unique_ptr<pcre2_real_match_data_8, Pcre2Deleter>;
using Pcre2MatchContext = std::unique_ptr<pcre2_real_match_context_8, Pcre2Deleter>;

// Compiles `expression` with the PCRE2 options of `hs_flags` (caseless, dotall,
// multiline, UTF-8, UCP) and JIT-compiles it. On failure: null, and `error` says why
// with the offset ("lookbehind assertion is not fixed length at offset 7").
MP_API Pcre2Code compile_pcre2(const std::string& expression, uint32_t hs_flags, std::string* error);

// One match data block, large enough for any pattern's whole-match offsets.
MP_API Pcre2MatchData make_match_data();

struct Pcre2Match {
  uint64_t begin = 0, end = 0;  // byte offsets of the first match in the value
};
struct Pcre2Result {
  std::optional<Pcre2Match> match;
  bool gave_up = false;  // the backtracking limit was hit: no match, but not a true "no"
};
// Backtracking limits for match_pcre2: `match_limit` steps of pcre2_match for one value
// (regex.match_limit; pcre2api(3) "The match limit") and a nesting depth of ten
// thousand, well above what a sane pattern needs on a field value. `match_limit` is at
// least 1; the match context is never null (std::bad_alloc when memory is short).
MP_API Pcre2MatchContext make_match_context(uint32_t match_limit);

// The first match of `code` in `value`, under `context`'s limits (null: the default
// regex.match_limit, RegexLimits). Past a limit PCRE2 gives up so that a hostile value
// cannot hold the message, and so does any other PCRE2 error; both are no match,
// gave_up set.
MP_API Pcre2Result match_pcre2(const pcre2_real_code_8* code, pcre2_real_match_data_8* data,
                               std::string_view value, const pcre2_real_match_context_8* context = nullptr);

}  // namespace mp::vm
