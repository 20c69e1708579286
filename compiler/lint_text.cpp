// L020: glob or regex syntax in a text value (`subject contains "*viagra*"`,
// `attachments.name in ["*.exe"]`, `subject starts with "^Re:"`). Text tests compare
// the characters as written, so the stars and anchors are looked for in the message,
// where they almost never are: the rule silently does nothing.
#include <algorithm>
#include <cctype>
#include <set>

#include "compiler/lint_rules.h"
#include "compiler/sema.h"

namespace mp::compiler {

namespace {

using lang::CompareOp;

bool has_word(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](unsigned char c) { return std::isalnum(c) != 0; });
}

// A lone `*` at an end beside other text: a glob star. `***SPAM***` (a subject tag)
// has its stars doubled and is text.
bool glob_star_first(std::string_view t) {
  return t.size() > 1 && t[0] == '*' && t[1] != '*';
}
bool glob_star_last(std::string_view t) {
  return t.size() > 1 && t.back() == '*' && t[t.size() - 2] != '*';
}
bool caret_first(std::string_view t) {
  return t.size() > 1 && t[0] == '^' && t[1] != '^';
}
bool dollar_last(std::string_view t) {
  return t.size() > 1 && t.back() == '$' && std::isalnum(static_cast<unsigned char>(t[t.size() - 2]));
}

// `.*`, `.+`, `\d`, `\s`, `\w`, `\b`, `\.`: regex in the middle of the text.
bool regex_inside(std::string_view t) {
  if (t.find(".*") != std::string_view::npos || t.find(".+") != std::string_view::npos) return true;
  for (size_t at = t.find('\\'); at != std::string_view::npos && at + 1 < t.size();
       at = t.find('\\', at + 2)) {
    if (std::string_view("dswbDSWB.").find(t[at + 1]) != std::string_view::npos) return true;
  }
  return false;
}

// The test the author meant, the stars and anchors read as a glob or regex would.
std::string meant_test(const Sema::TextValue& v) {
  std::string_view core = v.text;
  const bool whole = v.op == CompareOp::Is || v.op == CompareOp::In;
  bool at_start = whole || v.op == CompareOp::StartsWith, at_end = whole || v.op == CompareOp::EndsWith;
  if (glob_star_first(core) || caret_first(core)) {
    at_start = core[0] == '^';
    core.remove_prefix(1);
  }
  if (glob_star_last(core) || dollar_last(core)) {
    at_end = core.back() == '$';
    core.remove_suffix(1);
  }
  const char* op = at_start && at_end ? " is "
                   : at_start         ? " starts with "
                   : at_end           ? " ends with "
                                      : " contains ";
  return "`" + v.field + op + "\"" + std::string(core) + "\"`";
}

void check(const Sema::TextValue& v, std::vector<lang::Diagnostic>& out) {
  const std::string_view t = v.text;
  if (!has_word(t) || v.op == CompareOp::Matches) return;
  const bool star = glob_star_first(t) || glob_star_last(t);
  const bool anchor = caret_first(t) || dollar_last(t);
  if (regex_inside(t)) {
    out.push_back(lint_warning("L020", "`" + v.text + "` is regex syntax in text, compared as written",
                               v.span, "looked for character by character",
                               "for a regex write `" + v.field + " matches /" + v.text + "/`"));
  } else if (star || anchor) {
    out.push_back(lint_warning("L020",
                               std::string(star ? "`*` is not a wildcard" : "`^` and `$` are not anchors") +
                                   " in text: `" + v.text + "` is compared as written",
                               v.span, star ? "looks for the star itself" : "looks for the character itself",
                               "write " + meant_test(v) +
                                   (v.field == "attachments.name" && glob_star_first(t) && t.find('.') == 1
                                        ? ", or `attachments.extension in [" + std::string(t.substr(2)) + "]`"
                                        : "")));
  }
}

}  // namespace

void text_syntax(const LintInput& in, std::vector<lang::Diagnostic>& out) {
  // A const used by many tests is one value, said once.
  std::set<std::pair<uint32_t, uint32_t>> seen;
  for (const auto& v : in.sema.text_values()) {
    if (seen.insert({v.span.file.value, v.span.begin}).second) check(v, out);
  }
}

}  // namespace mp::compiler
