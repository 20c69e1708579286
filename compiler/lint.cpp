// The lint driver and the lints over declarations, lists and patterns; the lints over
// rule logic are in lint_rules.cpp.
#include "compiler/lint.h"

#include <hs/hs.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <regex>

#include "compiler/lint_rules.h"
#include "lang/lang.h"
#include "runtime/ip.h"
#include "vm/facts.h"
#include "vm/fields.h"
#include "vm/regex_syntax.h"

namespace mp::compiler {

lang::Diagnostic lint_warning(std::string code, std::string message, lang::Span span, std::string label,
                              std::string hint) {
  return lang::Diagnostic{
      lang::Severity::Warning, std::move(code), std::move(message), {span, std::move(label)}, {},
      std::move(hint)};
}

namespace {

struct LintEntry {
  std::string_view code, name, title, explanation;
};

constexpr LintEntry kLints[] = {
#define MP_LINT(code, name, title, explanation) {#code, name, title, explanation},
#include "compiler/lints.def"
#undef MP_LINT
};

const LintEntry* find_lint(std::string_view code) {
  for (const auto& e : kLints) {
    if (e.code == code) return &e;
  }
  return nullptr;
}

// The comment on a line of policy text: from the first '#' outside a string.
std::string comment_of(const std::string& line) {
  bool in_string = false;
  for (size_t i = 0; i < line.size(); ++i) {
    if (in_string && line[i] == '\\') {
      ++i;
    } else if (line[i] == '"') {
      in_string = !in_string;
    } else if (line[i] == '#' && !in_string) {
      return line.substr(i);
    }
  }
  return {};
}

// `# lint: allow(L001, L005)` on the diagnostic's line or in the comment block
// directly above it.
bool silenced(const lang::Diagnostic& d, const lang::SourceMap& sources) {
  static const std::regex annotation(R"(lint:\s*allow\(([^)]*)\))");
  lang::LineCol at = sources.line_col(d.primary.span.file, d.primary.span.begin);
  for (uint32_t line = at.line; line >= 1; --line) {
    std::string text(sources.line_text(d.primary.span.file, line));
    std::string comment = comment_of(text);
    std::smatch m;
    if (std::regex_search(comment, m, annotation) && m[1].str().find(d.code) != std::string::npos)
      return true;
    bool comment_only =
        text.find_first_not_of(" \t") != std::string::npos && text[text.find_first_not_of(" \t")] == '#';
    if (line != at.line && !comment_only) break;
  }
  return false;
}

void unused_declarations(const LintInput& in, std::vector<lang::Diagnostic>& out) {
  const auto& used = in.sema.used_names();
  auto check = [&](const std::string& name, lang::Span span, const char* what) {
    if (!used.count(name)) {
      out.push_back(lint_warning("L010", std::string(what) + " `" + name + "` is never used", span, "unused",
                                 "delete it, or use it in a rule"));
    }
  };
  for (const auto& c : in.policy.consts) check(c.name, c.span, "const");
  for (const auto& l : in.policy.lists) check(l.name, l.span, "list");
  for (const auto& d : in.policy.defs) check(d.name, d.span, "def");
}

enum class EntryKind { Address, Prefix, Domain, Other };

EntryKind kind_of(const std::string& entry) {
  static const std::regex address(R"([^@\s]+@[A-Za-z0-9.-]+\.[A-Za-z0-9-]+)");
  static const std::regex domain(R"(([A-Za-z0-9-]+\.)+[A-Za-z0-9-]+)");
  if (std::regex_match(entry, address)) return EntryKind::Address;
  if (runtime::Cidr::parse(entry)) return EntryKind::Prefix;
  if (std::regex_match(entry, domain)) return EntryKind::Domain;
  return EntryKind::Other;
}

const char* kind_label(EntryKind k) {
  switch (k) {
    case EntryKind::Address: return "an email address";
    case EntryKind::Prefix: return "an IP address or prefix";
    case EntryKind::Domain: return "a domain";
    case EntryKind::Other: return "a word";
  }
  return "";
}

std::string where(const ListItem& item) {
  return item.origin.empty() ? std::string() : " (" + item.origin + ")";
}

// Reported already because a test could not use it (see Sema::skipped_entries).
bool already_skipped(const LintInput& in, const ListItem& item) {
  if (item.origin.empty()) return false;
  const auto& skipped = in.sema.skipped_entries();
  return std::any_of(skipped.begin(), skipped.end(),
                     [&](const auto& s) { return s.message.find(where(item)) != std::string::npos; });
}

void const_list_duplicates(const LintInput& in, std::vector<lang::Diagnostic>& out) {
  for (const auto& c : in.policy.consts) {
    std::map<std::string, const lang::Literal*> seen;
    for (const auto& item : c.value.items) {
      if (!seen.emplace(item.text, &item).second) {
        out.push_back(lint_warning("L004", "`" + item.text + "` appears twice in `" + c.name + "`", item.span,
                                   "duplicate entry", "remove one of them"));
      }
    }
  }
}

size_t lines_from(const LintInput& in, const std::string& file) {
  size_t count = 0;
  for (const auto& [name, items] : in.sema.lists()) {
    for (const auto& item : items) count += item.origin.starts_with(file + ":");
  }
  return count;
}

// One warning per list file and field, not one per line: a 5,000-line list of the
// wrong kind must say so once.
void skipped_list_entries(const LintInput& in, std::vector<lang::Diagnostic>& out) {
  using Skipped = Sema::SkippedEntry;
  std::map<std::pair<std::string, std::string>, std::vector<const Skipped*>> groups;
  for (const auto& skipped : in.sema.skipped_entries())
    groups[{skipped.file, skipped.field}].push_back(&skipped);
  for (const auto& [key, entries] : groups) {
    const Skipped& first = *entries.front();
    if (entries.size() == 1) {
      out.push_back(
          lint_warning("L011", first.message, first.span, "this entry is skipped",
                       first.hint.empty() ? "fix the line in the list file or remove it" : first.hint));
      continue;
    }
    const bool every = entries.size() >= lines_from(in, key.first);
    const std::string how_many =
        every ? "every line of " + key.first : std::to_string(entries.size()) + " lines of " + key.first;
    out.push_back(
        lint_warning("L011",
                     how_many + (every ? " is skipped: " : " are skipped: ") + first.message + ", and " +
                         std::to_string(entries.size() - 1) + " more",
                     first.span, "these entries are skipped",
                     first.hint.empty() ? "fix the lines in the list file or remove them" : first.hint));
  }
}

void list_entries(const LintInput& in, std::vector<lang::Diagnostic>& out) {
  const_list_duplicates(in, out);
  skipped_list_entries(in, out);
  for (const auto& decl : in.policy.lists) {
    auto it = in.sema.lists().find(decl.name);
    if (it == in.sema.lists().end()) continue;
    const auto& items = it->second;
    std::map<std::string, const ListItem*> seen;
    std::map<EntryKind, size_t> kinds;
    for (const auto& item : items) {
      kinds[kind_of(item.literal.text)]++;
      auto [first, fresh] = seen.emplace(item.literal.text, &item);
      if (!fresh) {
        out.push_back(lint_warning("L004",
                                   "`" + item.literal.text + "` appears twice in list `" + decl.name + "`" +
                                       where(*first->second) + where(item),
                                   item.literal.span, "duplicate entry", "remove one of them"));
      }
    }
    if (items.size() < 2) continue;
    auto majority = std::max_element(kinds.begin(), kinds.end(),
                                     [](const auto& a, const auto& b) { return a.second < b.second; });
    if (majority->first == EntryKind::Other || majority->second * 2 <= items.size()) continue;
    for (const auto& item : items) {
      EntryKind k = kind_of(item.literal.text);
      if (k == majority->first || already_skipped(in, item)) continue;
      out.push_back(lint_warning("L011",
                                 "entry `" + item.literal.text + "`" + where(item) + " of list `" +
                                     decl.name + "` is not " + kind_label(majority->first) +
                                     " like the others",
                                 item.literal.span, std::string("looks like ") + kind_label(k),
                                 "fix the entry or move it to a list of its own"));
    }
  }
}

bool base64_alphabet_only(const std::string& s) {
  return std::all_of(s.begin(), s.end(),
                     [](unsigned char c) { return std::isalnum(c) || c == '+' || c == '/'; });
}

// A prefilter that can match the empty string finds every value a candidate.
bool prefilter_accepts_everything(const vm::PatternInfo& p) {
  hs_expr_info_t* info = nullptr;
  hs_compile_error_t* error = nullptr;
  if (hs_expression_info(p.expression.c_str(), p.hs_flags, &info, &error) != HS_SUCCESS) {
    hs_free_compile_error(error);
    return false;
  }
  const bool everything = info->min_width == 0;
  free(info);
  return everything;
}

// `\p{...}`, `\P{...}` or `\X` without (*UTF): the engines read bytes, so a class of
// letters beyond Latin-1 (`\p{Cyrillic}`) never matches and `\p{Lu}` sees ASCII only.
// So does a class holding non-ASCII letters: `[а-я]` is a range of UTF-8 bytes, which
// the bytes of `é` fall in.
bool unicode_in_byte_mode(const std::string& expression) {
  if (expression.find("(*UTF") != std::string::npos) return false;
  for (size_t i = 0; i + 1 < expression.size(); ++i) {
    if (expression[i] == '[') {
      const size_t end = vm::class_end(expression, i);
      if (end == std::string::npos) return false;
      if (std::any_of(expression.begin() + i, expression.begin() + end,
                      [](unsigned char c) { return c >= 0x80; }))
        return true;
      i = end - 1;
      continue;
    }
    if (expression[i] != '\\') continue;
    const char next = expression[i + 1];
    if (next == 'p' || next == 'P' || next == 'X') return true;
    ++i;  // an escaped backslash is not the start of another escape
  }
  return false;
}

void patterns(const LintInput& in, std::vector<lang::Diagnostic>& out) {
  static const std::regex big_repeat(R"(\{(\d{4,})(,\d*)?\}|\{\d*,(\d{4,})\})");
  static const std::vector<std::string> address_headers = {"from",     "to",     "cc",
                                                           "reply-to", "sender", "return-path"};
  const auto& table = in.sema.patterns.patterns();
  for (uint32_t id = 0; id < table.size(); ++id) {
    const vm::PatternInfo& p = table[id];
    lang::Span span = in.sema.patterns.first_use(id);
    bool regex = p.literal_length == 0;
    std::string literal(in.sources.slice(span));
    if (regex && unicode_in_byte_mode(p.expression)) {
      out.push_back(lint_warning("L008", "Unicode class in a regex that reads bytes", span,
                                 "matches single bytes, not characters",
                                 "start the regex with (*UTF) so that `\\p{...}` and `[а-я]` read UTF-8 "
                                 "characters: "
                                 "`/(*UTF)\\p{Cyrillic}/` (language.md, regexes)"));
    } else if (regex && (p.expression.starts_with(".*") || p.expression.starts_with("^.*"))) {
      out.push_back(lint_warning("L008", "regex starts with `.*`", span, "leading .* is redundant and slow",
                                 "drop the leading .*: the search is unanchored already"));
    } else if (regex && std::regex_search(p.expression, big_repeat)) {
      out.push_back(lint_warning("L008", "regex has a bounded repeat of 1000 or more", span, "huge repeat",
                                 "large bounded repeats make big, slow automata; bound them lower"));
    } else if (regex && p.engine == vm::Engine::Pcre2) {
      out.push_back(lint_warning(
          "L008", "regex runs in PCRE2 on every value of `" + std::string(vm::field_info(p.field).name) + "`",
          span, "no prefilter: Hyperscan cannot run it, and no text of 3+ bytes is in every match",
          "keep PCRE2-only constructs small, or add a literal test with `and` so the rule's "
          "prefilter skips most messages"));
    } else if (regex && p.engine == vm::Engine::Prefilter && prefilter_accepts_everything(p)) {
      out.push_back(lint_warning("L008", "Hyperscan's prefilter of this regex accepts every value", span,
                                 "PCRE2 confirms every value",
                                 "give the regex some text outside its look-arounds, e.g. `/invoice(?!d)/`"));
    } else if (p.field == vm::FieldId::RawBody && !regex && p.literal_length < 12 && literal.size() >= 2 &&
               base64_alphabet_only(literal.substr(1, literal.size() - 2))) {
      out.push_back(lint_warning("L008", "short rawbody literal made of base64 characters", span,
                                 "base64 attachments will match this by chance",
                                 "test `body` (decoded text) instead, or use a longer literal"));
    }
    bool address_header =
        std::find(address_headers.begin(), address_headers.end(), p.header_filter) != address_headers.end();
    if (address_header && !(p.hs_flags & HS_FLAG_CASELESS) && literal.find('@') != std::string::npos) {
      out.push_back(lint_warning("L009",
                                 "case-sensitive test of an address in header \"" + p.header_filter + "\"",
                                 span, "addresses are case-insensitive",
                                 "add `nocase`, or test from/to/cc/reply_to (always case-insensitive)"));
    }
  }
}

}  // namespace

// A stage one or two edits from a pipeline stage's name runs after custom_filters,
// which is never what `anti_spofing` meant.
void stage_names(const LintInput& in, std::vector<lang::Diagnostic>& out) {
  const std::vector<std::string> pipeline(std::begin(lang::kPipelineStages), std::end(lang::kPipelineStages));
  for (const auto& stage : in.policy.stages) {
    if (std::find(pipeline.begin(), pipeline.end(), stage.name) != pipeline.end()) continue;
    const std::string closest = lang::closest_name(stage.name, pipeline);
    if (closest.empty()) continue;
    out.push_back(lint_warning(
        "L012", "stage `" + stage.name + "` is not a pipeline stage: it runs after custom_filters",
        stage.span, "did you mean `" + closest + "`?",
        "rename it `" + closest + "` to run it in its pipeline place"));
  }
}

// A fact field, or a call of one (dnsbl, mx, rate, …); the header views written as
// calls (header_number, raw_header, mime_header) read the message, not a fact.
bool reads_fact(const lang::Operand& o) {
  const bool call = o.kind == lang::OperandKind::Call;
  if (!call && (o.kind != lang::OperandKind::Literal || o.literal.kind != lang::LiteralKind::Path))
    return false;
  for (size_t i = 0; i < vm::kFieldCount; ++i) {
    const auto field = static_cast<vm::FieldId>(i);
    const std::string_view name = vm::field_info(field).name;
    const bool same = call ? name.starts_with(o.name + "(") : name == o.literal.text;
    if (same) return vm::is_fact(field);
  }
  return false;
}

void negated_facts_in(const lang::Condition& c, bool negated, std::vector<lang::Diagnostic>& out) {
  if (c.kind == lang::CondKind::Not) negated = !negated;
  for (const auto& child : c.children) negated_facts_in(*child, negated, out);
  const bool bare_call = c.kind == lang::CondKind::Bool && c.lhs.kind == lang::OperandKind::Call;
  if ((c.kind != lang::CondKind::Compare && !bare_call) || !reads_fact(c.lhs)) return;
  if (negated == (c.kind == lang::CondKind::Compare && c.negated)) return;
  out.push_back(lint_warning("L013", "negated test on a fact: also true when the fact has no value", c.span,
                             "true when the fact could not be computed",
                             "name the values you mean instead of excluding some: `spf in [fail, softfail]`, "
                             "`country(client.ip) in [RU, KP]`"));
}

void negated_facts(const LintInput& in, std::vector<lang::Diagnostic>& out) {
  for (const auto& stage : in.policy.stages) {
    for (const auto& rule : stage.rules) {
      if (rule.condition) negated_facts_in(*rule.condition, false, out);
    }
  }
}

std::vector<lang::Diagnostic> lint(const LintInput& in) {
  std::vector<lang::Diagnostic> all;
  stage_names(in, all);
  negated_facts(in, all);
  lint_rules(in, all);
  list_entries(in, all);
  patterns(in, all);
  header_names(in, all);
  size_units(in, all);
  loose_domain_suffixes(in, all);
  regex_lints(in, all);
  constant_tests(in, all);
  text_syntax(in, all);
  unused_declarations(in, all);
  std::vector<lang::Diagnostic> kept;
  for (auto& d : all) {
    if (!silenced(d, in.sources)) kept.push_back(std::move(d));
  }
  return kept;  // the compiler sorts all diagnostics by position
}

std::string_view lint_title(std::string_view code) {
  const LintEntry* e = find_lint(code);
  return e ? e->title : std::string_view{};
}

std::string_view lint_explanation(std::string_view code) {
  const LintEntry* e = find_lint(code);
  return e ? e->explanation : std::string_view{};
}

std::vector<std::string_view> lint_codes() {
  std::vector<std::string_view> codes;
  for (const auto& e : kLints) codes.push_back(e.code);
  return codes;
}

}  // namespace mp::compiler
