// One SpamAssassin rule (not a meta) as a condition of this language. Internal to
// importer/.
#pragma once

#include <string>
#include <variant>

#include "importer/sa_config.h"

namespace mp::importer {

// Why a rule is not translated: Skipped::kind and reason.
struct Untranslatable {
  std::string kind;
  std::string reason;
};

// `/pattern/flags` or `m{pattern}flags` (any delimiter) as this language writes a
// regex, `/pattern/flags`, and what followed it on the line. Bytes outside printable
// ASCII become \xHH (the regex reads bytes either way).
struct RegexLiteral {
  std::string literal;
  std::string rest;
  std::string pattern, flags;  // as written between the slashes, and after them
};
// Whether the regex matches `text` (PCRE2, as the VM runs it).
bool regex_matches(const RegexLiteral& regex, std::string_view text);
std::variant<RegexLiteral, Untranslatable> regex_literal(std::string_view perl);

// The condition a header, body, rawbody, uri, full or mimeheader rule tests, after its
// ReplaceTags; the reason when it has none (eval:, a view the language lacks).
std::variant<std::string, Untranslatable> rule_condition(const SaRule& rule, const SaConfig& config);

// What reads as false with score set 0 in SpamAssassin too: a network test or Bayes.
// "" for a rule that runs locally.
std::string off_in_score_set_0(const SaRule& rule, const SaConfig& config);

}  // namespace mp::importer
