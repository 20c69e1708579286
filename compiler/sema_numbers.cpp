// Semantic analysis, part 2b: numbers. Numeric comparisons (`size > 10MB`,
// `count(attachments) >= 3`, `bayes >= 0.9`), the ranges that make one impossible
// (E023), and sums of conditions (`(A + B + C) >= 2`).
#include <algorithm>
#include <cmath>
#include <limits>
#include <regex>

#include <fmt/format.h>

#include "compiler/sema.h"
#include "vm/facts.h"

namespace mp::compiler {

namespace {

using lang::CompareOp;
using lang::LiteralKind;
using vm::ValueKind;

vm::CmpOp to_cmp(CompareOp op) {
  switch (op) {
    case CompareOp::Lt: return vm::CmpOp::Lt;
    case CompareOp::Le: return vm::CmpOp::Le;
    case CompareOp::Gt: return vm::CmpOp::Gt;
    case CompareOp::Ge: return vm::CmpOp::Ge;
    case CompareOp::Ne: return vm::CmpOp::Ne;
    default: return vm::CmpOp::Eq;
  }
}

}  // namespace

// `(A + B + C) >= 2`: each term counts 1 when it holds. Every term is evaluated (no
// short circuit), so the evidence of a true sum is that of every term that held. A
// threshold no count of the terms can reach (or that every count reaches) would make
// the test constant: an error, not a rule that silently never (or always) fires.
IrNode Sema::sum_condition(const lang::Condition& c) {
  IrNode n;
  n.op = IrOp::Sum;
  n.span = c.span;
  n.cmp = to_cmp(c.op);
  n.op_span = c.op_span;
  for (const auto& child : c.children) n.children.push_back(condition(*child));
  std::vector<IrNode> filter;
  const auto rhs = number_operand(c.rhs, filter);
  if (!rhs || !filter.empty() || rhs->kind != IrNumber::Kind::Const) {
    diagnostics_.error(
        "E021", "a sum of conditions is compared with a number", c.rhs.span, "not a constant number",
        "e.g. `(subject contains \"free\" + body contains \"winner\" + html contains \"<form\") >= 2`");
    return IrNode::constant(false, c.span);
  }
  n.rhs = *rhs;
  bool reachable = false, always = true;
  for (size_t count = 0; count <= n.children.size(); ++count) {
    const bool holds = vm::compare(n.cmp, static_cast<double>(count), n.rhs.value);
    reachable = reachable || holds;
    always = always && holds;
  }
  if (!reachable || always) {
    diagnostics_.error(
        "E023",
        fmt::format("a sum of {} conditions is {} `{}`", n.children.size(), always ? "always" : "never",
                    std::string(sources_.slice(lang::Span{c.op_span.file, c.op_span.begin, c.rhs.span.end}))),
        lang::Span{c.op_span.file, c.op_span.begin, c.rhs.span.end},
        always ? "always true" : "can never match",
        fmt::format("the sum counts the conditions that hold: 0 to {}", n.children.size()));
  }
  return n;
}

IrNode Sema::numeric_test(const lang::Condition& c) {
  std::vector<IrNode> lhs_filter, rhs_filter;
  auto lhs = number_operand(c.lhs, lhs_filter);
  auto rhs = number_operand(c.rhs, rhs_filter);
  if (!lhs || !rhs) return IrNode::constant(false, c.span);
  IrNode n;
  n.op = IrOp::NumCompare;
  n.span = c.span;
  n.cmp = to_cmp(c.op);
  n.op_span = c.op_span;
  n.lhs = *lhs;
  n.rhs = *rhs;
  n.children = std::move(lhs_filter);
  if (!rhs_filter.empty() || rhs->kind != IrNumber::Kind::Const) {
    diagnostics_.error("E021", "the right side of a comparison must be a number or a size", c.rhs.span,
                       "not a constant number");
    return IrNode::constant(false, c.span);
  }
  check_reachable(c, n);
  // A multi-valued number field outside its quantifier means "any item".
  if (lhs->kind == IrNumber::Kind::Field && !lhs->bound &&
      vm::field_info(lhs->field).collection != vm::Collection::Single) {
    IrNode loop;
    loop.op = IrOp::Loop;
    loop.span = c.span;
    loop.loop = vm::LoopKind::Any;
    loop.collection = vm::field_info(lhs->field).collection;
    n.lhs.bound = true;
    loop.children.push_back(std::move(n));
    return loop;
  }
  return n;
}

// A comparison that no value the left side can have satisfies (`bayes > 1`, `count(to)
// < 0`, `rate(sender, 1h) < 1`: the count includes the message) could never fire: E023.
void Sema::check_reachable(const lang::Condition& c, const IrNode& n) {
  if (n.lhs.kind == IrNumber::Kind::Const || c.negated) return;  // `bayes is not 7` holds
  const vm::NumberRange range = n.lhs.kind == IrNumber::Kind::Count
                                    ? vm::NumberRange{0, std::numeric_limits<double>::infinity()}
                                    : vm::number_range(n.lhs.field);
  const double v = n.rhs.value;
  bool reachable = true;
  switch (n.cmp) {
    case vm::CmpOp::Lt: reachable = range.min < v; break;
    case vm::CmpOp::Le: reachable = range.min <= v; break;
    case vm::CmpOp::Gt: reachable = range.max > v; break;
    case vm::CmpOp::Ge: reachable = range.max >= v; break;
    case vm::CmpOp::Eq: reachable = range.min <= v && v <= range.max; break;
    case vm::CmpOp::Ne: break;
  }
  if (reachable) return;
  const lang::Span span{c.lhs.span.file, c.lhs.span.begin, c.rhs.span.end};
  diagnostics_.error(
      "E023", "`" + std::string(sources_.slice(span)) + "` can never be true", span, "can never match",
      std::isinf(range.max) ? fmt::format("its values are {:g} or more", range.min)
                            : fmt::format("its values are from {:g} to {:g}", range.min, range.max));
}

std::optional<IrNumber> Sema::number_operand(const lang::Operand& o, std::vector<IrNode>& filter) {
  IrNumber out;
  if (o.kind == lang::OperandKind::Count) {
    auto collection = vm::collection_by_name(o.name);
    if (!collection) {
      diagnostics_.error(
          "E060", "`" + o.name + "` is not a collection", o.name_span, "cannot count this",
          "collections: attachments, archive_members, urls, recipients, from, to, cc, reply_to, headers");
      return std::nullopt;
    }
    out.kind = IrNumber::Kind::Count;
    out.collection = *collection;
    if (o.count_filter) {
      bound_.push_back(*collection);
      filter.push_back(condition(*o.count_filter));
      bound_.pop_back();
    }
    return out;
  }
  if (o.kind == lang::OperandKind::Literal) {
    const lang::Literal& l = o.literal;
    if (l.kind == LiteralKind::Number || l.kind == LiteralKind::Size) {
      out.value = l.number;
      return out;
    }
    if (l.kind == LiteralKind::Path) {
      auto constant = find_name(consts_, l.text, l.span);
      if (constant != consts_.end() && (constant->second->value.kind == LiteralKind::Number ||
                                        constant->second->value.kind == LiteralKind::Size)) {
        used_names_.insert(constant->first);
        out.value = constant->second->value.number;
        return out;
      }
    }
  }
  auto field = resolve_field(o, false);
  if (field && vm::field_info(field->field).kind == ValueKind::Number) {
    out.kind = IrNumber::Kind::Field;
    out.field = field->field;
    out.bound = field->bound;
    out.argument = field->header_filter;
    return out;
  }
  std::string what =
      field ? "`" + field->display + "` is " + std::string(vm::kind_name(vm::field_info(field->field).kind))
            : "`" + std::string(sources_.slice(o.span)) + "` is not a number";
  // `header "X-Spam-Score" >= 5`: a header's text, read as a number by header_number;
  // `10mb`: a size with its unit in lower case, which reads as a name.
  static const std::regex lower_unit("^[0-9]+(\\.[0-9]+)?(kb|mb|gb|Mb|Gb|Kb|k|m|g)$");
  const std::string written(sources_.slice(o.span));
  std::string upper = written;
  std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return std::toupper(c); });
  const std::string hint =
      o.kind == lang::OperandKind::Header
          ? "to read the field as a number, write `header_number(\"" + o.header_name + "\")`"
      : std::regex_match(written, lower_unit)
          ? "size units are upper case (binary: 1 KB = 1024 bytes): write `" + upper + "`"
          : "numbers: size, attachments.size, count(...), header_number(\"NAME\"), number and size literals "
            "(10MB)";
  diagnostics_.error("E020", "numeric comparison on something that is not a number", o.span, what, hint);
  return std::nullopt;
}
}  // namespace mp::compiler
