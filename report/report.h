// report/: a verdict as people and programs read it — policyc's text and JSON lines,
// the X-Policy-* result header fields, and the message with those fields added — shared
// by policyc, libmailpolicy (mailpolicy.h) and policyd.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vm/vm.h"

namespace mp::report {

// ---- Text and JSON (policyc run, mp_verdict_json) --------------------------------

// `auth`: the authentication results computed for the message ("spf" → "pass", …),
// printed as "auth": {…} when there are any.
std::string verdict_json(const std::string& file, const vm::Verdict& v,
                         const std::vector<std::pair<std::string, std::string>>& auth = {});
std::string verdict_text(const std::string& file, const vm::Verdict& v, bool explain);
std::string error_json(const std::string& file, const std::string& error);

// ---- Header fields (policyc run --write-headers, policyd) -------------------------

using HeaderList = std::vector<std::pair<std::string, std::string>>;  // name, value

// The headers a verdict puts on top of a message, in this order:
//   X-Policy-Verdict: ACTION[; rule=STAGE.RULE]
//   X-Policy-Score: SCORE (at most 2 decimals, trailing zeros dropped: 6.5, 4, 0.33)
//   X-Policy-Rule: STAGE.RULE at FILE:LINE     (only when a rule decided)
//   then the verdict's added_headers, in order.
HeaderList verdict_headers(const vm::Verdict& verdict);

// "6.5", "4", "0.33", "-1.25"; never "-0".
std::string format_score(double score);

// Returns `message` with
//   * a leading mbox "From " line dropped,
//   * `prepend` inserted at the very top (one "Name: value" line each),
//   * every field of the original header block whose name equals one of `remove`
//     (ASCII case-insensitive) deleted, with its folded continuation lines,
// and everything else byte for byte. New lines end like the message's first line
// (CRLF or LF; LF for an empty message). CR and LF inside a prepended value are
// replaced by spaces, so a value cannot inject header lines.
std::string rewrite_headers(std::string_view message, const HeaderList& prepend,
                            const std::vector<std::string>& remove);

}  // namespace mp::report
