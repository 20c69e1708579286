// SourceMap: line tables for turning byte offsets into line:column.
#include "lang/source.h"

#include <algorithm>

namespace mp::lang {

FileId SourceMap::add(std::string path, std::string text) {
  SourceFile file{std::move(path), std::move(text), {0}};
  for (uint32_t i = 0; i < file.text.size(); ++i) {
    if (file.text[i] == '\n') file.line_starts.push_back(i + 1);
  }
  files_.push_back(std::move(file));
  return FileId{static_cast<uint32_t>(files_.size() - 1)};
}

LineCol SourceMap::line_col(FileId id, uint32_t offset) const {
  const auto& starts = file(id).line_starts;
  auto it = std::upper_bound(starts.begin(), starts.end(), offset);
  auto line = static_cast<uint32_t>(it - starts.begin());
  return {line, offset - starts[line - 1] + 1};
}

std::string_view SourceMap::line_text(FileId id, uint32_t line) const {
  const auto& f = file(id);
  if (line == 0 || line > f.line_starts.size()) return {};
  uint32_t begin = f.line_starts[line - 1];
  uint32_t end = line < f.line_starts.size() ? f.line_starts[line] : f.text.size();
  std::string_view text(f.text);
  text = text.substr(begin, end - begin);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  return text;
}

std::string_view SourceMap::slice(const Span& span) const {
  std::string_view text(file(span.file).text);
  if (span.begin > text.size()) return {};
  return text.substr(span.begin, std::min<size_t>(span.end, text.size()) - span.begin);
}

std::string SourceMap::location(const Span& span) const {
  LineCol lc = line_col(span.file, span.begin);
  return file(span.file).path + ":" + std::to_string(lc.line) + ":" + std::to_string(lc.column);
}

// Length of the well-formed UTF-8 sequence at `i` (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF), or 0.
size_t utf8_sequence_length(std::string_view text, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(text[i + k]); };
  unsigned char c = byte(0);
  if (c < 0x80) return 1;
  size_t length = (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (length == 0 || i + length > text.size()) return 0;
  uint32_t cp = c & (0x7F >> length);
  for (size_t k = 1; k < length; ++k) {
    if ((byte(k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(k) & 0x3F);
  }
  static const uint32_t kMinimum[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMinimum[length] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return length;
}

}  // namespace mp::lang
