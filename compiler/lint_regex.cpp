// The lints over what a regex says: one that matches every value (L017), and a word
// in brackets that is a class of its letters (L018).
#include <hs/hs.h>

#include <algorithm>
#include <cctype>

#include "compiler/lint_rules.h"
#include "vm/pcre.h"
#include "vm/regex_syntax.h"

namespace mp::compiler {

namespace {

// Whether PCRE2 matches the regex in each of a few unlike values: the empty one, a
// letter pair, and printable and control bytes beside a line break. A regex that
// matches them all matches the empty string anywhere.
bool matches_everything(const vm::PatternInfo& p) {
  vm::Pcre2Code code = vm::compile_pcre2(p.expression, p.hs_flags & ~HS_FLAG_PREFILTER, nullptr);
  if (!code) return false;
  vm::Pcre2MatchData data = vm::make_match_data();
  static constexpr std::string_view kProbes[] = {"", "zq", "Q9 ~#\n\x01\x7f"};
  return std::all_of(std::begin(kProbes), std::end(kProbes), [&](std::string_view probe) {
    return vm::match_pcre2(code.get(), data.get(), probe).match.has_value();
  });
}

// `[SPAM]`, `[Ext]`: a class of three or more letters, digits or spaces, none escaped,
// out of order or with one twice, as a word is and a set of letters (`[aeiou]`) is not.
std::optional<std::string> bracketed_word(std::string_view expression) {
  for (size_t open = expression.find('['); open != std::string_view::npos;) {
    if (open > 0 && expression[open - 1] == '\\') {
      open = expression.find('[', open + 1);
      continue;
    }
    const size_t end = vm::class_end(expression, open);
    if (end == std::string_view::npos) return std::nullopt;
    const std::string_view inside = expression.substr(open + 1, end - open - 2);
    const bool plain = inside.size() >= 3 && std::all_of(inside.begin(), inside.end(), [](unsigned char c) {
                         return std::isalnum(c) || c == ' ';
                       });
    std::string sorted(inside);
    std::sort(sorted.begin(), sorted.end());
    const bool word = std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end() || sorted != inside;
    if (plain && word) return std::string(inside);
    open = expression.find('[', end);
  }
  return std::nullopt;
}

}  // namespace

void regex_lints(const LintInput& in, std::vector<lang::Diagnostic>& out) {
  const auto& table = in.sema.patterns.patterns();
  for (uint32_t id = 0; id < table.size(); ++id) {
    const vm::PatternInfo& p = table[id];
    if (p.literal_length > 0) continue;
    const lang::Span span = in.sema.patterns.first_use(id);
    if (matches_everything(p)) {
      out.push_back(lint_warning("L017", "this regex matches every value", span, "matches the empty string",
                                 "remove the empty alternative (the last `|` of `/viagra|cialis|/`), or make "
                                 "a part required"));
    } else if (auto word = bracketed_word(p.expression)) {
      std::string members;
      for (char c : *word) members += (members.empty() ? "" : ", ") + std::string(1, c);
      out.push_back(lint_warning("L018", "`[" + *word + "]` is a class: one character of " + members, span,
                                 "matches one letter, not the word",
                                 "to match the text in brackets, escape them: `\\[" + *word + "\\]`"));
    }
  }
}

}  // namespace mp::compiler
