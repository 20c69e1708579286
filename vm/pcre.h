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

namespace mp::vm {

struct Pcre2Deleter {
  void operator()(pcre2_real_code_8* code) const;
  void operator()(pcre2_real_match_data_8* data) const;
};
using Pcre2Code = std::unique_ptr<pcre2_real_code_8, Pcre2Deleter>;
using Pcre2MatchData = std::unique_ptr<pcre2_real_match_data_8, Pcre2Deleter>;

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
// The first match of `code` in `value`. The backtracking limits (a million steps, depth
// ten thousand) keep a hostile value from holding the message: past them PCRE2 gives
// up, and so does any other PCRE2 error; both are no match, gave_up set.
MP_API Pcre2Result match_pcre2(const pcre2_real_code_8* code, pcre2_real_match_data_8* data,
                               std::string_view value);

}  // namespace mp::vm
