// The bytecode verifier: after it accepts an image, the interpreter can index every
// table with an instruction's operands without further checks, and every loop ends.
#include <algorithm>
#include <cmath>
#include <string>

#include "runtime/body_edit.h"
#include "vm/loaded.h"

namespace mp::vm {

namespace {

[[noreturn]] void reject(size_t pc, const std::string& why) {
  throw ImageError("invalid bytecode at " + std::to_string(pc) + ": " + why);
}

void check_operand(const ImageData& im, size_t pc, OperandKind kind, uint32_t value, const char* slot) {
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
      if (im.sets[ins.c].field != static_cast<FieldId>(ins.b)) reject(pc, "set of another field");
      if (kind() == ValueKind::Ip || kind() == ValueKind::Number) reject(pc, "set test on a non-text field");
      if (im.sets[ins.c].fold == Fold::Resemble) reject(pc, "membership test on a set of resemblance keys");
      break;
    case Op::SameValue: {
      const auto other = static_cast<FieldId>(ins.c);
      if (field_info(other).kind != kind()) reject(pc, "fields of different kinds compared");
      if (kind() == ValueKind::Number || takes_argument(other) ||
          takes_argument(static_cast<FieldId>(ins.b))) {
        reject(pc, "fields that cannot be compared");
      }
      break;
    }
    case Op::Resembles:
      if (im.sets[ins.c].field != static_cast<FieldId>(ins.b)) reject(pc, "set of another field");
      if (kind() == ValueKind::Ip || kind() == ValueKind::Number)
        reject(pc, "resemblance on a non-text field");
      if (im.sets[ins.c].fold != Fold::Resemble) reject(pc, "resemblance test on a plain set");
      break;
    case Op::RewriteUrls:
      if (im.sets[ins.c].field != FieldId::UrlDomain || im.sets[ins.c].fold != Fold::Domain)
        reject(pc, "link rewrite with a set that is not of domains");
      if (!runtime::url_rewrite_target_error(im.strings[ins.b]).empty())
        reject(pc, "link rewrite target is not a URL");
      break;
    case Op::InNet:
      if (kind() != ValueKind::Ip) reject(pc, "net test on a non-IP field");
      break;
    case Op::LoadField:
      if (kind() != ValueKind::Number) reject(pc, "number load from a non-number field");
      break;
    case Op::LoadArgNumber:
      if (kind() != ValueKind::Number || !takes_argument(static_cast<FieldId>(ins.b))) {
        reject(pc, "argument number load from a field without arguments");
      }
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
  // Rules are laid out back to back, so skipping a rule means going to the next one.
  uint32_t expected_begin = 0;
  for (const auto& r : im.rules) {
    if (r.code_begin != expected_begin)
      throw ImageError("rule '" + r.name + "' does not follow the previous rule");
    expected_begin = r.code_end;
  }
  if (expected_begin != im.code.size() - 1) throw ImageError("code after the last rule is not just Halt");
  for (const auto& r : im.rules) {
    if (r.stage >= im.stages.size()) throw ImageError("rule '" + r.name + "' has an invalid stage");
    if (r.code_begin >= r.code_end || r.code_end >= im.code.size()) {
      throw ImageError("rule '" + r.name + "' has an invalid code range");
    }
    if (im.code[r.code_begin].op != Op::EnterRule)
      throw ImageError("rule '" + r.name + "' does not start with EnterRule");
    if (r.directions == 0 || r.directions > kAllDirections)
      throw ImageError("rule '" + r.name + "' has invalid directions");
    size_t guard_limit = r.guard_kind == GuardKind::Pattern ? im.patterns.size()
                         : r.guard_kind == GuardKind::Set   ? im.sets.size()
                                                            : 0;
    if ((r.guard_kind == GuardKind::None) != (r.guard == kNoGuard) ||
        (r.guard_kind != GuardKind::None && r.guard >= guard_limit)) {
      throw ImageError("rule '" + r.name + "' has an invalid guard");
    }
  }
  // Every pattern is reported by exactly one database, of its own field, except those
  // PCRE2 runs alone (Engine::Pcre2) and the anchored literals looked up (Engine::Affix),
  // which are in none.
  const auto in_no_database = [&](uint32_t id) {
    return im.patterns[id].engine == Engine::Pcre2 || im.patterns[id].engine == Engine::Affix;
  };
  std::vector<bool> reported(im.patterns.size(), false);
  for (const auto& db : im.databases) {
    for (uint32_t id : db.pattern_ids) {
      if (id >= im.patterns.size() || im.patterns[id].field != db.field) {
        throw ImageError("database reports a pattern of another field");
      }
      if (reported[id] || in_no_database(id))
        throw ImageError(reported[id] ? "two databases report one pattern"
                                      : "a database reports a pattern of no database");
      reported[id] = true;
    }
  }
  for (uint32_t id = 0; id < im.patterns.size(); ++id) {
    if (!reported[id] && !in_no_database(id)) throw ImageError("a pattern is in no database");
  }
  const auto& s = im.settings;
  if (!std::isfinite(s.quarantine_threshold) || !std::isfinite(s.reject_threshold)) {
    throw ImageError("thresholds are not finite numbers");
  }
  for (double d : im.numbers) {
    if (!std::isfinite(d)) throw ImageError("a number constant is not finite");
  }
}

// Loops nest properly: each LoopNext closes the innermost open LoopBegin (same kind
// and collection), jumps back to the first instruction of its body, and the
// LoopBegin's exit is right after it; no jump leaves a loop body except through its
// LoopNext; no loop is open when a rule begins.
void verify_loops(const ImageData& im) {
  std::vector<size_t> open;
  for (size_t pc = 0; pc < im.code.size(); ++pc) {
    const Instruction& ins = im.code[pc];
    if (ins.op == Op::EnterRule && !open.empty()) reject(pc, "rule begins inside a loop");
    if (ins.op == Op::LoopBegin) open.push_back(pc);
    if (ins.op == Op::LoopNext) {
      if (open.empty()) reject(pc, "LoopNext without LoopBegin");
      const Instruction& begin = im.code[open.back()];
      if (begin.a != ins.a || begin.b != ins.b || ins.c != open.back() + 1 || begin.c != pc + 1) {
        reject(pc, "LoopNext does not match its LoopBegin");
      }
      open.pop_back();
      continue;
    }
    bool jump = op_info(ins.op).c == OperandKind::Jump && ins.op != Op::LoopBegin;
    if (jump && !open.empty() && ins.c >= im.code[open.back()].c) reject(pc, "jump out of a loop body");
  }
  if (!open.empty()) reject(open.back(), "loop never closed");
}

void verify_header_filters(const ImageData& im) {
  for (const auto& p : im.patterns) {
    if (!p.header_filter.empty() && !takes_argument(p.field)) {
      throw ImageError("a pattern of a field without argument has a filter");
    }
  }
  for (const auto& s : im.sets) {
    if (!s.header_filter.empty() && !takes_argument(s.field)) {
      throw ImageError("a set of a field without argument has a filter");
    }
  }
}

}  // namespace

void verify(const ImageData& im) {
  verify_tables(im);
  verify_header_filters(im);
  for (size_t pc = 0; pc < im.code.size(); ++pc) {
    const Instruction& ins = im.code[pc];
    const OpInfo& info = op_info(ins.op);
    if (ins.pad != 0) reject(pc, "padding is not zero");
    check_operand(im, pc, info.a, ins.a, "A");
    check_operand(im, pc, info.b, ins.b, "B");
    check_operand(im, pc, info.c, ins.c, "C");
    check_semantics(im, pc, ins);
  }
  verify_loops(im);
}

}  // namespace mp::vm
