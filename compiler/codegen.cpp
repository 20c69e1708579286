// Code generation. Each rule is: EnterRule, its condition (leaving one value),
// JumpIfFalse past the rule, Fire, its non-terminal actions, its terminal action.
// `and`/`or` short-circuit through ElsePop jumps patched to the end of the chain.
#include "compiler/codegen.h"

#include <map>

namespace mp::compiler {

namespace {

using vm::Instruction;
using vm::Op;

vm::Action terminal_of(lang::ActionKind kind) {
  switch (kind) {
    case lang::ActionKind::Allow: return vm::Action::Allow;
    case lang::ActionKind::Reject: return vm::Action::Reject;
    case lang::ActionKind::Quarantine: return vm::Action::Quarantine;
    case lang::ActionKind::Discard: return vm::Action::Discard;
    default: return vm::Action::Tempfail;
  }
}

struct Guard {
  vm::GuardKind kind = vm::GuardKind::None;
  uint32_t index = vm::kNoGuard;
};

// A pattern or set the condition cannot be true without: the condition itself, or
// one of the operands of a top-level `and` (Suricata's "fast pattern" idea).
Guard guard_of(const IrNode& n) {
  if (n.op == IrOp::Match && !n.bound) return {vm::GuardKind::Pattern, n.index};
  if (n.op == IrOp::InSet && !n.bound) return {vm::GuardKind::Set, n.index};
  if (n.op != IrOp::And) return {};
  for (const auto& child : n.children) {
    if (Guard g = guard_of(child); g.kind != vm::GuardKind::None) return g;
  }
  return {};
}

class Emitter {
 public:
  Emitter(const lang::SourceMap& sources, vm::ImageData& image) : sources_(sources), im_(image) {}

  void rule(const IrRule& rule, uint32_t index) {
    line_ = sources_.line_col(rule.span.file, rule.span.begin).line;
    uint32_t begin = emit(Op::EnterRule, 0, 0, index);
    condition(rule.condition);
    at(rule.span);
    uint32_t skip = emit(Op::JumpIfFalse, 0, 0, 0);
    emit(Op::Fire, 0, 0, index);
    for (const auto& a : rule.actions) action(a);
    patch(skip, here());
    auto lc = sources_.line_col(rule.span.file, rule.span.begin);
    Guard guard = guard_of(rule.condition);
    im_.rules.push_back({rule.name, rule.stage, sources_.file(rule.span.file).path, lc.line, lc.column,
                         rule.directions, begin, here(), guard.kind, guard.index, rule.scope_users,
                         rule.scope_groups, rule.expires});
  }

  void finish() { emit(Op::Halt, 0, 0, 0); }

 private:
  uint32_t here() const { return static_cast<uint32_t>(im_.code.size()); }

  uint32_t emit(Op op, uint8_t a, uint32_t b, uint32_t c) {
    im_.code.push_back(Instruction{op, a, 0, b, c});
    im_.code_lines.push_back(line_);
    return here() - 1;
  }

  void patch(uint32_t at, uint32_t target) { im_.code[at].c = target; }

  uint32_t string(const std::string& s) {
    auto [it, fresh] = strings_.emplace(s, static_cast<uint32_t>(im_.strings.size()));
    if (fresh) im_.strings.push_back(s);
    return it->second;
  }

  uint32_t number(double d) {
    auto [it, fresh] = numbers_.emplace(d, static_cast<uint32_t>(im_.numbers.size()));
    if (fresh) im_.numbers.push_back(d);
    return it->second;
  }

  void at(const lang::Span& span) { line_ = sources_.line_col(span.file, span.begin).line; }

  void condition(const IrNode& n) {
    at(n.span);
    auto field = static_cast<uint32_t>(n.field);
    switch (n.op) {
      case IrOp::True: emit(Op::PushTrue, 0, 0, 0); break;
      case IrOp::False: emit(Op::PushFalse, 0, 0, 0); break;
      case IrOp::Not:
        condition(n.children[0]);
        emit(Op::Not, 0, 0, 0);
        break;
      case IrOp::And:
      case IrOp::Or: junction(n); break;
      case IrOp::Loop: loop(n.loop, n.collection, n.children[0]); break;
      case IrOp::Match: emit(Op::Match, n.bound, field, n.index); break;
      case IrOp::InSet: emit(Op::InSet, n.bound, field, n.index); break;
      case IrOp::InNet: emit(Op::InNet, n.bound, field, n.index); break;
      case IrOp::Resembles: emit(Op::Resembles, n.bound, field, n.index); break;
      case IrOp::SameValue: emit(Op::SameValue, n.bound, field, n.index); break;
      case IrOp::NumCompare:
        number_operand(n.lhs, n.children);
        number_operand(n.rhs, {});
        compare(n);
        break;
      case IrOp::Sum:
        for (size_t i = 0; i < n.children.size(); ++i) {
          condition(n.children[i]);
          if (i > 0) emit(Op::Add, 0, 0, 0);
        }
        number_operand(n.rhs, {});
        compare(n);
        break;
    }
  }

  // The comparison, with its two sides as written for the trace: `size` and `> 5MB`,
  // `(urgent + money)` and `>= 2`.
  void compare(const IrNode& n) {
    const lang::Span left{n.span.file, n.span.begin, n.op_span.begin};
    const lang::Span right{n.span.file, n.op_span.begin, n.span.end};
    auto text = [this](const lang::Span& s) {
      std::string t(sources_.slice(s));
      while (!t.empty() && (t.back() == ' ' || t.back() == '\n' || t.back() == '\t')) t.pop_back();
      return t;
    };
    const bool known = n.op_span.end > n.op_span.begin;
    emit(Op::Compare, static_cast<uint8_t>(n.cmp), string(known ? text(left) : "number"),
         string(known ? text(right) : "comparison"));
  }

  // `a and b and c`:  a JumpIfFalseKeep(L) b MergeAnd JumpIfFalseKeep(L) c MergeAnd L:
  // `a or b or c`:    a JumpIfTrueElsePop(L) b JumpIfTrueElsePop(L) c L:
  void junction(const IrNode& n) {
    bool is_and = n.op == IrOp::And;
    std::vector<uint32_t> exits;
    for (size_t i = 0; i < n.children.size(); ++i) {
      if (i > 0) exits.push_back(emit(is_and ? Op::JumpIfFalseKeep : Op::JumpIfTrueElsePop, 0, 0, 0));
      condition(n.children[i]);
      if (i > 0 && is_and) emit(Op::MergeAnd, 0, 0, 0);
    }
    for (uint32_t e : exits) patch(e, here());
  }

  void loop(vm::LoopKind kind, vm::Collection collection, const IrNode& body) {
    auto k = static_cast<uint8_t>(kind);
    auto c = static_cast<uint32_t>(collection);
    uint32_t begin = emit(Op::LoopBegin, k, c, 0);
    condition(body);
    emit(Op::LoopNext, k, c, begin + 1);
    patch(begin, here());
  }

  void number_operand(const IrNumber& x, const std::vector<IrNode>& filter) {
    switch (x.kind) {
      case IrNumber::Kind::Const: emit(Op::LoadConst, 0, 0, number(x.value)); break;
      case IrNumber::Kind::Field:
        if (x.argument.empty()) {
          emit(Op::LoadField, x.bound, static_cast<uint32_t>(x.field), 0);
        } else {
          emit(Op::LoadArgNumber, 0, static_cast<uint32_t>(x.field), string(x.argument));
        }
        break;
      case IrNumber::Kind::Count:
        if (filter.empty()) emit(Op::LoadCount, 0, static_cast<uint32_t>(x.collection), 0);
        else loop(vm::LoopKind::Count, x.collection, filter[0]);
        break;
    }
  }

  void action(const IrAction& a) {
    at(a.span);
    auto text = [&] { return a.has_text ? string(a.text) : vm::kNoString; };
    switch (a.kind) {
      case lang::ActionKind::Score: emit(Op::Score, 0, text(), number(a.score)); break;
      case lang::ActionKind::Tag: emit(Op::Tag, 0, 0, string(a.text)); break;
      case lang::ActionKind::Banner: emit(Op::Banner, 0, 0, string(a.text)); break;
      case lang::ActionKind::RewriteUrls: emit(Op::RewriteUrls, 0, string(a.text), a.set); break;
      case lang::ActionKind::AddHeader: emit(Op::AddHeader, 0, string(a.header), string(a.text)); break;
      case lang::ActionKind::RemoveHeader: emit(Op::RemoveHeader, 0, string(a.header), 0); break;
      case lang::ActionKind::Log: emit(Op::Log, 0, 0, string(a.text)); break;
      default: emit(Op::Terminal, static_cast<uint8_t>(terminal_of(a.kind)), text(), 0); break;
    }
  }

  const lang::SourceMap& sources_;
  vm::ImageData& im_;
  uint32_t line_ = 0;
  std::map<std::string, uint32_t> strings_;
  std::map<double, uint32_t> numbers_;
};

}  // namespace

void generate(const IrModule& module, const lang::SourceMap& sources, vm::ImageData& image) {
  image.stages = module.stages;
  Emitter emitter(sources, image);
  for (uint32_t i = 0; i < module.rules.size(); ++i) emitter.rule(module.rules[i], i);
  emitter.finish();
}

}  // namespace mp::compiler
