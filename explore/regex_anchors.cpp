// Anchors out of groups (regex_anchors.h).
#include "explore/regex_anchors.h"

#include <cctype>
#include <cstdio>
#include <vector>

#include "vm/regex_syntax.h"

namespace mp::explore {

namespace {

using vm::class_end;

// The top-level pieces of `s`: its groups' extents and the `|` outside them. Returns
// false for an unbalanced pattern.
struct Scan {
  std::vector<std::pair<size_t, size_t>> groups;  // top-level `(` and its `)`
  std::vector<size_t> bars;                       // top-level `|`
};
std::optional<Scan> scan(std::string_view s) {
  Scan out;
  std::vector<size_t> open;
  for (size_t i = 0; i < s.size();) {
    char c = s[i];
    if (c == '\\') {
      i += 2;
      continue;
    }
    if (c == '[') {
      i = class_end(s, i);
      if (i == std::string_view::npos) return std::nullopt;
      continue;
    }
    if (c == '(') open.push_back(i);
    if (c == ')') {
      if (open.empty()) return std::nullopt;
      if (open.size() == 1) out.groups.emplace_back(open.back(), i);
      open.pop_back();
    }
    if (c == '|' && open.empty()) out.bars.push_back(i);
    ++i;
  }
  if (!open.empty()) return std::nullopt;
  return out;
}

// Whether `s` has `^` or `$` outside its classes and escapes.
bool has_anchor(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    if (s[i] == '\\') {
      i += 2;
    } else if (s[i] == '[') {
      i = class_end(s, i);
      if (i == std::string_view::npos) return true;  // unbalanced: read as the worst case
    } else if (s[i] == '^' || s[i] == '$') {
      return true;
    } else {
      ++i;
    }
  }
  return false;
}

// The alternatives of the group s[open..close] (plain or `(?:`) when one of them is
// exactly `anchor`: the anchor, and the others as one group. Empty when it is not such
// a group.
std::vector<std::string> anchored_alternatives(std::string_view s, size_t open, size_t close,
                                               std::string_view anchor) {
  size_t body = open + 1;
  if (s.substr(open, 3) == "(?:")
    body = open + 3;
  else if (s.substr(open, 2) == "(?")
    return {};  // a lookaround, a named group, options
  std::string_view inside = s.substr(body, close - body);
  auto inner = scan(inside);
  if (!inner) return {};
  std::vector<std::string_view> alternatives;
  size_t from = 0;
  for (size_t bar : inner->bars) {
    alternatives.push_back(inside.substr(from, bar - from));
    from = bar + 1;
  }
  alternatives.push_back(inside.substr(from));
  std::string others;
  bool anchored = false;
  for (auto a : alternatives) {
    if (a == anchor) {
      anchored = true;
      continue;
    }
    if (has_anchor(a)) return {};  // `(^a|b)`, `(a$|b)`: not this form
    others += (others.empty() ? "" : "|") + std::string(a);
  }
  if (!anchored) return {};
  std::vector<std::string> out{std::string(anchor)};
  if (alternatives.size() > 1) out.push_back("(?:" + others + ")");
  return out;
}

// Whether the character at `i` follows an odd run of backslashes (is escaped).
bool escaped_at(std::string_view s, size_t i) {
  size_t n = 0;
  while (n < i && s[i - 1 - n] == '\\') ++n;
  return n % 2 == 1;
}

bool quantifier(char c) {
  return c == '*' || c == '+' || c == '?' || c == '{';
}

// One top-level alternative of the pattern.
std::optional<std::string> branch_distributed(std::string_view s) {
  auto top = scan(s);
  if (!top || top->groups.empty()) return std::nullopt;
  std::vector<std::string> starts{""}, ends{""};
  size_t from = 0, to = s.size();
  const auto [first_open, first_close] = top->groups.front();
  if (first_open == 0 && (first_close + 1 == s.size() || !quantifier(s[first_close + 1]))) {
    auto a = anchored_alternatives(s, first_open, first_close, "^");
    if (!a.empty()) {
      starts = a;
      from = first_close + 1;
    }
  }
  const auto [last_open, last_close] = top->groups.back();
  if (last_close + 1 == s.size() && last_open >= from) {
    auto a = anchored_alternatives(s, last_open, last_close, "$");
    if (!a.empty()) {
      ends = a;
      to = last_open;
    }
  }
  if (from == 0 && to == s.size()) return std::nullopt;
  // An anchor of the pattern's own beside one group stays outside the other's copies.
  for (std::string_view anchor : {"^", "\\A"}) {
    if (from == 0 && s.starts_with(anchor)) {
      starts = {std::string(anchor)};
      from = anchor.size();
    }
  }
  for (std::string_view anchor : {"$", "\\z"}) {
    if (to == s.size() && s.ends_with(anchor) && !escaped_at(s, s.size() - anchor.size())) {
      ends = {std::string(anchor)};
      to = s.size() - anchor.size();
    }
  }
  const std::string middle = "(?:" + std::string(s.substr(from, to - from)) + ")";
  std::string out;
  for (const auto& start : starts) {
    for (const auto& end : ends) out += (out.empty() ? "" : "|") + start + middle + end;
  }
  return out;
}

// `s` with \Q…\E quoted text spelled as \xHH escapes, (?#…) comments dropped and
// \x{HH} written \xHH; when `extended` (a leading (?x)), its unescaped white space and
// # comments outside classes dropped too. nullopt when there is nothing to rewrite, or
// when a quantifier follows \E or a comment, or \x{…} is past 0xff.
std::optional<std::string> spelled_plainly(std::string_view s, bool extended) {
  std::string out;
  bool changed = false;
  auto hex = [](unsigned value) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02x", value);
    return std::string(buf);
  };
  auto quantified_next = [&](size_t i) { return i < s.size() && quantifier(s[i]); };
  for (size_t i = 0; i < s.size();) {
    if (s.substr(i, 2) == "\\Q") {
      size_t end = s.find("\\E", i + 2);
      std::string_view quoted = s.substr(i + 2, end == std::string_view::npos ? end : end - i - 2);
      for (unsigned char c : quoted) out += hex(c);
      i = end == std::string_view::npos ? s.size() : end + 2;
      if (quantified_next(i)) return std::nullopt;  // applies to the last byte: not modelled
      changed = true;
    } else if (s.substr(i, 2) == "\\E") {  // an \E with no \Q: nothing
      i += 2;
      if (quantified_next(i)) return std::nullopt;
      changed = true;
    } else if (s.substr(i, 3) == "\\x{") {
      size_t close = s.find('}', i + 3);
      if (close == std::string_view::npos || close == i + 3 || close - i - 3 > 4) return std::nullopt;
      unsigned value = 0;
      for (char c : s.substr(i + 3, close - i - 3)) {
        if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
        value = value * 16 + static_cast<unsigned>(std::isdigit(static_cast<unsigned char>(c))
                                                       ? c - '0'
                                                       : std::tolower(c) - 'a' + 10);
      }
      if (value > 0xff) return std::nullopt;  // a code point: UTF-8 mode, not translated
      out += hex(value);
      i = close + 1;
      changed = true;
    } else if (s[i] == '\\') {
      out += s.substr(i, 2);
      i += 2;
    } else if (s[i] == '[') {
      size_t end = class_end(s, i);
      if (end == std::string_view::npos) return std::nullopt;
      out += s.substr(i, end - i);
      i = end;
    } else if (s.substr(i, 3) == "(?#") {
      size_t close = s.find(')', i);
      if (close == std::string_view::npos || quantified_next(close + 1)) return std::nullopt;
      i = close + 1;
      changed = true;
    } else if (extended && std::isspace(static_cast<unsigned char>(s[i]))) {
      ++i;
      changed = true;
    } else if (extended && s[i] == '#') {
      size_t line = s.find('\n', i);
      i = line == std::string_view::npos ? s.size() : line + 1;
      changed = true;
    } else {
      out += s[i++];
    }
  }
  if (!changed) return std::nullopt;
  return out;
}

// `s` rewritten so that no anchor is inside a group: in each top-level alternative,
// the start group's alternatives (`^` and the others) times the end group's, each
// around the text between them. nullopt when no alternative is of that form: a
// quantified group, an anchor among others (`(^a|b)`), or a group that does not close.
std::optional<std::string> anchors_distributed(std::string_view s) {
  auto top = scan(s);
  if (!top) return std::nullopt;
  std::string out;
  bool changed = false;
  size_t from = 0;
  top->bars.push_back(s.size());
  for (size_t bar : top->bars) {
    std::string_view branch = s.substr(from, bar - from);
    auto distributed = branch_distributed(branch);
    changed = changed || distributed;
    out += (from == 0 ? "" : "|") + (distributed ? *distributed : std::string(branch));
    from = bar + 1;
  }
  if (!changed) return std::nullopt;
  return out;
}

}  // namespace

std::optional<std::string> normalised(std::string_view s, bool extended) {
  auto plain = spelled_plainly(s, extended);
  auto distributed = anchors_distributed(plain ? std::string_view(*plain) : s);
  return distributed ? distributed : plain;
}

}  // namespace mp::explore
