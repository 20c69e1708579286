// What one literal test says about another (literals.h).
#include "explore/literals.h"

#include <algorithm>
#include <cctype>
#include <string_view>

#include "explore/regex_smt.h"

namespace mp::explore {

namespace {

using Kind = LiteralTest::Kind;

std::string folded(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool has_letters(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return std::isalpha(static_cast<unsigned char>(c)); });
}

// Whether a test of `kind` with `literal` holds of `value`.
bool passes(Kind kind, std::string_view literal, std::string_view value) {
  switch (kind) {
    case Kind::Is: return value == literal;
    case Kind::StartsWith: return value.starts_with(literal);
    case Kind::EndsWith: return value.ends_with(literal);
    case Kind::Contains: return value.find(literal) != std::string_view::npos;
  }
  return false;
}

// Whether no value passes both. Where either ignores case they are compared folded:
// each holds of the folded value with its folded literal.
bool excludes(const LiteralTest& a, const LiteralTest& b) {
  const bool exact = !a.caseless && !b.caseless;
  const std::string fa = exact ? a.bytes : folded(a.bytes), fb = exact ? b.bytes : folded(b.bytes);
  if (a.kind == Kind::Is) return !passes(b.kind, fb, fa);  // the (folded) value is fa
  if (a.kind != b.kind || a.kind == Kind::Contains) return false;
  return !passes(a.kind, fa, fb) && !passes(a.kind, fb, fa);  // two prefixes (suffixes) that differ
}

}  // namespace

std::optional<bool> literal_implies(const LiteralTest& a, const LiteralTest& b) {
  if (excludes(a, b)) return false;
  // In b's terms: b ignores case, or a's literal has the case the value has.
  if (!b.caseless && a.caseless && has_letters(a.bytes)) return std::nullopt;
  const std::string x = b.caseless ? folded(a.bytes) : a.bytes;
  const std::string y = b.caseless ? folded(b.bytes) : b.bytes;
  if (a.kind == Kind::Is) return passes(b.kind, y, x);  // the value is x
  // A value starting with x starts with x's prefixes and contains its substrings.
  if ((b.kind == Kind::Contains || b.kind == a.kind) && passes(b.kind, y, x)) return true;
  return std::nullopt;
}

namespace {

// What every atom of `r` says of `b` (or `b` of every atom), when they all agree.
std::optional<bool> through_atoms(const RegexTest& r, const auto& says) {
  if (r.atoms.empty()) return std::nullopt;
  std::optional<bool> all = says(r.atoms.front());
  for (const auto& atom : r.atoms) {
    if (says(atom) != all) return std::nullopt;
  }
  return all;
}

}  // namespace

std::optional<bool> literal_implies(const LiteralTest& a, const RegexTest& b) {
  if (!a.caseless || !has_letters(a.bytes)) {  // the value holds a.bytes as they are
    z3::expr member = z3::in_re(string_constant(b.search.ctx(), a.bytes), b.search).simplify();
    if (member.is_true() && (a.kind == Kind::Is || b.context_free)) return true;
    if (member.is_false() && a.kind == Kind::Is) return false;
  }
  // a excludes every atom: b needs one of them.
  if (through_atoms(b, [&](const LiteralTest& atom) { return literal_implies(a, atom); }) == false)
    return false;
  return std::nullopt;
}

std::optional<bool> regex_implies(const RegexTest& a, const LiteralTest& b) {
  return through_atoms(a, [&](const LiteralTest& atom) { return literal_implies(atom, b); });
}

}  // namespace mp::explore
