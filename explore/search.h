// explore-internal: the two solvers every search puts its goals to. The witness side
// proposes a message that meets a goal (lazily: the boolean skeleton first, then the
// strings of that choice); the proof side says whether any message could. Used by
// the per-rule search (explore.cpp) and the two-policy one (diff.cpp).
#pragma once

#include <z3++.h>

#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "explore/budget.h"
#include "explore/encode.h"
#include "explore/explore.h"
#include "explore/model.h"
#include "explore/strings.h"

namespace mp::explore {

// Wall time for a whole search, counted from construction.
// Proposes witnesses over a Mode::Witness model. Construct it after every encoder has
// read the model: it completes the model for writing (MessageModel::complete_for_writing).
class WitnessFinder {
 public:
  // `queries` counts the solver calls (FuzzReport::solver_queries); all three must
  // outlive the finder. `timeout_ms`: per solver call.
  WitnessFinder(MessageModel& model, unsigned timeout_ms, const Budget& budget, size_t& queries);

  // sat: `out` holds a message meeting `goal` in the model (the VM still has to
  // confirm it). unsat: no message fuzz can write meets it. unknown: the solver gave
  // up or the budget ran out.
  z3::check_result find(const z3::expr& goal, std::optional<Witness>& out);

 private:
  MessageModel& model_;
  unsigned timeout_ms_;
  const Budget& budget_;
  size_t& queries_;
  // The skeleton: an optimizer, so that of the choices that meet a goal it takes the
  // one with the fewest string tests true and the fewest items present: a small
  // message, and string problems the solver finds easy.
  z3::optimize skeleton() const;
  StringSolver strings_;
  std::vector<z3::expr> lemmas_;  // refuted choices, facts about strings for every goal
};

// Decides goals over a Mode::Prove model, where every message has an assignment.
class Prover {
 public:
  // `timeout_ms` per call, within `budget`; both references must outlive it.
  Prover(MessageModel& model, unsigned timeout_ms, const Budget& budget, size_t& queries);
  // Whether some assignment meets `goal`, within what is left of the budget; the
  // solver is left as it was.
  z3::check_result check(const z3::expr& goal) { return check(goal, budget_.limit_ms(timeout_ms_)); }
  // Whether none does, for the reasons of a proof already made: each check gets up to
  // 2 s whatever the budget's share, and none starts 5 s past the whole budget. A
  // reason not shown falls back to a less specific one, never a wrong one; with the
  // whole time limit, one reason held a test for 10 minutes.
  bool unsat(const z3::expr& goal);

 private:
  z3::check_result check(const z3::expr& goal, unsigned timeout_ms);
  z3::expr abstracted(z3::expr e) { return e.substitute(relations_, booleans_); }
  z3::expr_vector constraints_;
  // The model with each string relation a free boolean (the lemmas between them kept,
  // constraints on string values left out): an over-approximation, so unsat there is
  // unsat; Z3's string solver can spend its whole time limit before it meets the same
  // conflict.
  z3::expr_vector abstract_;
  z3::expr_vector relations_, booleans_;
  unsigned timeout_ms_;
  const Budget& budget_;
  size_t& queries_;
};

// Runs `search` (a Search or DiffSearch) and frees it, or keeps it until the process
// exits when `free` is false (FuzzOptions::free_solver): held from a static root, so
// that LeakSanitizer sees it reachable, and never destroyed.
template <class S>
auto run_search(std::unique_ptr<S> search, bool free) {
  auto report = search->run();
  if (!free) {
    static auto* kept = new std::vector<std::shared_ptr<void>>;
    kept->push_back(std::shared_ptr<void>(std::move(search)));
  }
  return report;
}

// " (tests of F, G that fuzz cannot state or write yet)" for a goal whose tests the
// model could only guess at; "" for none.
std::string approximated_note(const std::vector<std::string>& approximated);
// The tests the encoders read as unknowns, each once in the order first read: a
// report's `approximated` (a witness's unknowns, such as a literal fuzz cannot write,
// and a proof's).
std::vector<std::string> approximated_by(std::initializer_list<const PolicyEncoder*> encoders);
std::string joined(const std::vector<std::string>& items);  // "a, b, c"

}  // namespace mp::explore
