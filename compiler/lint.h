// Lint: warnings about policies that compile but are probably wrong — shadowed,
// impossible or duplicate rules, allow rules a spoofer can trigger, slow patterns,
// unused declarations and odd list entries. Codes and explanations are in lints.def.
#pragma once

#include <string_view>
#include <vector>

#include "compiler/ir.h"
#include "compiler/sema.h"
#include "lang/ast.h"
#include "lang/diagnostics.h"

namespace mp::compiler {

struct LintInput {
  const lang::SourceMap& sources;
  const lang::Policy& policy;
  const IrModule& module;
  const Sema& sema;
};

// Warnings, minus those silenced by `# lint: allow(CODE)` annotations.
std::vector<lang::Diagnostic> lint(const LintInput& input);

std::string_view lint_title(std::string_view code);
std::string_view lint_explanation(std::string_view code);
std::vector<std::string_view> lint_codes();

}  // namespace mp::compiler
