// Dropping what no rule reads. Sema interns the patterns, sets and nets of every test
// it checks, including those of a def no rule uses and of a branch folded to a
// constant; the VM would still compile and scan them on every message. Internal to
// compiler/.
#pragma once

#include "compiler/ir.h"
#include "compiler/tables.h"

namespace mp::compiler {

// Keeps only the patterns, sets and nets some rule's condition or action, or an
// assertion's condition, refers to,
// and renumbers the module's references to match. Call after lint (which reports on
// what the policy wrote) and before the databases are built.
void drop_unread(IrModule& module, PatternTable& patterns, SetTable& sets, NetTable& nets);

}  // namespace mp::compiler
