// explore-internal: solver checks in a child process. Z3 4.8's string engines can
// crash (SIGSEGV) when a time limit cancels a check (Z3 issues 2534, 3884 and 3885;
// here 2 of 16 runs of a test with 5 ms limits on a loaded machine), and a time limit
// is not always kept. A check in a child costs a fork (about a millisecond); a crash
// costs that one check, answered unknown, not the run.
#pragma once

#include <z3++.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace mp::explore {

// Runs `work` in a child process (fork) and returns the bytes it returned, or nullopt
// when the child died (a signal, an exception) or had not finished `limit_ms`
// milliseconds after the fork (it is then killed with SIGKILL and reaped). `work`
// runs in the child only, so it may change what it likes: the parent sees none of it.
// Throws std::system_error when no child can be started (fork or pipe fails).
std::optional<std::string> in_child(const std::function<std::string()>& work, unsigned limit_ms);

// What a check in a child found: the result; when sat, the model's value of each
// expression asked for (in order, of the same sort: Bool, Int, Real, bit-vector or
// String); when unsat under assumptions, the indices of those in the unsat core.
struct ChildCheck {
  z3::check_result result = z3::unknown;
  std::vector<z3::expr> values;
  std::vector<unsigned> core;
};

// `solver.check(assumptions)` in a child, which gets `limit_ms` and 20 ms to start
// (the solver itself
// must have no time limit: Z3 4.8's timer threads are not in the child, so a solver
// timeout there would wait for a thread that does not exist). A crash or a check past
// the limit is unknown, as a timeout is in-process.
ChildCheck check_in_child(z3::solver& solver, const z3::expr_vector& assumptions,
                          const std::vector<z3::expr>& values, unsigned limit_ms);

}  // namespace mp::explore
