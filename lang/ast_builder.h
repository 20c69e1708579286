// Parse tree → AST. Internal to lang/.
#pragma once

#include <functional>

#include "PolicyParser.h"
#include "lang/ast.h"
#include "lang/diagnostics.h"

namespace mp::lang {

using ByteOffsetFn = std::function<uint32_t(size_t code_point)>;

Policy build_ast(PolicyParser::PolicyFileContext* tree, FileId file, const ByteOffsetFn& offsets,
                 Diagnostics& diagnostics);

}  // namespace mp::lang
