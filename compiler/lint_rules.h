// lint-internal: the lints over rule logic (L001 shadowed, L002 never fires,
// L003 duplicate, L005–L007 spoofable allow, L021 vacuous all; lint_rules.cpp) and over what tests
// name (L015 header-name typo, L016 loose domain suffix, L022 size without a unit; lint_names.cpp) and over
// what a regex says (L017 matches everything, L018 word in brackets; lint_regex.cpp), and tests whose
// value is known before a message is read (L019; lint_constant.cpp), and glob or regex
// syntax in text values (L020; lint_text.cpp).
#pragma once

#include <vector>

#include "compiler/lint.h"

namespace mp::compiler {

void lint_rules(const LintInput& in, std::vector<lang::Diagnostic>& out);
void header_names(const LintInput& in, std::vector<lang::Diagnostic>& out);
void size_units(const LintInput& in, std::vector<lang::Diagnostic>& out);
void loose_domain_suffixes(const LintInput& in, std::vector<lang::Diagnostic>& out);
void regex_lints(const LintInput& in, std::vector<lang::Diagnostic>& out);
void constant_tests(const LintInput& in, std::vector<lang::Diagnostic>& out);
void text_syntax(const LintInput& in, std::vector<lang::Diagnostic>& out);

// A warning with its code, message, primary span and label, and hint.
lang::Diagnostic lint_warning(std::string code, std::string message, lang::Span span, std::string label,
                              std::string hint);

}  // namespace mp::compiler
