// The bytecode verifier: after it accepts an image, the interpreter can index every
// table with an instruction's operands without further checks, and every loop ends.
#include <cmath>
#include <string>

#include "vm/loaded.h"

namespace mp::vm {

namespace {

[[noreturn]] void reject(size_t pc, const std::string& why) {
  throw ImageError("invalid bytecode at " + std::to_string(pc) + ": " + why);
}

void check_operand(const ImageData& im, size_t pc, OperandKind kind, uint32_t value,
                   const char* slot) {
  auto need = [&](bool ok, const char* what) {
    if (!ok) reject(pc, std::string("operand ") + slot + " is not a valid " + what);
  };
  switch (kind) {
    case OperandKind::None: need(value == 0, "unused operand (must be 0)"); break;
    case OperandKind::Bound: need(value <= 1, "binding flag"); break;
    case OperandKind::Field: need(value < kFieldCount, "field"); break;
    case OperandKind::Coll: need(value < kCollectionCount, "collection"); break;
    case OperandKind::Pat: need(value < im.patterns.size(), "pattern"); break;
    case OperandKind::Set: need(value < im.sets.size(), "set"); break;
    case OperandKind::Net: need(value < im.nets.size(), "net"); break;
    case OperandKind::Num: need(value < im.numbers.size(), "number"); break;
    case OperandKind::Str: need(value < im.strings.size(), "string"); break;
    case OperandKind::OStr: need(value == kNoString || value < im.strings.size(), "string"); break;
    case OperandKind::Jump: need(value < im.code.size(), "jump target"); break;
    case OperandKind::Rule: need(value < im.rules.size(), "rule"); break;
    case OperandKind::Cmp: need(value < kCmpCount, "comparison"); break;
    case OperandKind::Quant: need(value < kLoopKindCount, "loop kind"); break;
    case OperandKind::Act:
      need(value > static_cast<uint8_t>(Action::Deliver) && value < kActionCount, "action");
      break;
  }
}

// Operand checks that depend on the opcode, beyond the operand kinds.
void check_semantics(const ImageData& im, size_t pc, const Instruction& ins) {
  const auto& info = op_info(ins.op);
  if (info.c == OperandKind::Jump) {
    bool backward = ins.op == Op::LoopNext;
    if (backward ? ins.c >= pc : ins.c <= pc) reject(pc, "jump in the wrong direction");
  }
  auto kind = [&] { return field_info(static_cast<FieldId>(ins.b)).kind; };
  switch (ins.op) {
    case Op::Match:
      if (im.patterns[ins.c].field != static_cast<FieldId>(ins.b)) reject(pc, "pattern of another field");
      break;
    case Op::InSet:
      if (kind() == ValueKind::Ip || kind() == ValueKind::Number) reject(pc, "set test on a non-text field");
      break;
    case Op::InNet:
      if (kind() != ValueKind::Ip) reject(pc, "net test on a non-IP field");
      break;
    case Op::LoadField:
      if (kind() != ValueKind::Number) reject(pc, "number load from a non-number field");
      break;
    case Op::EnterRule: {
      const RuleInfo& r = im.rules[ins.c];
      if (r.code_begin != pc) reject(pc, "rule entered outside its code");
      break;
    }
    default: break;
  }
}

void verify_tables(const ImageData& im) {
  if (im.code.empty() || im.code.back().op != Op::Halt) throw ImageError("code does not end with Halt");
  if (im.code_lines.size() != im.code.size()) throw ImageError("line table does not match the code");
  for (const auto& r : im.rules) {
    if (r.stage >= im.stages.size()) throw ImageError("rule '" + r.name + "' has an invalid stage");
    if (r.code_begin >= r.code_end || r.code_end >= im.code.size()) {
      throw ImageError("rule '" + r.name + "' has an invalid code range");
    }
    if (im.code[r.code_begin].op != Op::EnterRule) throw ImageError("rule '" + r.name + "' does not start with EnterRule");
    if (r.directions == 0 || r.directions > kAllDirections) throw ImageError("rule '" + r.name + "' has invalid directions");
    if (r.guard != kNoGuard && r.guard >= im.patterns.size()) throw ImageError("rule '" + r.name + "' has an invalid guard");
  }
  std::vector<bool> field_seen(kFieldCount, false);
  for (const auto& db : im.databases) {
    auto f = static_cast<size_t>(db.field);
    if (field_seen[f]) throw ImageError("two databases for one field");
    field_seen[f] = true;
    for (uint32_t id : db.pattern_ids) {
      if (id >= im.patterns.size() || im.patterns[id].field != db.field) {
        throw ImageError("database reports a pattern of another field");
      }
    }
  }
  const auto& s = im.settings;
  if (!std::isfinite(s.quarantine_threshold) || !std::isfinite(s.reject_threshold)) {
    throw ImageError("thresholds are not finite numbers");
  }
  for (double d : im.numbers) {
    if (!std::isfinite(d)) throw ImageError("a number constant is not finite");
  }
}

}  // namespace

void verify(const ImageData& im) {
  verify_tables(im);
  for (size_t pc = 0; pc < im.code.size(); ++pc) {
    const Instruction& ins = im.code[pc];
    const OpInfo& info = op_info(ins.op);
    if (ins.pad != 0) reject(pc, "padding is not zero");
    check_operand(im, pc, info.a, ins.a, "A");
    check_operand(im, pc, info.b, ins.b, "B");
    check_operand(im, pc, info.c, ins.c, "C");
    check_semantics(im, pc, ins);
  }
}

}  // namespace mp::vm
