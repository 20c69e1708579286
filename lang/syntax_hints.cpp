// The syntax-error hint table and the little context it needs.
#include "lang/syntax_hints.h"

#include <algorithm>
#include <cctype>
#include <string_view>

#include "PolicyLexer.h"

namespace mp::lang {

namespace {

// Where the offending token stands, judged from the tokens before it.
enum class Where { Anywhere, Condition, Settings, OutsideStage };

struct SyntaxHint {
  std::string_view text;  // the offending token's text, or several separated by spaces; "" for any
  size_t type;            // its token type; 0 for any
  size_t after;           // the type of the token before it; 0 for any
  Where where;
  std::string_view hint;
};

using L = PolicyLexer;

// First match wins: specific entries before general ones.
constexpr SyntaxHint kHints[] = {
    {"'", 0, 0, Where::Anywhere, "strings are written in double quotes: \"invoice\""},
    {"\u2018 \u2019 \u201c \u201d", 0, 0, Where::Anywhere,
     "typographic quotes (‘ ’ “ ”) are not string quotes: write straight double quotes, \"invoice\""},
    {":", 0, 0, Where::Settings, "a setting is written `KEY = VALUE`: `org.domains = [widget.com]`"},
    {",", 0, 0, Where::Settings, "a list is written in brackets: `org.domains = [widget.com, widget.ca]`"},
    {"=", 0, 0, Where::Condition, "compare with `is`: `sender is info@widget.com` (`==` is for numbers)"},
    {"&", 0, 0, Where::Condition, "write `and`: `subject contains \"a\" and size > 1MB`"},
    {"|", 0, 0, Where::Condition, "write `or`: `subject contains \"a\" or subject contains \"b\"`"},
    {"endswith ends_with endsWith", 0, 0, Where::Condition,
     "write `ends with`, two words: `from.address ends with \"@widget.com\"`"},
    {"startswith starts_with startsWith", 0, 0, Where::Condition,
     "write `starts with`, two words: `subject starts with \"[EXT]\"`"},
    {"contain includes include has", 0, 0, Where::Condition,
     "write `contains`: `subject contains \"invoice\"`"},
    {"equals eq", 0, 0, Where::Condition, "compare with `is`: `sender is info@widget.com`"},
    {"", L::STRING, L::MATCHES, Where::Anywhere,
     "a regex is written between slashes: `subject matches /invoice.*paid/i`; for plain text, `contains`"},
    {"nocase", 0, L::REGEX, Where::Anywhere,
     "a regex is made case-insensitive by the flag `i`: `/invoice/i`"},
    {"", L::REGEX, L::REGEX, Where::Anywhere,
     "a `/` inside a regex ends it: write `\\/` for a slash, `/https:\\/\\/evil/`"},
    {"", L::REGEX, L::IS, Where::Anywhere, "a regex is tested with `matches`: `subject matches /invoice/`"},
    {"", 0, L::HEADER, Where::Anywhere, "a header name is quoted: `header \"Subject\" contains \"x\"`"},
    {"rule", 0, 0, Where::OutsideStage,
     "a named rule goes in a stage: `stage custom_filters { rule NAME: if ... then ... }`; outside a stage, "
     "write "
     "just `if ... then ...`"},
    {"allow reject quarantine discard tempfail score tag banner rewrite", 0, 0, Where::Anywhere,
     "a condition is followed by `then` and its actions: `if COND then allow`"},
};

// Is `text` one of the space-separated `words`?
bool one_of(std::string_view words, const std::string& text) {
  for (size_t at = 0; at <= words.size();) {
    size_t end = std::min(words.find(' ', at), words.size());
    if (words.substr(at, end - at) == text) return true;
    at = end + 1;
  }
  return false;
}

// The default-channel token before `index` (comments are hidden), or null.
antlr4::Token* previous_token(antlr4::TokenStream& tokens, size_t index) {
  while (index-- > 0) {
    antlr4::Token* t = tokens.get(index);
    if (t->getChannel() == antlr4::Token::DEFAULT_CHANNEL) return t;
  }
  return nullptr;
}

// The keyword of the innermost `{` still open before `index` (STAGE or SETTINGS), or 0.
size_t open_block(antlr4::TokenStream& tokens, size_t index) {
  int depth = 0;
  while (index-- > 0) {
    std::string text = tokens.get(index)->getText();
    if (text == "}") ++depth;
    if (text == "{" && depth-- == 0) {
      for (size_t i = index; i-- > 0;) {
        size_t type = tokens.get(i)->getType();
        if (type == L::STAGE || type == L::SETTINGS) return type;
      }
      return 0;
    }
  }
  return 0;
}

// Is the token at `index` in a condition: after `if` or `def`, before `then`?
bool in_condition(antlr4::TokenStream& tokens, size_t index) {
  while (index-- > 0) {
    size_t type = tokens.get(index)->getType();
    if (type == L::IF || type == L::DEF) return true;
    if (type == L::THEN || type == L::SETTINGS || tokens.get(index)->getText() == "}") return false;
  }
  return false;
}

bool applies(Where where, antlr4::TokenStream& tokens, size_t index) {
  switch (where) {
    case Where::Anywhere: return true;
    case Where::Condition: return in_condition(tokens, index);
    case Where::Settings: return open_block(tokens, index) == L::SETTINGS;
    case Where::OutsideStage: return open_block(tokens, index) != L::STAGE;
  }
  return false;
}

// Is the token at `index` inside a rule's scope, `rule NAME ( … )`?
bool in_rule_scope(antlr4::TokenStream& tokens, size_t index) {
  while (index-- > 0) {
    antlr4::Token* t = tokens.get(index);
    if (t->getChannel() != antlr4::Token::DEFAULT_CHANNEL) continue;
    const std::string text = t->getText();
    if (text == ")" || text == ":" || text == "{" || text == "}" || t->getType() == L::IF) return false;
    if (text == "(") {
      antlr4::Token* name = previous_token(tokens, index);
      antlr4::Token* keyword = name ? previous_token(tokens, name->getTokenIndex()) : nullptr;
      return keyword != nullptr && keyword->getType() == L::RULE;
    }
  }
  return false;
}

// An error inside a rule's scope: what the word before it takes, or what a scope is.
std::string scope_hint(antlr4::Token* before) {
  const std::string word = before ? before->getText() : "";
  if (word == "user")
    return "`user` takes an email address, or a list of them: `rule vip (user ceo@widget.com): …`";
  if (word == "group")
    return "`group` takes the name of a group of org.groups: `rule wire (group finance): …`";
  if (word == "until")
    return "`until` takes a date, the last day the rule runs: `rule promo (until 2026-12-31): …`";
  return "a rule's scope takes `inbound`, `outbound`, `internal`, `user ADDRESS`, `group NAME` and `until "
         "DATE`, "
         "separated by commas: `rule vip (inbound, user ceo@widget.com): …`";
}

// "IF", "Then", "AND": a keyword in the wrong case.
std::string keyword_case_hint(antlr4::Parser& parser, const std::string& text) {
  std::string lower = text;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower == text) return {};
  const auto& vocabulary = parser.getVocabulary();
  for (size_t type = 1; type <= vocabulary.getMaxTokenType(); ++type) {
    if (vocabulary.getLiteralName(type) == "'" + lower + "'")
      return "keywords are lower case: write `" + lower + "`";
  }
  return {};
}

// `dmarc.policy is reject`, `in [reject, quarantine]`: an action word where a value
// goes, which the grammar reads as the start of a dotted name.
std::string action_word_hint(antlr4::TokenStream& tokens, size_t index, antlr4::Token* before) {
  if (before == nullptr) return {};
  const size_t type = before->getType();
  if (type != L::ALLOW && type != L::REJECT && type != L::QUARANTINE && type != L::DISCARD &&
      type != L::TEMPFAIL)
    return {};
  antlr4::Token* operator_token = previous_token(tokens, before->getTokenIndex());
  const std::string op = operator_token ? operator_token->getText() : "";
  if ((op != "is" && op != "in" && op != "[" && op != ",") || !in_condition(tokens, index)) return {};
  const std::string word = before->getText();
  return "`" + word + "` is an action word: as a value, quote it, `dmarc.policy is \"" + word + "\"`";
}

}  // namespace

std::string syntax_hint(antlr4::Parser& parser, antlr4::Token* offending) {
  antlr4::TokenStream& tokens = *parser.getTokenStream();
  size_t index = offending->getTokenIndex();
  antlr4::Token* before = previous_token(tokens, index);
  const std::string text = offending->getText();
  if (in_rule_scope(tokens, index)) return scope_hint(before);
  if (std::string hint = action_word_hint(tokens, index, before); !hint.empty()) return hint;
  for (const auto& h : kHints) {
    if (!h.text.empty() && !one_of(h.text, text)) continue;
    if (h.type != 0 && h.type != offending->getType()) continue;
    if (h.after != 0 && (before == nullptr || before->getType() != h.after)) continue;
    if (applies(h.where, tokens, index)) return std::string(h.hint);
  }
  return keyword_case_hint(parser, text);
}

}  // namespace mp::lang
