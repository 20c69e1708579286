// lang/: policy text → AST. The one entry point of the library.
#pragma once

#include "lang/ast.h"
#include "lang/diagnostics.h"
#include "lang/source.h"

namespace mp::lang {

// Name of the stage that bare `if … then …` rules go to.
inline constexpr const char* kBareRuleStage = "custom_filters";
// The gateway pipeline's stages, in the order they run (PIPELINE.md). A stage with
// one of these names runs at its place in the pipeline wherever it is declared; any
// other stage runs with custom_filters, after it, in declaration order.
inline constexpr const char* kPipelineStages[] = {
    "reputation", "dns", "antivirus", "attachment_defense",
    "anti_spoofing", "custom_filters", "spam_engine", "url_defense"};
// Deepest nesting of parentheses/not/quantifiers accepted (E002 beyond).
inline constexpr int kMaxNesting = 200;

// Parses one file already added to `sources`. Syntax errors are reported in
// `diagnostics` (several per file, with recovery); the returned Policy holds every
// declaration that parsed.
Policy parse(const SourceMap& sources, FileId file, Diagnostics& diagnostics);

// Unescapes a string literal body (between the quotes). Returns false on a bad escape.
bool unescape_string(std::string_view body, std::string& out);

}  // namespace mp::lang
