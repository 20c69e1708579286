// Code generation: checked IR → bytecode, constants and the rule table. Internal to
// compiler/.
#pragma once

#include "compiler/ir.h"
#include "lang/source.h"
#include "vm/image.h"

namespace mp::compiler {

// Fills image.code, code_lines, strings, numbers, stages and rules.
void generate(const IrModule& module, const lang::SourceMap& sources, vm::ImageData& image);

}  // namespace mp::compiler
