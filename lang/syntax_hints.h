// Hints for E001 syntax errors: what to write instead, for the mistakes people new to
// the language make (quotes, C operators, upper-case keywords, regex slips, settings
// written like YAML). Chosen from a table by the offending token, the token before it
// and where it stands (lang/syntax_hints.cpp).
#pragma once

#include <antlr4-runtime.h>

#include <string>

namespace mp::lang {

// The hint for a syntax error at `offending`, or "" when no entry applies.
std::string syntax_hint(antlr4::Parser& parser, antlr4::Token* offending);

}  // namespace mp::lang
