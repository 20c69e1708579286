// lint-internal: the lints over rule logic (L001 shadowed, L002 never fires,
// L003 duplicate, L005–L007 spoofable allow).
#pragma once

#include <vector>

#include "compiler/lint.h"

namespace mp::compiler {

void lint_rules(const LintInput& in, std::vector<lang::Diagnostic>& out);

}  // namespace mp::compiler
