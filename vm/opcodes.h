// Opcodes and instructions, generated from opcodes.def: the enum, the name table and
// the operand-kind table all come from the same lines, so they cannot drift apart.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "runtime/api_export.h"

namespace mp::vm {

enum class OperandKind : uint8_t {
  None, Bound, Field, Coll, Pat, Set, Net, Num, Str, OStr, Jump, Rule, Cmp, Quant, Act
};

enum class Op : uint8_t {
#define MP_OP(name, a, b, c, synopsis) name,
#include "vm/opcodes.def"
#undef MP_OP
};

inline constexpr size_t kOpCount = 0
#define MP_OP(name, a, b, c, synopsis) +1
#include "vm/opcodes.def"
#undef MP_OP
    ;

struct OpInfo {
  std::string_view name;
  OperandKind a, b, c;
  std::string_view synopsis;
};

inline constexpr std::array<OpInfo, kOpCount> kOpInfo = {{
#define MP_OP(name, a, b, c, synopsis) \
  {#name, OperandKind::a, OperandKind::b, OperandKind::c, synopsis},
#include "vm/opcodes.def"
#undef MP_OP
}};
static_assert(kOpInfo.size() == kOpCount);

inline const OpInfo& op_info(Op op) { return kOpInfo[static_cast<size_t>(op)]; }

inline constexpr uint32_t kNoString = 0xFFFFFFFF;

struct Instruction {
  Op op = Op::Halt;
  uint8_t a = 0;
  uint16_t pad = 0;
  uint32_t b = 0;
  uint32_t c = 0;
};
static_assert(sizeof(Instruction) == 12);

enum class CmpOp : uint8_t { Lt, Le, Gt, Ge, Eq, Ne };

// The Compare instruction's test. A side with no value (NaN: header_number of an
// absent header) makes every comparison false, `!=` included.
inline bool compare(CmpOp op, double x, double y) {
  if (x != x || y != y) return false;  // NaN
  switch (op) {
    case CmpOp::Lt: return x < y;
    case CmpOp::Le: return x <= y;
    case CmpOp::Gt: return x > y;
    case CmpOp::Ge: return x >= y;
    case CmpOp::Eq: return x == y;
    case CmpOp::Ne: return x != y;
  }
  return false;
}
inline constexpr uint8_t kCmpCount = 6;
enum class LoopKind : uint8_t { Any, All, Count };
inline constexpr uint8_t kLoopKindCount = 3;

// Terminal actions, in the order of their severity for reporting.
enum class Action : uint8_t { Deliver, Allow, Reject, Quarantine, Discard, Tempfail };
inline constexpr uint8_t kActionCount = 6;
MP_API std::string_view action_name(Action action);

}  // namespace mp::vm
