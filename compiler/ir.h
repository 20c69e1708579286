// The checked IR: conditions with every name resolved, every field typed and every
// content test turned into a pattern, set or net id. Built by sema, consumed by
// codegen (and later by lint). Constants are folded while it is built.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lang/ast.h"
#include "vm/fields.h"
#include "vm/opcodes.h"

namespace mp::compiler {

// Sum: how many of the children hold, compared (cmp) with rhs, a constant.
enum class IrOp {
  True,
  False,
  Not,
  And,
  Or,
  Loop,
  Match,
  InSet,
  InNet,
  Resembles,
  SameValue,
  NumCompare,
  Sum
};

// A test of one field's values against a pattern, set or net: the leaves that look at
// the message (NumCompare aside).
inline bool is_field_test(IrOp op) {
  return op == IrOp::Match || op == IrOp::InSet || op == IrOp::InNet || op == IrOp::Resembles ||
         op == IrOp::SameValue;
}

// One side of a numeric comparison.
struct IrNumber {
  enum class Kind { Field, Count, Const } kind = Kind::Const;
  vm::FieldId field = vm::FieldId::Size;
  bool bound = false;
  vm::Collection collection = vm::Collection::Single;
  double value = 0;
  std::string argument;  // Field: for a field written as a call (header_number("NAME"))
};

struct IrNode {
  IrOp op = IrOp::True;
  lang::Span span;
  std::vector<IrNode> children;  // Not, And, Or, Sum, Loop (body); NumCompare: count filter
  vm::FieldId field = vm::FieldId::Subject;
  bool bound = false;      // test the collection's current item, not any item
  uint32_t index = 0;      // pattern, set (InSet, Resembles) or net id; SameValue: the other FieldId
  vm::LoopKind loop = vm::LoopKind::Any;
  vm::Collection collection = vm::Collection::Single;
  vm::CmpOp cmp = vm::CmpOp::Eq;
  IrNumber lhs, rhs;
  lang::Span op_span;  // NumCompare, Sum: the operator, which splits the text the trace quotes

  static IrNode constant(bool value, lang::Span span) {
    IrNode n;
    n.op = value ? IrOp::True : IrOp::False;
    n.span = span;
    return n;
  }
  bool is_constant() const { return op == IrOp::True || op == IrOp::False; }
};

struct IrAction {
  lang::ActionKind kind = lang::ActionKind::Allow;
  lang::Span span;
  std::string text;
  bool has_text = false;
  double score = 0;
  std::string header;
  uint32_t set = 0;  // RewriteUrls: the set of domains whose links are left alone
};

struct IrRule {
  std::string name;
  uint32_t stage = 0;
  lang::Span span;
  lang::Span name_span;  // the name (or `if` of a bare rule): where rule diagnostics point
  uint8_t directions = 0;
  std::vector<std::string> scope_users;   // folded addresses
  std::vector<std::string> scope_groups;  // org.groups names
  double expires = 0;  // `until DATE`: seconds since the epoch when it stops (UTC); 0 never
  IrNode condition;
  std::vector<IrAction> actions;  // non-terminal actions first, the terminal last
};

// `assert never VERDICT when CONDITION`: checked by policyc fuzz, not compiled into
// the image's code.
struct IrAssertion {
  lang::Span span;
  vm::Action verdict = vm::Action::Allow;
  IrNode condition;      // True when none is written
  std::string text;      // the declaration as written
  std::string location;  // file:line:col
};

struct IrModule {
  std::vector<std::string> stages;
  std::vector<IrRule> rules;  // in evaluation order
  std::vector<IrAssertion> assertions;
};

}  // namespace mp::compiler
