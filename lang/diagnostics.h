// Diagnostics as data: a code from errors.def (or a lint code), a message, labelled
// spans and a hint. Rendered as compiler-style text with the source line and a caret
// underline, or as JSON for tools and CI.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lang/source.h"

namespace mp::lang {

enum class Severity { Error, Warning };

struct Label {
  Span span;
  std::string message;
};

struct Diagnostic {
  Severity severity = Severity::Error;
  std::string code;     // "E001", "L003", ...
  std::string message;  // one line, lower case, no trailing period
  Label primary;
  std::vector<Label> secondary;
  std::string hint;  // may be empty
};

class Diagnostics {
 public:
  void error(std::string code, std::string message, Span span, std::string label = {},
             std::string hint = {});
  void add(Diagnostic diagnostic);
  void sort_by_position();
  bool has_errors() const;
  size_t error_count() const;
  const std::vector<Diagnostic>& items() const { return items_; }
  void append(const Diagnostics& other);

 private:
  std::vector<Diagnostic> items_;
};

// The candidate closest to `word` by edit distance, if within 2 edits ("" otherwise):
// the "did you mean" of hints.
std::string closest_name(std::string_view word, const std::vector<std::string>& candidates);

// Title of a code from errors.def ("" when unknown).
std::string_view error_title(std::string_view code);
// Long explanation of a code ("" when unknown).
std::string_view error_explanation(std::string_view code);
std::vector<std::string_view> error_codes();

std::string render_text(const Diagnostic& d, const SourceMap& sources, bool color = false);
// One JSON object: {"severity","code","message","file","line","column","end_line",
// "end_column","label","hint"}.
std::string render_json(const Diagnostic& d, const SourceMap& sources);

}  // namespace mp::lang
