// Diagnostic collection and rendering (text with carets, JSON).
#include "lang/diagnostics.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace mp::lang {

namespace {

struct ErrorEntry {
  std::string_view code;
  std::string_view title;
  std::string_view explanation;
};

constexpr ErrorEntry kErrors[] = {
#define MP_ERROR(code, title, explanation) {#code, title, explanation},
#include "lang/errors.def"
#undef MP_ERROR
};

const ErrorEntry* find_error(std::string_view code) {
  for (const auto& e : kErrors) {
    if (e.code == code) return &e;
  }
  return nullptr;
}

// Expands tabs (so that the caret line lines up with the source line as printed) and
// shows control bytes and bytes that are not UTF-8 as '?', so that a binary file's
// diagnostic does not write those bytes to the terminal.
std::string printable(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    size_t length = utf8_sequence_length(text, i);
    if (c == '\t') out += "    ";
    else if (length == 0 || c < 0x20 || c == 0x7F) out += '?';
    else out.append(text.substr(i, length));
    i += std::max<size_t>(length, 1);
  }
  return out;
}

size_t display_width(std::string_view text) {
  size_t width = 0;
  for (char c : text) {
    if (c == '\t') width += 4;
    else if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++width;  // count code points
  }
  return width;
}

void render_label(std::string& out, const Label& label, const SourceMap& sources, char mark,
                  size_t gutter) {
  LineCol begin = sources.line_col(label.span.file, label.span.begin);
  LineCol end = sources.line_col(label.span.file, std::max(label.span.end, label.span.begin + 1) - 1);
  std::string_view line = sources.line_text(label.span.file, begin.line);
  // Very long lines (generated or hostile input) are cut to a window around the span.
  constexpr size_t kWindow = 120;
  if (line.size() > 2 * kWindow) {
    size_t from = begin.column > kWindow / 2 ? begin.column - 1 - kWindow / 2 : 0;
    line = line.substr(from, kWindow);
    begin.column -= static_cast<uint32_t>(from);
    end.column = end.line == begin.line ? std::min<uint32_t>(end.column - static_cast<uint32_t>(from),
                                                              static_cast<uint32_t>(line.size()))
                                        : end.column;
  }
  std::string number = std::to_string(begin.line);
  out += std::string(gutter - number.size(), ' ') + number + " | " + printable(line) + "\n";
  size_t lead = display_width(line.substr(0, std::min<size_t>(begin.column - 1, line.size())));
  uint32_t last_col = end.line == begin.line ? end.column : static_cast<uint32_t>(line.size());
  size_t width = last_col >= begin.column
                     ? display_width(line.substr(begin.column - 1, last_col - begin.column + 1))
                     : 1;
  out += std::string(gutter, ' ') + " | " + std::string(lead, ' ') +
         std::string(std::max<size_t>(width, 1), mark);
  if (!label.message.empty()) out += " " + label.message;
  out += "\n";
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t next = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = row[j];
      row[j] = next;
    }
  }
  return row[b.size()];
}

}  // namespace

std::string closest_name(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = 3;  // suggest only close names
  for (const auto& c : candidates) {
    size_t d = edit_distance(word, c);
    if (d < best_distance) best_distance = d, best = c;
  }
  return best;
}

void Diagnostics::error(std::string code, std::string message, Span span, std::string label,
                        std::string hint) {
  add(Diagnostic{Severity::Error, std::move(code), std::move(message), Label{span, std::move(label)}, {},
                 std::move(hint)});
}

// The same problem reached twice (a def used by two rules) is reported once.
void Diagnostics::add(Diagnostic diagnostic) {
  for (const auto& d : items_) {
    if (d.code == diagnostic.code && d.message == diagnostic.message &&
        d.primary.span.file == diagnostic.primary.span.file && d.primary.span.begin == diagnostic.primary.span.begin) {
      return;
    }
  }
  items_.push_back(std::move(diagnostic));
}

void Diagnostics::sort_by_position() {
  std::stable_sort(items_.begin(), items_.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::pair(a.primary.span.file.value, a.primary.span.begin) <
           std::pair(b.primary.span.file.value, b.primary.span.begin);
  });
}

bool Diagnostics::has_errors() const { return error_count() > 0; }

size_t Diagnostics::error_count() const {
  return std::count_if(items_.begin(), items_.end(),
                       [](const Diagnostic& d) { return d.severity == Severity::Error; });
}

void Diagnostics::append(const Diagnostics& other) {
  items_.insert(items_.end(), other.items_.begin(), other.items_.end());
}

std::string_view error_title(std::string_view code) {
  const ErrorEntry* e = find_error(code);
  return e ? e->title : std::string_view{};
}

std::string_view error_explanation(std::string_view code) {
  const ErrorEntry* e = find_error(code);
  return e ? e->explanation : std::string_view{};
}

std::vector<std::string_view> error_codes() {
  std::vector<std::string_view> codes;
  for (const auto& e : kErrors) codes.push_back(e.code);
  return codes;
}

std::string render_text(const Diagnostic& d, const SourceMap& sources, bool color) {
  const char* bold = color ? "\033[1m" : "";
  const char* reset = color ? "\033[0m" : "";
  const char* tint = color ? (d.severity == Severity::Error ? "\033[1;31m" : "\033[1;33m") : "";
  std::string kind = d.severity == Severity::Error ? "error" : "warning";
  LineCol lc = sources.line_col(d.primary.span.file, d.primary.span.begin);
  size_t gutter = std::to_string(lc.line).size();
  for (const auto& l : d.secondary) {
    gutter = std::max(gutter,
                      std::to_string(sources.line_col(l.span.file, l.span.begin).line).size());
  }
  std::string out = std::string(tint) + kind + "[" + d.code + "]" + reset + bold + ": " +
                    d.message + reset + "\n";
  out += std::string(gutter, ' ') + "--> " + sources.location(d.primary.span) + "\n";
  out += std::string(gutter, ' ') + " |\n";
  render_label(out, d.primary, sources, '^', gutter);
  for (const auto& l : d.secondary) {
    out += std::string(gutter, ' ') + "--> " + sources.location(l.span) + "\n";
    render_label(out, l, sources, '-', gutter);
  }
  if (!d.hint.empty()) out += std::string(gutter, ' ') + " = help: " + d.hint + "\n";
  return out;
}

std::string render_json(const Diagnostic& d, const SourceMap& sources) {
  LineCol begin = sources.line_col(d.primary.span.file, d.primary.span.begin);
  LineCol end = sources.line_col(d.primary.span.file, d.primary.span.end);
  nlohmann::json j = {
      {"severity", d.severity == Severity::Error ? "error" : "warning"},
      {"code", d.code},
      {"message", d.message},
      {"file", sources.file(d.primary.span.file).path},
      {"line", begin.line},
      {"column", begin.column},
      {"end_line", end.line},
      {"end_column", end.column},
      {"label", d.primary.message},
      {"hint", d.hint},
  };
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace mp::lang
