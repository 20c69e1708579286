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

}  // namespace mp::lang
