// lint-internal: conditions as conjunctions of atoms, and implication between atoms,
// enough to tell when one rule's condition implies another's or contradicts itself.
#pragma once

#include <optional>
#include <vector>

#include "compiler/ir.h"
#include "vm/image.h"

namespace mp::compiler::lint_logic {

struct Atom {
  const IrNode* test;  // Match, InSet, InNet, NumCompare or Loop
  bool negated = false;
};

// A test (Match, InSet, InNet, NumCompare, Loop…) or a `not` of one as an atom, else nullopt.
std::optional<Atom> atom_of(const IrNode& n);

// The condition as `a1 and a2 and …` (each possibly negated), or nullopt when it has
// an `or` or another shape this analysis does not reason about.
std::optional<std::vector<Atom>> conjunction(const IrNode& condition);

bool same_node(const IrNode& a, const IrNode& b);

// Does atom `b` being true guarantee atom `a` is true?
bool implies(const Atom& b, const Atom& a, const std::vector<vm::SetInfo>& sets);

// Can `a` and `b` never both be true? (Single-valued fields only.)
bool contradict(const Atom& a, const Atom& b, const std::vector<vm::SetInfo>& sets);

}  // namespace mp::compiler::lint_logic
