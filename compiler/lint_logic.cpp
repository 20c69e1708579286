// Conjunctions, implication and contradiction between condition atoms (for lint).
#include "compiler/lint_logic.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "vm/facts.h"

namespace mp::compiler::lint_logic {

namespace {

bool is_test(const IrNode& n) {
  return is_field_test(n.op) || n.op == IrOp::NumCompare || n.op == IrOp::Loop;
}

bool same_number(const IrNumber& a, const IrNumber& b) {
  return a.kind == b.kind && a.field == b.field && a.bound == b.bound && a.collection == b.collection &&
         a.value == b.value && a.argument == b.argument;
}

// A comparison `field CMP constant` as the set of values it accepts: an interval.
struct Interval {
  double low = -std::numeric_limits<double>::infinity();
  double high = std::numeric_limits<double>::infinity();
  bool low_open = false, high_open = false;
  bool contains(const Interval& other) const {
    bool low_ok = other.low > low || (other.low == low && (!low_open || other.low_open));
    bool high_ok = other.high < high || (other.high == high && (!high_open || other.high_open));
    return low_ok && high_ok;
  }
  bool empty_with(const Interval& other) const {
    double lo = std::max(low, other.low), hi = std::min(high, other.high);
    if (lo > hi) return true;
    if (lo < hi) return false;
    bool open = (lo == low && low_open) || (lo == other.low && other.low_open) || (hi == high && high_open) ||
                (hi == other.high && other.high_open);
    return open;
  }
};

// The interval of `x CMP c`, when the atom is a plain field-vs-constant comparison.
std::optional<Interval> interval(const Atom& atom) {
  const IrNode& n = *atom.test;
  if (n.op != IrOp::NumCompare || atom.negated || n.lhs.kind != IrNumber::Kind::Field ||
      n.rhs.kind != IrNumber::Kind::Const || !n.children.empty()) {
    return std::nullopt;
  }
  double c = n.rhs.value;
  Interval i;
  switch (n.cmp) {
    case vm::CmpOp::Lt: i.high = c, i.high_open = true; break;
    case vm::CmpOp::Le: i.high = c; break;
    case vm::CmpOp::Gt: i.low = c, i.low_open = true; break;
    case vm::CmpOp::Ge: i.low = c; break;
    case vm::CmpOp::Eq: i.low = i.high = c; break;
    case vm::CmpOp::Ne: return std::nullopt;
  }
  return i;
}

bool same_lhs(const IrNode& a, const IrNode& b) {
  return same_number(a.lhs, b.lhs);
}

bool single_valued(vm::FieldId field) {
  auto c = vm::field_info(field).collection;
  // From and Reply-To hold one address in practice; lint treats them as single.
  return !vm::several_values(field) &&
         (c == vm::Collection::Single || c == vm::Collection::From || c == vm::Collection::ReplyTo);
}

bool comparable_sets(const vm::SetInfo& a, const vm::SetInfo& b) {
  return a.field == b.field && a.fold == b.fold && a.header_filter == b.header_filter;
}

bool subset(const std::vector<std::string>& small, const std::vector<std::string>& big) {
  return std::includes(big.begin(), big.end(), small.begin(), small.end());  // entries are sorted
}

bool disjoint(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::vector<std::string> common;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(common));
  return common.empty();
}

}  // namespace

bool same_node(const IrNode& a, const IrNode& b) {
  if (a.op != b.op || a.field != b.field || a.bound != b.bound || a.index != b.index || a.loop != b.loop ||
      a.collection != b.collection || a.cmp != b.cmp || !same_number(a.lhs, b.lhs) ||
      !same_number(a.rhs, b.rhs) || a.children.size() != b.children.size()) {
    return false;
  }
  for (size_t i = 0; i < a.children.size(); ++i) {
    if (!same_node(a.children[i], b.children[i])) return false;
  }
  return true;
}

std::optional<Atom> atom_of(const IrNode& n) {
  if (is_test(n)) return Atom{&n, false};
  if (n.op == IrOp::Not && is_test(n.children[0])) return Atom{&n.children[0], true};
  return std::nullopt;
}

std::optional<std::vector<Atom>> conjunction(const IrNode& condition) {
  std::vector<Atom> atoms;
  auto add = [&](const IrNode& n) {
    auto atom = atom_of(n);
    if (atom) atoms.push_back(*atom);
    return atom.has_value();
  };
  if (condition.op == IrOp::And) {
    for (const auto& child : condition.children) {
      if (!add(child)) return std::nullopt;
    }
    return atoms;
  }
  if (!add(condition)) return std::nullopt;
  return atoms;
}

bool implies(const Atom& b, const Atom& a, const std::vector<vm::SetInfo>& sets) {
  if (a.negated == b.negated && same_node(*a.test, *b.test)) return true;
  const IrNode& x = *b.test;
  const IrNode& y = *a.test;
  if (!a.negated && !b.negated && x.op == IrOp::InSet && y.op == IrOp::InSet && x.bound == y.bound &&
      comparable_sets(sets[x.index], sets[y.index])) {
    return subset(sets[x.index].entries, sets[y.index].entries);
  }
  auto ib = interval(b), ia = interval(a);
  return ib && ia && same_lhs(x, y) && ia->contains(*ib);
}

bool contradict(const Atom& a, const Atom& b, const std::vector<vm::SetInfo>& sets) {
  const IrNode& x = *a.test;
  const IrNode& y = *b.test;
  if (a.negated != b.negated && same_node(x, y)) return true;
  if (!a.negated && !b.negated && x.op == IrOp::InSet && y.op == IrOp::InSet && !x.bound && !y.bound &&
      single_valued(x.field) && comparable_sets(sets[x.index], sets[y.index])) {
    return disjoint(sets[x.index].entries, sets[y.index].entries);
  }
  auto ia = interval(a), ib = interval(b);
  return ia && ib && same_lhs(x, y) && single_valued(x.lhs.field) && !x.lhs.bound && ia->empty_with(*ib);
}

}  // namespace mp::compiler::lint_logic
