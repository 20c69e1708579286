// Source files and spans. Every AST node carries a Span (file id + byte range) so
// that diagnostics, disassembly and verdict traces can point at policy text.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mp::lang {

struct FileId {
  uint32_t value = 0;
  bool operator==(const FileId&) const = default;
};

struct Span {
  FileId file;
  uint32_t begin = 0;  // byte offset of the first character
  uint32_t end = 0;    // byte offset one past the last character
};

struct LineCol {
  uint32_t line = 1;    // 1-based
  uint32_t column = 1;  // 1-based, in bytes
};

struct SourceFile {
  std::string path;
  std::string text;
  std::vector<uint32_t> line_starts;  // byte offset of each line's first character
};

// Owns the text of every file a compilation reads (policy files, stdlib).
class SourceMap {
 public:
  FileId add(std::string path, std::string text);
  const SourceFile& file(FileId id) const { return files_.at(id.value); }
  LineCol line_col(FileId id, uint32_t offset) const;
  std::string_view line_text(FileId id, uint32_t line) const;
  std::string_view slice(const Span& span) const;
  std::string location(const Span& span) const;  // "path:line:col"

 private:
  std::vector<SourceFile> files_;
};

// Length of the well-formed UTF-8 sequence starting at byte `i` of `text` (RFC 3629:
// no overlong forms, no surrogates, nothing above U+10FFFF), or 0 when there is none.
size_t utf8_sequence_length(std::string_view text, size_t i);

}  // namespace mp::lang
