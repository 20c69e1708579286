// See prune.h. Two walks over the same references: one marks, one renumbers.
#include "compiler/prune.h"

namespace mp::compiler {

namespace {

enum class Table { Patterns, Sets, Nets };

template <typename Visit>
void visit_node(IrNode& n, const Visit& visit) {
  switch (n.op) {
    case IrOp::Match: visit(Table::Patterns, n.index); break;
    case IrOp::InSet:
    case IrOp::Resembles: visit(Table::Sets, n.index); break;
    case IrOp::InNet: visit(Table::Nets, n.index); break;
    default: break;
  }
  for (IrNode& child : n.children) visit_node(child, visit);
}

// Every table reference of the module, as (table, the id in place).
template <typename Visit>
void visit_references(IrModule& module, const Visit& visit) {
  for (IrRule& rule : module.rules) {
    visit_node(rule.condition, visit);
    for (IrAction& action : rule.actions)
      if (action.kind == lang::ActionKind::RewriteUrls) visit(Table::Sets, action.set);
  }
  for (IrAssertion& a : module.assertions) visit_node(a.condition, visit);
}

}  // namespace

void drop_unread(IrModule& module, PatternTable& patterns, SetTable& sets, NetTable& nets) {
  std::vector<bool> used[3] = {std::vector<bool>(patterns.patterns().size()),
                               std::vector<bool>(sets.sets().size()), std::vector<bool>(nets.nets().size())};
  visit_references(module, [&](Table table, uint32_t id) { used[static_cast<int>(table)][id] = true; });
  const std::vector<uint32_t> to[3] = {patterns.retain(used[0]), sets.retain(used[1]), nets.retain(used[2])};
  visit_references(module, [&](Table table, uint32_t& id) { id = to[static_cast<int>(table)][id]; });
}

}  // namespace mp::compiler
