// The canonical layout of policy source (`policyc fmt`). The formatter re-spaces the
// tokens of a file that parses; it never adds, drops or reorders a token, so the
// formatted policy compiles to the same rules. Comments are kept where they were;
// one blank line between items is kept where the author had one or more.
#pragma once

#include <optional>
#include <string>

#include "lang/diagnostics.h"
#include "lang/source.h"

namespace mp::lang {

inline constexpr size_t kFormatWidth = 100;

// The formatted text, or nullopt (with diagnostics) when the file does not parse.
std::optional<std::string> format_policy(const SourceMap& sources, FileId file, Diagnostics& diagnostics);

}  // namespace mp::lang
