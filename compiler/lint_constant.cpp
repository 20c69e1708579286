// L019: a test whose value the language knows before any message is read: a size, a
// count or a fact compared with a bound all its values satisfy (`size >= 0`,
// `rate(sender, 1h) >= 1`), and an `or` of two tests that cannot both be false
// (`a is not x or a is not y`).
#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "compiler/lint_logic.h"
#include "compiler/lint_rules.h"
#include "vm/facts.h"

namespace mp::compiler {

namespace {

// The values the left side can have, when the comparison is of a quantity with a
// constant; the items of a collection (`attachments.size >= 0`, which means "has an
// attachment") are left alone.
std::optional<vm::NumberRange> range_of(const IrNode& n) {
  if (n.rhs.kind != IrNumber::Kind::Const) return std::nullopt;
  if (n.lhs.kind == IrNumber::Kind::Count) return vm::NumberRange{0, std::numeric_limits<double>::infinity()};
  if (n.lhs.kind != IrNumber::Kind::Field || n.lhs.bound ||
      vm::field_info(n.lhs.field).collection != vm::Collection::Single)
    return std::nullopt;
  return vm::number_range(n.lhs.field);
}

// Whether every value in the range satisfies `value CMP v`. The other way round (none
// does) is E023, from sema.
bool always_holds(vm::CmpOp cmp, double v, const vm::NumberRange& r) {
  using C = vm::CmpOp;
  switch (cmp) {
    case C::Lt: return r.max < v;
    case C::Le: return r.max <= v;
    case C::Gt: return r.min > v;
    case C::Ge: return r.min >= v;
    case C::Eq: return false;
    case C::Ne: return v < r.min || v > r.max;
  }
  return false;
}

void constant_comparison(const IrNode& n, std::vector<lang::Diagnostic>& out) {
  const auto range = range_of(n);
  if (!range || !always_holds(n.cmp, n.rhs.value, *range)) return;
  const std::string values = std::isinf(range->max)
                                 ? fmt::format("{:g} or more", range->min)
                                 : fmt::format("from {:g} to {:g}", range->min, range->max);
  out.push_back(
      lint_warning("L019", "this comparison is always true", n.span,
                   "its values are " + values + ", and every one satisfies it",
                   n.lhs.kind == IrNumber::Kind::Count
                       ? "to test that there is one, write `count(…) >= 1`; that there is none, `== 0`"
                       : "compare with the bound you mean, inside that range"));
}

// The child as an atom with its negation flipped: `not p` gives p, p gives `not p`.
std::optional<lint_logic::Atom> flipped(const IrNode& n) {
  auto atom = lint_logic::atom_of(n);
  if (atom) atom->negated = !atom->negated;
  return atom;
}

// `p or q` is always true when `not p` and `not q` can never both be.
void tautology(const IrNode& n, const std::vector<vm::SetInfo>& sets, std::vector<lang::Diagnostic>& out) {
  for (size_t i = 0; i < n.children.size(); ++i) {
    for (size_t j = i + 1; j < n.children.size(); ++j) {
      auto a = flipped(n.children[i]), b = flipped(n.children[j]);
      if (!a || !b || !lint_logic::contradict(*a, *b, sets)) continue;
      lang::Diagnostic d = lint_warning(
          "L019", "this `or` is always true", n.span, "one value always makes one of the two tests true",
          "for a value that is neither, write `not in [x, y]`, or join the negated tests with `and`");
      d.secondary.push_back({n.children[i].span, "when this test is false"});
      d.secondary.push_back({n.children[j].span, "this one is true"});
      out.push_back(std::move(d));
      return;
    }
  }
}

void walk(const IrNode& n, const std::vector<vm::SetInfo>& sets, std::vector<lang::Diagnostic>& out) {
  if (n.op == IrOp::NumCompare) constant_comparison(n, out);
  if (n.op == IrOp::Or) tautology(n, sets, out);
  for (const auto& child : n.children) walk(child, sets, out);
}

}  // namespace

void constant_tests(const LintInput& in, std::vector<lang::Diagnostic>& out) {
  for (const auto& r : in.module.rules) walk(r.condition, in.sema.sets.sets(), out);
}

}  // namespace mp::compiler
