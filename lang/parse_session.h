// lang-internal: one run of the ANTLR lexer and parser over a file, shared by the AST
// builder and the formatter.
#pragma once

#include <antlr4-runtime.h>

#include <algorithm>
#include <functional>
#include <string_view>
#include <vector>

#include "PolicyParser.h"
#include "lang/diagnostics.h"
#include "lang/source.h"

namespace mp::lang {

// ANTLR reports positions in code points; spans are in bytes.
class OffsetMap {
 public:
  explicit OffsetMap(std::string_view text) {
    // ANTLR drops a leading byte-order mark; its code point 0 is the byte after it.
    uint32_t start = text.starts_with("\xEF\xBB\xBF") ? 3 : 0;
    for (uint32_t i = start; i < text.size(); ++i) {
      if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) byte_of_.push_back(i);
    }
    byte_of_.push_back(static_cast<uint32_t>(text.size()));
  }
  uint32_t byte(size_t code_point) const {
    return byte_of_[std::min(code_point, byte_of_.size() - 1)];
  }

 private:
  std::vector<uint32_t> byte_of_;
};

using ParseTreeUser =
    std::function<void(PolicyParser::PolicyFileContext* tree, antlr4::CommonTokenStream& tokens, const OffsetMap& offsets)>;

// Checks the text, lexes (comments on the hidden channel), refuses hostile nesting,
// parses; calls `use` when the parse is clean. Returns false after reporting errors.
bool with_parse_tree(const SourceMap& sources, FileId file, Diagnostics& diagnostics, const ParseTreeUser& use);

}  // namespace mp::lang
